"""Outcomes and adaptive learning: practice counts per learner, measure, month and phase (no
patient data); education leads' credentials (token hashes); the purpose of an issued card
(a recall card is not a new card); a learner's learning goals; why a cycle's card was
shown; why a question is in the
review queue and how many times in a row it was answered well.

Revision ID: 0007_outcomes_adaptive
Revises: 0006_reviews
"""

import sqlalchemy as sa
from alembic import op

from service.db.base import UTCDateTime

revision = "0007_outcomes_adaptive"
down_revision = "0006_reviews"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "practice_tally",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("learner", sa.String(64), nullable=False),
        sa.Column("measure_id", sa.String(200), nullable=False),
        sa.Column("item_id", sa.String(200), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("phase", sa.String(6), nullable=False),
        sa.Column("opportunities", sa.Integer(), nullable=False),
        sa.Column("concordant", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_tally")),
        sa.UniqueConstraint(
            "learner",
            "measure_id",
            "month",
            "phase",
            name=op.f("uq_practice_tally_learner_measure_id_month_phase"),
        ),
    )
    op.create_index(
        "ix_practice_tally_unpublished", "practice_tally", ["published_at", "month"]
    )
    op.create_table(
        "education_lead",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_education_lead")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_education_lead_token_hash")),
    )
    with op.batch_alter_table("issued_card") as batch:
        batch.add_column(
            sa.Column("purpose", sa.String(10), nullable=False, server_default="learn")
        )
    with op.batch_alter_table("learner_profile") as batch:
        batch.add_column(
            sa.Column("learning_goals", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("learning_cycle") as batch:
        batch.add_column(sa.Column("shown_because", sa.String(80), nullable=True))
    with op.batch_alter_table("review_item") as batch:
        batch.add_column(
            sa.Column("reason", sa.String(10), nullable=False, server_default="missed")
        )
        batch.add_column(
            sa.Column("good_streak", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("review_item") as batch:
        batch.drop_column("good_streak")
        batch.drop_column("reason")
    with op.batch_alter_table("learning_cycle") as batch:
        batch.drop_column("shown_because")
    with op.batch_alter_table("learner_profile") as batch:
        batch.drop_column("learning_goals")
    with op.batch_alter_table("issued_card") as batch:
        batch.drop_column("purpose")
    op.drop_table("education_lead")
    op.drop_index("ix_practice_tally_unpublished", table_name="practice_tally")
    op.drop_table("practice_tally")
