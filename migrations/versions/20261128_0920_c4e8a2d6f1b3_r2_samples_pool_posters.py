"""r2-samples: questionnaires.pool_posters (pool self-selected answers with a random draw)

Revision ID: c4e8a2d6f1b3
Revises: 5f1c2d3e4a6b
Create Date: 2026-11-28 09:20:00

With a random draw the figure counts only the answers through drawn cards,
unless staff switch on pooling of poster answers for that questionnaire.
"""

import sqlalchemy as sa
from alembic import op

revision = "c4e8a2d6f1b3"
down_revision = "c4e8a1d2f6b3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("questionnaires", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pool_posters", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("questionnaires", schema=None) as batch_op:
        batch_op.drop_column("pool_posters")
