"""r2-import: import previews read in the background carry a status, the error and the parsed table (branch r2-import)

Revision ID: c4e8a1d2f6b3
Revises: 5f1c2d3e4a6b
Create Date: 2026-11-28 09:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4e8a1d2f6b3"
down_revision: str | None = "5f1c2d3e4a6b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("import_previews") as batch:
        batch.add_column(sa.Column("status", sa.String(length=20), nullable=False, server_default="ready"))
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("parsed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("import_previews") as batch:
        batch.drop_column("parsed")
        batch.drop_column("error")
        batch.drop_column("status")
