"""ORM models of the EHR registry and the authentication audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, CreatedAt, UUIDPk


class EhrRecord(Base):
    """A registered EHR. The (issuer, tenant) pair identifies it for CDS Hooks JWTs; its
    fhir_base identifies it for SMART launches (the launch's `iss`)."""

    __tablename__ = "ehr_registration"
    __table_args__ = (UniqueConstraint("issuer", "tenant_key"),)

    id: Mapped[UUIDPk]
    issuer: Mapped[str] = mapped_column(String(500))
    # "" when the EHR sends no tenant: NULLs would defeat the unique constraint.
    tenant_key: Mapped[str] = mapped_column(String(200), default="")
    jwks_url: Mapped[str] = mapped_column(String(1000))
    jku_allowlist: Mapped[list[str]] = mapped_column(JSON, default=list)
    fhir_base: Mapped[str | None] = mapped_column(String(1000), default=None)
    display_name: Mapped[str | None] = mapped_column(String(200), default=None)
    client_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    client_auth: Mapped[str] = mapped_column(String(40), default="none")
    client_secret: Mapped[str | None] = mapped_column(Text, default=None)
    client_jwks: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[CreatedAt]


class AuthAuditRecord(Base):
    """One rejected (or, when enabled, accepted) EHR authentication, with a reason code.
    Holds no token: only the claimed issuer, the jti and the reason."""

    __tablename__ = "auth_audit"

    id: Mapped[UUIDPk]
    at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(60))
    issuer: Mapped[str | None] = mapped_column(String(500), default=None)
    tenant: Mapped[str | None] = mapped_column(String(200), default=None)
    jti: Mapped[str | None] = mapped_column(String(200), default=None)
    endpoint: Mapped[str | None] = mapped_column(String(200), default=None)


__all__ = ["AuthAuditRecord", "EhrRecord", "uuid"]
