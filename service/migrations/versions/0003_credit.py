"""Learning cycles, learner profiles, the credit ledger, its audit log and the xAPI outbox.

Revision ID: 0003_credit
Revises: 0002_issued_cards
"""

import sqlalchemy as sa
from alembic import op

from service.db.base import UTCDateTime

revision = "0003_credit"
down_revision = "0002_issued_cards"
branch_labels = None
depends_on = None


def _profile() -> None:
    op.create_table(
        "learner_profile",
        sa.Column("learner", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("profession", sa.String(40), nullable=True),
        sa.Column("specialty", sa.String(200), nullable=True),
        sa.Column("npi", sa.String(10), nullable=True),
        sa.Column("state_licenses", sa.JSON(), nullable=False),
        sa.Column("board_ids", sa.JSON(), nullable=False),
        sa.Column("birth_month", sa.Integer(), nullable=True),
        sa.Column("birth_day", sa.Integer(), nullable=True),
        sa.Column("consent_to_report", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("learner", name=op.f("pk_learner_profile")),
    )


def _cycle() -> None:
    op.create_table(
        "learning_cycle",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("learner", sa.String(64), nullable=False),
        sa.Column("card_uuid", sa.String(64), nullable=True),
        sa.Column("item_id", sa.String(200), nullable=False),
        sa.Column("item_version", sa.String(40), nullable=False),
        sa.Column("item_type", sa.String(20), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("credit_format", sa.String(20), nullable=False),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("source_citation", sa.Text(), nullable=False),
        sa.Column("passing_score", sa.Float(), nullable=True),
        sa.Column("application", sa.String(40), nullable=True),
        sa.Column("application_text", sa.Text(), nullable=True),
        sa.Column("case_answers", sa.JSON(), nullable=True),
        sa.Column("case_score", sa.Float(), nullable=True),
        sa.Column("case_passed", sa.Boolean(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_cycle")),
        sa.UniqueConstraint(
            "learner", "card_uuid", name=op.f("uq_learning_cycle_learner_card_uuid")
        ),
    )
    op.create_index("ix_learning_cycle_learner_status", "learning_cycle", ["learner", "status"])


def _ledger() -> None:
    op.create_table(
        "ledger_entry",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("learner", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("claim_cycle_id", sa.Uuid(), nullable=True),
        sa.Column("reverses_id", sa.Uuid(), nullable=True),
        sa.Column("credit_type", sa.String(60), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("activity_id", sa.String(100), nullable=False),
        sa.Column("activity_title", sa.String(500), nullable=False),
        sa.Column("item_id", sa.String(200), nullable=False),
        sa.Column("topic", sa.String(500), nullable=False),
        sa.Column("earned_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_cycle_id"],
            ["learning_cycle.id"],
            name=op.f("fk_ledger_entry_claim_cycle_id_learning_cycle"),
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["ledger_entry.id"],
            name=op.f("fk_ledger_entry_reverses_id_ledger_entry"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entry")),
        sa.UniqueConstraint(
            "learner", "idempotency_key", name=op.f("uq_ledger_entry_learner_idempotency_key")
        ),
        sa.UniqueConstraint("claim_cycle_id", name=op.f("uq_ledger_entry_claim_cycle_id")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_ledger_entry_reverses_id")),
    )
    op.create_index("ix_ledger_entry_learner_earned", "ledger_entry", ["learner", "earned_at"])


def _audit_and_outbox() -> None:
    op.create_table(
        "credit_audit",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("learner", sa.String(64), nullable=True),
        sa.Column("subject", sa.String(100), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_audit")),
    )
    op.create_index("ix_credit_audit_at", "credit_audit", ["at"])
    op.create_table(
        "xapi_outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("statement_id", sa.Uuid(), nullable=False),
        sa.Column("learner", sa.String(64), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xapi_outbox")),
        sa.UniqueConstraint("statement_id", name=op.f("uq_xapi_outbox_statement_id")),
    )
    op.create_index("ix_xapi_outbox_pending", "xapi_outbox", ["sent_at", "next_attempt_at"])


def upgrade() -> None:
    _profile()
    _cycle()
    _ledger()
    _audit_and_outbox()


def downgrade() -> None:
    op.drop_index("ix_xapi_outbox_pending", table_name="xapi_outbox")
    op.drop_table("xapi_outbox")
    op.drop_index("ix_credit_audit_at", table_name="credit_audit")
    op.drop_table("credit_audit")
    op.drop_index("ix_ledger_entry_learner_earned", table_name="ledger_entry")
    op.drop_table("ledger_entry")
    op.drop_index("ix_learning_cycle_learner_status", table_name="learning_cycle")
    op.drop_table("learning_cycle")
    op.drop_table("learner_profile")
