"""API schemas of the EHR registry (admin API and `bedside ehr list --json`).

Secrets go in (`client_secret`, `client_jwks`) and never come out: the output says only
whether one is configured.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

from service.ehr.models import EhrRecord
from service.ehr.service import check_url


class EhrCreate(BaseModel):
    """A new EHR registration."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(min_length=1, max_length=500)
    jwks_url: str = Field(min_length=1, max_length=1000)
    tenant: str | None = Field(default=None, max_length=200)
    fhir_base: str | None = Field(default=None, max_length=1000)
    display_name: str | None = Field(default=None, max_length=200)
    client_ids: list[str] = Field(default_factory=list, max_length=20)
    client_auth: Literal["none", "client_secret_basic", "private_key_jwt"] | None = None
    client_secret: SecretStr | None = None
    client_jwks: dict[str, Any] | None = None

    @field_validator("issuer", "jwks_url", "fhir_base")
    @classmethod
    def _url(cls, value: str | None, info: ValidationInfo) -> str | None:
        """An https URL (http on loopback only), as `bedside ehr add` requires. Raises
        Unprocessable, not ValueError: the API answers every invalid URL with a 422 and one
        message, as it does for the URLs the registry service checks."""
        return None if value is None else check_url(value, str(info.field_name))

    @field_validator("display_name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return (value or "").strip() or None

    @field_validator("client_jwks")
    @classmethod
    def _serialisable(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        """A key set we can store: JSON numbers beyond 64 bits are not valid JWK members."""
        if value is not None:
            try:
                orjson.dumps(value)
            except TypeError as exc:
                raise ValueError("client_jwks is not a storable JSON key set") from exc
        return value

    jku_allowlist: list[str] = Field(default_factory=list, max_length=10)


class EhrOut(BaseModel):
    """A registration as shown to hospital IT: no secret, only whether one is set."""

    id: uuid.UUID
    issuer: str
    tenant: str | None
    jwks_url: str
    fhir_base: str | None
    display_name: str | None
    client_ids: list[str]
    client_auth: str
    has_client_secret: bool
    has_client_jwks: bool
    jku_allowlist: list[str]
    created_at: datetime

    @classmethod
    def from_record(cls, record: EhrRecord) -> EhrOut:
        return cls(
            id=record.id,
            issuer=record.issuer,
            tenant=record.tenant_key or None,
            jwks_url=record.jwks_url,
            fhir_base=record.fhir_base,
            display_name=record.display_name,
            client_ids=list(record.client_ids or []),
            client_auth=record.client_auth,
            has_client_secret=bool(record.client_secret),
            has_client_jwks=bool(record.client_jwks),
            jku_allowlist=list(record.jku_allowlist or []),
            created_at=record.created_at,
        )


class EhrList(BaseModel):
    """Every registration, oldest first."""

    ehrs: list[EhrOut]
