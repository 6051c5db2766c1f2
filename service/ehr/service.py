"""Registry operations for hospital IT: add, list and remove EHR registrations.

Shared by `bedside ehr ...` and the admin API. Functions take an AsyncSession and only flush:
the caller's unit of work commits. Callers that serve requests invalidate the worker's
EhrRegistry cache afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from urllib.parse import urlsplit

import orjson
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.ehr.models import EhrRecord
from service.ehr.registry import ClientAuth, normalize_base
from service.ehr.sealing import CLIENT_JWKS, CLIENT_SECRET, seal
from service.errors import Conflict, NotFound, Unprocessable

CLIENT_AUTH_METHODS: tuple[ClientAuth, ...] = ("none", "client_secret_basic", "private_key_jwt")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def check_url(url: str, what: str) -> str:
    """An https URL, or http on loopback only (demo and tests). Returns it stripped."""
    url = url.strip()
    if len(url) > 1000:
        raise Unprocessable(f"{what} is longer than 1000 characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise Unprocessable(f"{what} is not a valid URL") from exc
    if not parts.hostname or parts.username or parts.password or parts.fragment:
        raise Unprocessable(f"{what} must be an absolute URL without credentials or fragment")
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
        return url
    raise Unprocessable(f"{what} must use https (http only on 127.0.0.1 or localhost)")


def _check_client_jwks(text: str) -> str:
    """The EHR client's private key set for private_key_jwt: JSON with an asymmetric key."""
    try:
        key_set = KeySet.import_key_set(orjson.loads(text))
    except (orjson.JSONDecodeError, JoseError, KeyError, TypeError, ValueError) as exc:
        raise Unprocessable("client JWKS is not a valid JSON Web Key Set") from exc
    if not any(key.key_type in {"RSA", "EC", "OKP"} and key.is_private for key in key_set):
        raise Unprocessable("client JWKS needs a private RSA or EC key")
    return text


def _resolve_client_auth(
    client_auth: str | None, client_secret: str | None, client_jwks: str | None
) -> ClientAuth:
    if client_secret and client_jwks:
        raise Unprocessable("give a client secret or a client JWKS, not both")
    if client_auth is None:
        if client_secret:
            return "client_secret_basic"
        return "private_key_jwt" if client_jwks else "none"
    if client_auth not in CLIENT_AUTH_METHODS:
        raise Unprocessable(f"client_auth must be one of {', '.join(CLIENT_AUTH_METHODS)}")
    if client_auth == "client_secret_basic" and not client_secret:
        raise Unprocessable("client_secret_basic needs a client secret")
    if client_auth != "client_secret_basic" and client_secret:
        raise Unprocessable("a client secret is only used with client_secret_basic")
    if client_auth != "private_key_jwt" and client_jwks:
        raise Unprocessable("a client JWKS is only used with private_key_jwt")
    return client_auth


def _identity(issuer: str, tenant: str | None) -> tuple[str, str]:
    """The (issuer, tenant_key) pair, stripped and within the columns' sizes."""
    issuer = issuer.strip()
    if not issuer or len(issuer) > 500:
        raise Unprocessable("issuer is required (at most 500 characters)")
    tenant_key = (tenant or "").strip()
    if len(tenant_key) > 200:
        raise Unprocessable("tenant is at most 200 characters")
    return issuer, tenant_key


async def add_ehr(
    session: AsyncSession,
    *,
    issuer: str,
    jwks_url: str,
    tenant: str | None = None,
    fhir_base: str | None = None,
    display_name: str | None = None,
    client_ids: Sequence[str] = (),
    client_auth: str | None = None,
    client_secret: str | None = None,
    client_jwks: str | None = None,
    jku_allowlist: Sequence[str] = (),
    server_secret: bytes | None = None,
) -> EhrRecord:
    """Register an EHR. Raises Unprocessable on invalid input, Conflict on a duplicate
    (issuer, tenant). `client_auth` defaults from what is given (secret, JWKS or none);
    private_key_jwt without a client JWKS signs with Bedside's own keys. A client secret and
    a client JWKS (a private key set) are stored sealed under `server_secret` (the runtime's
    secret; required with either)."""
    issuer, tenant_key = _identity(issuer, tenant)
    resolved_auth = _resolve_client_auth(client_auth, client_secret, client_jwks)
    checked_jwks = _check_client_jwks(client_jwks) if client_jwks else None
    sealed = {
        field: _sealed(server_secret, value, issuer=issuer, tenant_key=tenant_key, field=field)
        for field, value in ((CLIENT_SECRET, client_secret), (CLIENT_JWKS, checked_jwks))
        if value
    }
    record = EhrRecord(
        issuer=issuer,
        tenant_key=tenant_key,
        jwks_url=check_url(jwks_url, "jwks_url"),
        fhir_base=normalize_base(check_url(fhir_base, "fhir_base")) if fhir_base else None,
        display_name=(display_name or "").strip() or None,
        client_ids=[c.strip() for c in client_ids if c.strip()],
        client_auth=resolved_auth,
        client_secret=sealed.get(CLIENT_SECRET),
        client_jwks=sealed.get(CLIENT_JWKS),
        jku_allowlist=[check_url(url, "jku") for url in jku_allowlist],
    )
    if await _find(session, issuer, tenant_key) is not None:
        raise Conflict("an EHR with this issuer and tenant is already registered")
    session.add(record)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent add won the race
        raise Conflict("an EHR with this issuer and tenant is already registered") from exc
    return record


def _sealed(
    server_secret: bytes | None, value: str, *, issuer: str, tenant_key: str, field: str
) -> str:
    """A client credential as stored: sealed, never in clear by mistake."""
    if server_secret is None:
        raise ValueError(f"a {field.replace('_', ' ')} is stored sealed: pass server_secret")
    return seal(server_secret, value, issuer=issuer, tenant_key=tenant_key, field=field)


async def _find(session: AsyncSession, issuer: str, tenant_key: str) -> EhrRecord | None:
    """The registration for (issuer, tenant); issuers compare without a trailing slash, as
    the registry does, so that two spellings cannot both be registered."""
    wanted = normalize_base(issuer)
    rows = await session.scalars(select(EhrRecord).where(EhrRecord.tenant_key == tenant_key))
    return next((row for row in rows if normalize_base(row.issuer) == wanted), None)


async def list_ehrs(session: AsyncSession) -> list[EhrRecord]:
    """Every registration, oldest first."""
    rows = await session.scalars(select(EhrRecord).order_by(EhrRecord.created_at))
    return list(rows)


async def get_ehr(session: AsyncSession, ehr_id: uuid.UUID) -> EhrRecord:
    """One registration by id; NotFound otherwise."""
    record = await session.get(EhrRecord, ehr_id)
    if record is None:
        raise NotFound("no such EHR registration")
    return record


async def remove_ehr(session: AsyncSession, ehr_id: uuid.UUID) -> EhrRecord:
    """Delete a registration by id; returns what was removed."""
    record = await get_ehr(session, ehr_id)
    await session.delete(record)
    await session.flush()
    return record


async def remove_ehr_by_issuer(
    session: AsyncSession, issuer: str, tenant: str | None = None
) -> EhrRecord:
    """Delete the registration for (issuer, tenant); returns what was removed."""
    record = await _find(session, issuer.strip(), (tenant or "").strip())
    if record is None:
        raise NotFound("no EHR registered with this issuer and tenant")
    await session.delete(record)
    await session.flush()
    return record
