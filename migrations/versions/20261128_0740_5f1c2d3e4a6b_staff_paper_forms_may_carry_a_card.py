"""staff: paper forms and interviews may carry the card they were returned with

Revision ID: 5f1c2d3e4a6b
Revises: 924eae6c78ec
Create Date: 2026-11-28 07:40:00

A paper form keyed with its card number consumes that card (responses.card_id),
so a card response may now come through the paper or interview channel; an
online card answer still always has its card.
"""

from alembic import op

revision = "5f1c2d3e4a6b"
down_revision = "924eae6c78ec"
branch_labels = None
depends_on = None

OLD = "(channel = 'card') = (card_id IS NOT NULL)"
NEW = "(channel <> 'card' OR card_id IS NOT NULL) AND (card_id IS NULL OR channel IN ('card', 'paper', 'interview'))"


def upgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_responses_card_channel_has_card"), type_="check")
        batch_op.create_check_constraint(op.f("ck_responses_card_channel_has_card"), NEW)


def downgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_responses_card_channel_has_card"), type_="check")
        batch_op.create_check_constraint(op.f("ck_responses_card_channel_has_card"), OLD)
