"""Server-side app sessions and launch state, kept in the shared state store.

The browser only ever holds opaque random ids in cookies: `bedside_session` (the signed-in
learner) and one `bedside_launch_{tag}` per launch under way (binds that launch's OAuth `state`
to the browser that started it; `tag` is derived from the state, so that two charts launched in
one browser keep their own). A launch cookie gets a fresh random value at every launch, never
one the browser brought (login CSRF by a planted value), and is named `__Host-...` whenever the
deployment allows it (https, Secure): such a cookie cannot be planted by a sibling subdomain or
over plain http. No token from the EHR is ever stored: a session holds the learner key and a
CSRF token.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import orjson
from fastapi import Response

from service.settings import Settings
from service.shared_state import SharedState

SESSION_COOKIE = "bedside_session"
LAUNCH_COOKIE = "bedside_launch"
HOST_PREFIX = "__Host-"
STATE_TTL_SECONDS = 600
_SESSION = "app:session:"
_STATE = "app:state:"
_BEARER = "app:bearer:"


def new_secret() -> str:
    """256 random bits, URL-safe (state, nonce, session ids, CSRF and API tokens)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class AppSession:
    """A signed-in learner in one browser (or one API client)."""

    id: str
    learner_key: str
    registration_id: str
    issuer: str
    csrf: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class LaunchState:
    """What the callback needs to finish an authorization started by /app/launch."""

    bind: str
    registration_id: str
    iss: str
    client_id: str
    token_endpoint: str
    jwks_uri: str
    id_token_issuer: str
    nonce: str
    code_verifier: str
    # RFC 9207: discovery promised an `iss` in the authorization response.
    iss_parameter_required: bool = False
    # A standalone sign-in asks the EHR to authenticate again (prompt=login) at this time.
    fresh_login_since: float | None = None


class SessionStore:
    """Create, read and end sessions; save and consume (single use) launch state."""

    def __init__(self, state: SharedState, settings: Settings) -> None:
        self._state = state
        self._ttl = settings.session_ttl_seconds

    async def save_launch(self, value: LaunchState) -> str:
        """Store launch state under a fresh random `state` value and return it."""
        key = new_secret()
        await self._state.set(_STATE + key, orjson.dumps(asdict(value)), STATE_TTL_SECONDS)
        return key

    async def pop_launch(self, key: str) -> LaunchState | None:
        """Consume the launch state: a second callback with the same state finds nothing."""
        if not key or len(key) > 200:
            return None
        raw = await self._state.pop(_STATE + key)
        return LaunchState(**orjson.loads(raw)) if raw else None

    async def create(self, *, learner_key: str, registration_id: str, issuer: str) -> AppSession:
        """A fresh session (a new id at every sign-in: no session fixation)."""
        session = AppSession(
            id=new_secret(),
            learner_key=learner_key,
            registration_id=registration_id,
            issuer=issuer,
            csrf=new_secret(),
            expires_at=time.time() + self._ttl,
        )
        await self._state.set(_SESSION + session.id, orjson.dumps(asdict(session)), self._ttl)
        return session

    async def get(self, session_id: str | None) -> AppSession | None:
        if not session_id or len(session_id) > 200:
            return None
        raw = await self._state.get(_SESSION + session_id)
        if raw is None:
            return None
        session = AppSession(**orjson.loads(raw))
        return session if session.expires_at > time.time() else None

    async def end(self, session_id: str) -> None:
        await self._state.delete(_SESSION + session_id)

    async def issue_bearer(self, session: AppSession) -> str:
        """An API bearer token for this session; only its hash is stored, for the session's
        remaining life."""
        token = "bls_" + new_secret()
        ttl = max(1, int(session.expires_at - time.time()))
        await self._state.set(_BEARER + _digest(token), session.id.encode(), ttl)
        return token

    async def by_bearer(self, token: str) -> AppSession | None:
        if not token.startswith("bls_") or len(token) > 200:
            return None
        session_id = await self._state.get(_BEARER + _digest(token))
        return await self.get(session_id.decode()) if session_id else None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def host_cookies(settings: Settings) -> bool:
    """Whether cookie names carry the `__Host-` prefix: only Secure cookies of an https
    deployment may (browsers drop them otherwise); ours are Path=/ without Domain. The
    plain-http local demo keeps plain names."""
    return settings.cookie_secure and settings.public_url.startswith("https://")


def launch_cookie_name(settings: Settings, state: str) -> str:
    """The cookie that binds the launch of this `state` to the browser."""
    name = f"{LAUNCH_COOKIE}_{hashlib.sha256(state.encode()).hexdigest()[:16]}"
    return HOST_PREFIX + name if host_cookies(settings) else name


def launch_cookie_names(names: Iterable[str]) -> list[str]:
    """Which of a request's cookies are launch cookies (either spelling)."""
    return [n for n in names if n.removeprefix(HOST_PREFIX).startswith(LAUNCH_COOKIE)]


def set_cookie(
    response: Response, settings: Settings, name: str, value: str, *, max_age: int, path: str = "/"
) -> None:
    """HttpOnly, Secure and SameSite=None (EHRs embed the app in a cross-site iframe).

    Browsers refuse SameSite=None without Secure, so the plain-http local demo (cookie_secure
    off, EHR simulator on the same host) falls back to Lax."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="none" if settings.cookie_secure else "lax",
    )


def clear_cookie(response: Response, settings: Settings, name: str, path: str = "/") -> None:
    response.delete_cookie(
        name,
        path=path,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="none" if settings.cookie_secure else "lax",
    )
