"""harden: users.session_version (sessions end at logout and account changes)

Revision ID: b7d1e4a9c2f0
Revises: 924eae6c78ec
Create Date: 2026-11-28 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "b7d1e4a9c2f0"
down_revision: str | None = "924eae6c78ec"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_version")
