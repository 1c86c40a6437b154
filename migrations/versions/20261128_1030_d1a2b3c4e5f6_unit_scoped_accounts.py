"""unit-scoped accounts: user_units and users.all_units

Revision ID: d1a2b3c4e5f6
Revises: c4e8a2d6f1b3
Create Date: 2026-11-28 10:30:00

Accounts belong to units. Accounts that existed before this migration served the single unit
of a township deployment and could see everything, so they keep seeing every unit
(``all_units``); new accounts see only the units an admin grants them.
"""

import sqlalchemy as sa
from alembic import op

revision = "d1a2b3c4e5f6"
down_revision = "c4e8a2d6f1b3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("all_units", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(sa.text("UPDATE users SET all_units = :yes").bindparams(yes=True))
    op.create_table(
        "user_units",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_units_user_id_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_user_units_unit_id_units"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "unit_id", name=op.f("pk_user_units")),
    )
    op.create_index(op.f("ix_user_units_unit_id"), "user_units", ["unit_id"])


def downgrade() -> None:
    op.drop_index("ix_user_units_unit_id", table_name="user_units")
    op.drop_table("user_units")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("all_units")
