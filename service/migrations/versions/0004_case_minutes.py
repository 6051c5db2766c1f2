"""A case's estimated minutes on its learning cycle: enduring credit is in proportion to it.

Revision ID: 0004_case_minutes
Revises: 0003_credit
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_case_minutes"
down_revision = "0003_credit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("learning_cycle") as batch:
        batch.add_column(sa.Column("case_minutes", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("learning_cycle") as batch:
        batch.drop_column("case_minutes")
