"""staff: paper forms may carry their card; self-evaluation 主管部门

Revision ID: 5f1c2d3e4a6b
Revises: b7d1e4a9c2f0
Create Date: 2026-11-28 07:40:00

A paper form keyed with its card number consumes that card (responses.card_id),
so a card response may now come through the paper or interview channel; an
online card answer still always has its card. The self-evaluation table gets
its own 主管部门 (supervising department), which used to repeat 实施单位.
"""

import sqlalchemy as sa
from alembic import op

revision = "5f1c2d3e4a6b"
down_revision = "f3a7c1e2b9d4"
branch_labels = None
depends_on = None

OLD = "(channel = 'card') = (card_id IS NOT NULL)"
NEW = "(channel <> 'card' OR card_id IS NOT NULL) AND (card_id IS NULL OR channel IN ('card', 'paper', 'interview'))"


def upgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_responses_card_channel_has_card"), type_="check")
        batch_op.create_check_constraint(op.f("ck_responses_card_channel_has_card"), NEW)
    with op.batch_alter_table("self_evaluations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("supervisor", sa.String(length=200), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("self_evaluations", schema=None) as batch_op:
        batch_op.drop_column("supervisor")
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_responses_card_channel_has_card"), type_="check")
        batch_op.create_check_constraint(op.f("ck_responses_card_channel_has_card"), OLD)
