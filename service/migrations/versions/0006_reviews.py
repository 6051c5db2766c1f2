"""The review queue: each case question a learner missed, with its FSRS state and due time
(learner and content ids only, no patient data).

Revision ID: 0006_reviews
Revises: 0005_names
"""

import sqlalchemy as sa
from alembic import op

from service.db.base import UTCDateTime

revision = "0006_reviews"
down_revision = "0005_names"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_item",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("learner", sa.String(64), nullable=False),
        sa.Column("item_id", sa.String(200), nullable=False),
        sa.Column("question_id", sa.String(20), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("due", UTCDateTime(), nullable=False),
        sa.Column("last_review", UTCDateTime(), nullable=True),
        sa.Column("reviews", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_item")),
        sa.UniqueConstraint(
            "learner",
            "item_id",
            "question_id",
            name=op.f("uq_review_item_learner_item_id_question_id"),
        ),
    )
    op.create_index("ix_review_item_learner_due", "review_item", ["learner", "due"])


def downgrade() -> None:
    op.drop_index("ix_review_item_learner_due", table_name="review_item")
    op.drop_table("review_item")
