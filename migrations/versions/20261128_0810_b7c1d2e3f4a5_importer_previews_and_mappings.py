"""importer: upload previews and saved column mappings in the database, optional project budget (branch importer)

Revision ID: b7c1d2e3f4a5
Revises: b7d1e4a9c2f0
Create Date: 2026-11-28 08:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7c1d2e3f4a5"
down_revision: str | None = "f19a3e5b7c01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a whole-department table may state no budget
    with op.batch_alter_table("projects") as batch:
        batch.alter_column("budget_wan", existing_type=sa.Numeric(14, 2), nullable=True)
    op.create_table(
        "import_previews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploader_id", sa.Integer(), nullable=True),
        sa.Column("uploader", sa.String(length=80), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["uploader_id"], ["users.id"], name=op.f("fk_import_previews_uploader_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_previews")),
    )
    op.create_index(op.f("ix_import_previews_sha256"), "import_previews", ["sha256"], unique=False)
    op.create_index(op.f("ix_import_previews_expires_at"), "import_previews", ["expires_at"], unique=False)
    op.create_table(
        "import_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.String(length=32), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_mappings")),
        sa.UniqueConstraint("unit_code", name=op.f("uq_import_mappings_unit_code")),
    )


def downgrade() -> None:
    op.drop_table("import_mappings")
    op.drop_index(op.f("ix_import_previews_expires_at"), table_name="import_previews")
    op.drop_index(op.f("ix_import_previews_sha256"), table_name="import_previews")
    op.drop_table("import_previews")
    op.execute("UPDATE projects SET budget_wan = 0 WHERE budget_wan IS NULL")
    with op.batch_alter_table("projects") as batch:
        batch.alter_column("budget_wan", existing_type=sa.Numeric(14, 2), nullable=False)
