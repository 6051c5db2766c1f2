"""Issued cards and card feedback.

Revision ID: 0002_issued_cards
Revises: 0001_ehr_registry
"""

import sqlalchemy as sa
from alembic import op

from service.db.base import UTCDateTime

revision = "0002_issued_cards"
down_revision = "0001_ehr_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issued_card",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.String(200), nullable=False),
        sa.Column("item_version", sa.String(40), nullable=False),
        sa.Column("learner", sa.String(64), nullable=False),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("hook", sa.String(100), nullable=False),
        sa.Column("hook_instance", sa.String(100), nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("tenant", sa.String(200), nullable=True),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_issued_card")),
    )
    op.create_index("ix_issued_card_learner_item", "issued_card", ["learner", "item_id", "issued_at"])
    op.create_table(
        "card_feedback",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("card_uuid", sa.Uuid(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("outcome_timestamp", UTCDateTime(), nullable=False),
        sa.Column("override_reason_system", sa.String(500), nullable=True),
        sa.Column("override_reason_code", sa.String(200), nullable=True),
        sa.Column("accepted_suggestions", sa.JSON(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["card_uuid"], ["issued_card.uuid"],
                                name=op.f("fk_card_feedback_card_uuid_issued_card")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_feedback")),
        sa.UniqueConstraint("card_uuid", "outcome", "outcome_timestamp",
                            name=op.f("uq_card_feedback_card_uuid_outcome_outcome_timestamp")),
    )


def downgrade() -> None:
    op.drop_table("card_feedback")
    op.drop_index("ix_issued_card_learner_item", table_name="issued_card")
    op.drop_table("issued_card")
