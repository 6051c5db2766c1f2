"""Verification of the EHR's JWT on every CDS Hooks call (docs/STANDARDS.md section 1).

Order (CDS Hooks best practice), each step a separate method so that a test can remove any one
of them and watch a rejection case pass (tests/hooks/test_auth_mutation.py):

1. parse the header and claims without trusting them (size cap, shape);
2. `iss` registered (an unknown issuer costs no outbound request);
3. `alg` on the allowlist, never `none` or symmetric;
4. `aud` is exactly the URL of the endpoint being invoked;
5. `exp` (with leeway, and no further away than the replay cache can remember), `iat`, `nbf`;
6. `tenant` registered for the issuer;
7. signature with the registration's key set (or an allowlisted `jku`); `jwk`, `x5u`, `x5c`
   headers are ignored;
8. `jti` unseen (SharedState, so every worker agrees).

Any failure raises `Unauthorized(reason)` (a bare 401), counts in JWT_REJECTIONS and leaves an
AuthAuditRecord with the reason code and the claimed issuer, tenant and jti. Never the token.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from joserfc.errors import JoseError
from joserfc.jws import JWSRegistry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db.base import utcnow
from service.ehr.keysets import ASYMMETRIC_KEY_TYPES, KeySetCache, KeySetUnavailable
from service.ehr.models import AuthAuditRecord
from service.ehr.registry import EhrRegistration, EhrRegistry
from service.errors import Unauthorized
from service.observability import JWT_REJECTIONS, bind_log_context
from service.settings import Settings
from service.shared_state import SharedState

log = logging.getLogger("bedside.auth")

MAX_TOKEN_BYTES = 16 * 1024
_SEGMENT = re.compile(r"^[A-Za-z0-9_-]*$")
_JWT_TYPES = frozenset({"JWT", "jwt", "application/jwt"})


@dataclass(frozen=True, slots=True)
class VerifiedCaller:
    """The EHR behind a verified call. `issuer` and `tenant` are the registration's."""

    issuer: str
    tenant: str | None
    jti: str
    registration: EhrRegistration
    subject: str | None = None
    expires_at: float = 0.0


@dataclass(frozen=True, slots=True)
class UnverifiedToken:
    """A JWT split and decoded, nothing about it trusted yet."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes

    def claimed(self, name: str) -> str | None:
        """A string claim for the audit trail, or None (never trusted for decisions)."""
        value = self.claims.get(name)
        return value if isinstance(value, str) else None


def parse_token(authorization: str | None) -> UnverifiedToken:
    """Split `Bearer <jwt>` into header, claims and signature. Trusts nothing."""
    if not authorization:
        raise Unauthorized("missing_token")
    if len(authorization) > MAX_TOKEN_BYTES:
        raise Unauthorized("token_too_large")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("not_bearer")
    parts = token.strip().split(".")
    if len(parts) != 3 or not all(_SEGMENT.match(part) for part in parts):
        raise Unauthorized("malformed_token")
    header, claims = _json_segment(parts[0]), _json_segment(parts[1])
    if header is None or claims is None or "crit" in header:
        raise Unauthorized("malformed_token")  # `crit` names extensions we do not implement
    typ = header.get("typ", "JWT")
    if not isinstance(typ, str) or typ not in _JWT_TYPES:
        raise Unauthorized("wrong_typ")  # another kind of JWT (access token, DPoP proof...)
    signature = _b64decode(parts[2])
    if signature is None:
        raise Unauthorized("malformed_token")
    return UnverifiedToken(header, claims, f"{parts[0]}.{parts[1]}".encode(), signature)


def _b64decode(segment: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return None


def _json_segment(segment: str) -> dict[str, Any] | None:
    raw = _b64decode(segment)
    if not raw:
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class EhrJwtVerifier:
    """Verifies the EHR's JWT for one endpoint call; see the module docstring for the order."""

    def __init__(
        self,
        *,
        settings: Settings,
        registry: EhrRegistry,
        state: SharedState,
        http: httpx.AsyncClient,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._registry = registry
        self._state = state
        self._sessions = sessions
        self._clock = clock
        self._leeway = settings.jwt_leeway_seconds
        self._algorithms = frozenset(settings.jwt_algorithms)
        self.key_sets = KeySetCache(
            http=http,
            state=state,
            refresh_min_seconds=settings.jwks_refresh_min_seconds,
            clock=clock,
        )

    async def verify(
        self, authorization: str | None, audience: str, endpoint: str
    ) -> VerifiedCaller:
        """Verify `Authorization: Bearer <jwt>` for a call to the URL `audience`.

        Raises Unauthorized(reason) on any failure, after counting and auditing it."""
        token: UnverifiedToken | None = None
        try:
            token = parse_token(authorization)
            caller = await self._verify_token(token, audience)
        except Unauthorized as exc:
            await self._reject(exc.reason, token, endpoint)
            raise
        bind_log_context(issuer=caller.issuer, tenant=caller.tenant, jti=caller.jti)
        return caller

    async def _verify_token(self, token: UnverifiedToken, audience: str) -> VerifiedCaller:
        now = self._clock()
        candidates = await self._check_issuer(token)
        alg = self._check_algorithm(token)
        self._check_audience(token, audience)
        self._check_expiry(token, now)
        self._check_issued_at(token, now)
        registration = self._check_tenant(token, candidates)
        await self._check_signature(token, alg, registration)
        jti = await self._check_replay(token, now)
        return VerifiedCaller(
            issuer=registration.issuer,
            tenant=registration.tenant,
            jti=jti,
            registration=registration,
            subject=token.claimed("sub"),
            expires_at=_number(token.claims.get("exp")) or 0.0,
        )

    async def _check_issuer(self, token: UnverifiedToken) -> tuple[EhrRegistration, ...]:
        """`iss` must name a registered EHR; returns its registrations (one per tenant)."""
        issuer = token.claims.get("iss")
        if not isinstance(issuer, str) or not issuer:
            raise Unauthorized("missing_iss")
        candidates = await self._registry.by_issuer(issuer)
        if not candidates:
            raise Unauthorized("unknown_issuer")
        return tuple(candidates)

    def _check_algorithm(self, token: UnverifiedToken) -> str:
        """`alg` on the configured allowlist; `none` and HMAC never, whatever the settings."""
        alg = token.header.get("alg")
        if not isinstance(alg, str) or alg.upper() == "NONE" or alg.upper().startswith("HS"):
            raise Unauthorized("alg_not_allowed")
        if alg not in self._algorithms:
            raise Unauthorized("alg_not_allowed")
        return alg

    def _check_audience(self, token: UnverifiedToken, audience: str) -> None:
        """`aud` (a string or an array) must hold exactly the invoked endpoint's URL."""
        aud = token.claims.get("aud")
        if aud is None or aud == "" or aud == []:
            raise Unauthorized("missing_aud")
        values = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if not any(isinstance(value, str) and value == audience for value in values):
            raise Unauthorized("wrong_aud")

    def _check_expiry(self, token: UnverifiedToken, now: float) -> None:
        """`exp` required, not past (with leeway), and close enough that the replay cache
        (at most jti_max_ttl_seconds) outlives the token."""
        exp = _number(token.claims.get("exp"))
        if exp is None:
            raise Unauthorized("missing_exp")
        if exp + self._leeway < now:
            raise Unauthorized("expired")
        if exp - now > self._settings.jti_max_ttl_seconds - self._leeway:
            raise Unauthorized("lifetime_too_long")

    def _check_issued_at(self, token: UnverifiedToken, now: float) -> None:
        """`iat` required and not in the future; `nbf`, when present, honoured with leeway
        (Epic sets nbf = iat - 5 min)."""
        iat = _number(token.claims.get("iat"))
        if iat is None:
            raise Unauthorized("missing_iat")
        if iat > now + self._leeway:
            raise Unauthorized("iat_in_future")
        if "nbf" in token.claims:
            nbf = _number(token.claims["nbf"])
            if nbf is None:
                raise Unauthorized("malformed_token")
            if nbf > now + self._leeway:
                raise Unauthorized("not_yet_valid")

    def _check_tenant(
        self, token: UnverifiedToken, candidates: tuple[EhrRegistration, ...]
    ) -> EhrRegistration:
        """The `tenant` claim (or its absence) must match a registration of the issuer."""
        tenant = token.claims.get("tenant")
        if tenant is not None and not isinstance(tenant, str):
            raise Unauthorized("malformed_token")
        for registration in candidates:
            if registration.tenant == (tenant or None):
                return registration
        raise Unauthorized("unknown_tenant")

    async def _check_signature(
        self, token: UnverifiedToken, alg: str, registration: EhrRegistration
    ) -> None:
        """Verify with the registration's key set, or a `jku` on its allowlist. Keys embedded
        in the token (`jwk`, `x5c`) or pointed at (`x5u`) are never used."""
        kid = token.header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("missing_kid")
        url = self._key_set_url(token, registration)
        try:
            key = await self.key_sets.find_key(registration.issuer, url, kid)
        except KeySetUnavailable:
            raise Unauthorized("jwks_unavailable") from None
        if key is None:
            raise Unauthorized("unknown_kid")
        model = JWSRegistry.algorithms.get(alg)
        if model is None or model.key_type not in ASYMMETRIC_KEY_TYPES:
            raise Unauthorized("alg_not_allowed")
        try:
            model.check_key(key)
            valid = model.verify(token.signing_input, token.signature, key)
        except (JoseError, ValueError, TypeError):
            valid = False
        if not valid:
            raise Unauthorized("bad_signature")

    def _key_set_url(self, token: UnverifiedToken, registration: EhrRegistration) -> str:
        jku = token.header.get("jku")
        if jku is None or jku == registration.jwks_url:
            return registration.jwks_url
        if isinstance(jku, str) and jku in registration.jku_allowlist:
            return jku
        raise Unauthorized("jku_not_allowed")  # decided before any request: no SSRF

    async def _check_replay(self, token: UnverifiedToken, now: float) -> str:
        """`jti` required and never seen for this issuer while the token could be valid."""
        jti = token.claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise Unauthorized("missing_jti")
        exp = _number(token.claims.get("exp")) or now
        ttl = min(int(exp - now) + self._leeway + 1, self._settings.jti_max_ttl_seconds)
        issuer = token.claimed("iss")
        if not await self._state.add_if_absent(f"jti:{issuer}:{jti}", max(ttl, 1)):
            raise Unauthorized("replayed_jti")
        return jti

    async def _reject(self, reason: str, token: UnverifiedToken | None, endpoint: str) -> None:
        """Count, log (reason and claimed issuer only) and audit one rejection."""
        JWT_REJECTIONS.labels(reason=reason).inc()
        issuer = token.claimed("iss") if token else None
        log.info("EHR JWT rejected", extra={"fields": {"reason": reason, "issuer": issuer}})
        await self._write_audit(
            AuthAuditRecord(
                at=utcnow(),
                outcome="rejected",
                reason=reason[:60],
                issuer=_clip(issuer, 500),
                tenant=_clip(token.claimed("tenant") if token else None, 200),
                jti=_clip(token.claimed("jti") if token else None, 200),
                endpoint=_clip(endpoint, 200),
            )
        )

    async def _write_audit(self, record: AuthAuditRecord) -> None:
        """One short transaction; an audit failure never turns a 401 into a 500."""
        try:
            async with self._sessions() as session, session.begin():
                session.add(record)
        except Exception:  # the rejection stands whatever the audit store does
            log.exception("could not write the authentication audit record")


def _clip(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else None
