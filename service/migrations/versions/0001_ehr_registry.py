"""EHR registry and authentication audit.

Revision ID: 0001_ehr_registry
Revises:
"""

import sqlalchemy as sa
from alembic import op

from service.db.base import UTCDateTime

revision = "0001_ehr_registry"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ehr_registration",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("tenant_key", sa.String(200), nullable=False),
        sa.Column("jwks_url", sa.String(1000), nullable=False),
        sa.Column("jku_allowlist", sa.JSON(), nullable=False),
        sa.Column("fhir_base", sa.String(1000), nullable=True),
        sa.Column("client_ids", sa.JSON(), nullable=False),
        sa.Column("client_auth", sa.String(40), nullable=False),
        sa.Column("client_secret", sa.Text(), nullable=True),
        sa.Column("client_jwks", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ehr_registration")),
        sa.UniqueConstraint("issuer", "tenant_key", name=op.f("uq_ehr_registration_issuer_tenant_key")),
    )
    op.create_table(
        "auth_audit",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(60), nullable=False),
        sa.Column("issuer", sa.String(500), nullable=True),
        sa.Column("tenant", sa.String(200), nullable=True),
        sa.Column("jti", sa.String(200), nullable=True),
        sa.Column("endpoint", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_audit")),
    )


def downgrade() -> None:
    op.drop_table("auth_audit")
    op.drop_table("ehr_registration")
