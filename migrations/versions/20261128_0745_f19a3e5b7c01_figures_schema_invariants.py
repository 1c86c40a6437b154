"""figures: schema invariants (one active exclusion per response, checked verdict/design/paper status)

Revision ID: f19a3e5b7c01
Revises: b7d1e4a9c2f0
Create Date: 2026-11-28 07:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = 'f19a3e5b7c01'
down_revision: str | None = 'b7d1e4a9c2f0'
branch_labels = None
depends_on = None

ACTIVE = sa.text("reverted_at IS NULL")


def upgrade() -> None:
    # at most one active exclusion per response (partial unique index, SQLite and PostgreSQL)
    op.create_index('uq_exclusions_active_response', 'exclusions', ['response_id'], unique=True,
                    sqlite_where=ACTIVE, postgresql_where=ACTIVE)
    with op.batch_alter_table('measurements', schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f('ck_measurements_verdict_known'),
            "verdict IN ('supported', 'contradicted', 'inconclusive', 'none')")
        batch_op.create_check_constraint(
            op.f('ck_measurements_design_known'), "design IN ('census', 'stratified', 'finite', 'unknown')")
    with op.batch_alter_table('paper_entries', schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f('ck_paper_entries_status_known'), "status IN ('pending', 'matched', 'mismatch', 'resolved')")


def downgrade() -> None:
    with op.batch_alter_table('paper_entries', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_paper_entries_status_known'), type_='check')
    with op.batch_alter_table('measurements', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_measurements_design_known'), type_='check')
        batch_op.drop_constraint(op.f('ck_measurements_verdict_known'), type_='check')
    op.drop_index('uq_exclusions_active_response', table_name='exclusions')
