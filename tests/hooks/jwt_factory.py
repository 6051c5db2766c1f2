"""Build the EHR side of CDS Hooks authentication in tests: keys, JWKS, signed JWTs.

Typical use::

    ehr = FakeEhr()                                   # ES384 key, https issuer
    ehr.serve_jwks(respx_mock)                        # GET ehr.jwks_url -> ehr.jwks()
    await ehr.register(sessions)                      # a row in the EHR registry
    token = ehr.token(aud="https://bedside.test/cds-services/bedside-patient-view")
    await verifier.verify(f"Bearer {token}", aud, "service")

`token()` takes claim overrides (`exp=...`, `iss=OMIT` to drop a claim), `header=` overrides
(`{"jku": ...}`, `{"alg": "none"}`) and `key=` to sign with another key. `sign_jwt()` signs any
header and claims, including the attacks (`none`, HS256 with a public key as the secret).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import respx
from joserfc.jwk import ECKey, Key, KeyParameters, RSAKey
from joserfc.jws import JWSRegistry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.db.engine import make_engine, make_sessionmaker, transaction
from service.ehr.auth import EhrJwtVerifier
from service.ehr.models import AuthAuditRecord
from service.ehr.registry import EhrRegistration, EhrRegistry
from service.settings import Settings
from service.shared_state import MemoryState, SharedState

OMIT: Any = object()  # pass as a claim or header value to leave it out
_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}


def generate_key(alg: str = "ES384", kid: str | None = None) -> Key:
    """A private signing key for `alg` (ES256/384/512, RS*/PS*), with a kid."""
    params: KeyParameters = {"kid": kid or uuid.uuid4().hex[:12], "use": "sig"}
    if alg in _CURVES:
        return ECKey.generate_key(_CURVES[alg], parameters=params, private=True)
    return RSAKey.generate_key(2048, parameters=params, private=True)


def public_jwk(key: Key, alg: str | None = None) -> dict[str, Any]:
    """The public JWK of a key, as a JWKS would publish it."""
    data: dict[str, Any] = dict(key.as_dict(private=False))
    if alg:
        data["alg"] = alg
    return data


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sign_jwt(header: dict[str, Any], claims: dict[str, Any], key: Key | bytes | None) -> str:
    """Sign exactly this header and these claims. `none` gives an empty signature; HS* use
    `key` as raw bytes (the algorithm-confusion attack); a known asymmetric `alg` signs with
    the key; an unknown one gets a junk signature."""
    signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    alg = str(header.get("alg", ""))
    if alg.lower() == "none" or key is None:
        signature = b""
    elif alg.upper().startswith("HS"):
        secret = key if isinstance(key, bytes) else json.dumps(public_jwk(key)).encode()
        digest = {"256": hashlib.sha256, "384": hashlib.sha384}.get(alg[2:], hashlib.sha512)
        signature = hmac.new(secret, signing_input.encode(), digest).digest()
    elif alg in JWSRegistry.algorithms and not isinstance(key, bytes):
        signature = JWSRegistry.algorithms[alg].sign(signing_input.encode(), key)
    else:
        signature = b"not-a-signature"  # an algorithm nobody implements
    return signing_input + "." + _b64(signature)


@dataclass
class FakeEhr:
    """A simulated EHR: an issuer, a key set served at jwks_url, and JWTs it signs."""

    issuer: str = "https://ehr.example.org/fhir-issuer"
    alg: str = "ES384"
    tenant: str | None = None
    jwks_url: str = ""
    fhir_base: str | None = None
    jku_allowlist: tuple[str, ...] = ()
    key: Key = field(init=False)
    published: list[Key] = field(init=False)

    def __post_init__(self) -> None:
        self.jwks_url = self.jwks_url or f"{self.issuer.rstrip('/')}/.well-known/jwks.json"
        self.key = generate_key(self.alg)
        self.published = [self.key]

    @property
    def kid(self) -> str:
        return str(self.key.kid)

    def jwks(self) -> dict[str, Any]:
        """The public key set the EHR publishes (every published key)."""
        return {"keys": [public_jwk(key, self.alg) for key in self.published]}

    def rotate(self, *, keep_old: bool = True) -> Key:
        """Start signing with a new key; publish it (and, by default, keep the old one)."""
        self.key = generate_key(self.alg)
        self.published = [*self.published, self.key] if keep_old else [self.key]
        return self.key

    def claims(
        self, aud: str | list[str] | None = None, /, *, now: float | None = None, **overrides: Any
    ) -> dict[str, Any]:
        """Valid claims for `aud` at `now`, with overrides (OMIT drops a claim)."""
        now = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": aud,
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
        }
        if self.tenant is not None:
            claims["tenant"] = self.tenant
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not OMIT}

    def token(
        self,
        aud: str | list[str] | None = None,
        /,
        *,
        header: dict[str, Any] | None = None,
        key: Key | bytes | None = None,
        now: float | None = None,
        **overrides: Any,
    ) -> str:
        """A JWT as this EHR would send it, with claim and header overrides. `aud` may be
        given positionally or as a keyword (`aud=OMIT` drops it)."""
        signing_key = key if key is not None else self.key
        kid = signing_key.kid if not isinstance(signing_key, bytes) else self.kid
        full_header: dict[str, Any] = {"alg": self.alg, "typ": "JWT", "kid": kid}
        full_header.update(header or {})
        full_header = {k: v for k, v in full_header.items() if v is not OMIT}
        return sign_jwt(full_header, self.claims(aud, now=now, **overrides), signing_key)

    def bearer(self, aud: str | list[str] | None = None, /, **kwargs: Any) -> str:
        """`Bearer <token>`, ready for the Authorization header."""
        return "Bearer " + self.token(aud, **kwargs)

    def serve_jwks(self, router: respx.MockRouter) -> respx.Route:
        """Serve the (current) published key set at jwks_url; the route counts calls."""
        return router.get(self.jwks_url).mock(
            side_effect=lambda _request: httpx.Response(200, json=self.jwks())
        )

    async def register(
        self, sessions: async_sessionmaker[AsyncSession], **fields: Any
    ) -> EhrRegistration:
        """Add this EHR to the registry (committed), as `bedside ehr add` would."""
        from service.ehr.service import add_ehr

        async with transaction(sessions) as session:
            record = await add_ehr(
                session,
                issuer=self.issuer,
                jwks_url=self.jwks_url,
                tenant=self.tenant,
                fhir_base=self.fhir_base,
                jku_allowlist=list(self.jku_allowlist),
                **fields,
            )
            return EhrRegistration.from_record(record)


class FakeClock:
    """A wall clock tests can move forward (also usable as MemoryState's clock)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class AuthHarness:
    """An EhrJwtVerifier wired to a real (test) database, a SharedState and a clock."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    state: SharedState
    http: httpx.AsyncClient
    clock: FakeClock
    registry: EhrRegistry
    verifier: EhrJwtVerifier

    def new_verifier(self, state: SharedState | None = None) -> EhrJwtVerifier:
        """Another worker's verifier over the same database (its own key cache)."""
        return EhrJwtVerifier(
            settings=self.settings,
            registry=EhrRegistry(self.sessions, 0),
            state=state or self.state,
            http=self.http,
            sessions=self.sessions,
            clock=self.clock,
        )

    async def audit_rows(self) -> list[AuthAuditRecord]:
        async with self.sessions() as session:
            return list((await session.scalars(select(AuthAuditRecord))).all())


@asynccontextmanager
async def auth_harness(
    settings: Settings, state: SharedState | None = None
) -> AsyncIterator[AuthHarness]:
    """Build an AuthHarness and close everything it opened."""
    clock = FakeClock()
    state = state or MemoryState(clock=clock)
    engine = make_engine(settings.resolved_database_url)
    sessions = make_sessionmaker(engine)
    registry = EhrRegistry(sessions, ttl_seconds=0)
    async with httpx.AsyncClient(follow_redirects=False) as http:
        verifier = EhrJwtVerifier(
            settings=settings,
            registry=registry,
            state=state,
            http=http,
            sessions=sessions,
            clock=clock,
        )
        try:
            yield AuthHarness(settings, engine, sessions, state, http, clock, registry, verifier)
        finally:
            await state.close()
            await engine.dispose()
