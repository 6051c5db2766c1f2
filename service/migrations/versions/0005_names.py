"""Names people read: an EHR registration's display name (the sign-in page showed a raw FHIR
URL), and a learner's given and family names held apart (board reports split one string
wrongly: "Elizbeth Ratke, MD", "Maria de la Cruz"). The single `name` stays for profiles
written before.

Revision ID: 0005_names
Revises: 0004_case_minutes
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_names"
down_revision = "0004_case_minutes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ehr_registration") as batch:
        batch.add_column(sa.Column("display_name", sa.String(200), nullable=True))
    with op.batch_alter_table("learner_profile") as batch:
        batch.add_column(sa.Column("given_name", sa.String(100), nullable=True))
        batch.add_column(sa.Column("family_name", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("learner_profile") as batch:
        batch.drop_column("family_name")
        batch.drop_column("given_name")
    with op.batch_alter_table("ehr_registration") as batch:
        batch.drop_column("display_name")
