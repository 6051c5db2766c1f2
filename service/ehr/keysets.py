"""The EHRs' key sets: fetched only from registered URLs, cached per URL, refreshed rarely.

- A key set is fetched from the registration's `jwks_url` (or a `jku` on its allowlist, decided
  by the caller) with a short deadline, no redirects and a size cap (`service/outbound.py`).
- Both the hook's JWT check and the SMART app's id_token check read keys through a
  `KeySetCache`; only public asymmetric signing keys are ever kept.
- Each worker keeps parsed sets in memory; the raw set is also kept in SharedState so that
  workers share what one of them fetched (and a new worker needs no fetch of its own).
- A refresh (unknown `kid`, or a set older than `max_age_seconds`) happens at most once per
  `jwks_refresh_min_seconds` per issuer and URL, throttled through SharedState so that all
  workers agree. When the endpoint is down or answers garbage, the cached set keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeGuard

import httpx
import orjson
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry, Key, KeySet

from service.outbound import OutboundError, fetch
from service.shared_state import SharedState

log = logging.getLogger("bedside.jwks")

ASYMMETRIC_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})
MAX_JWKS_BYTES = 64 * 1024
FETCH_DEADLINE_SECONDS = 2.0  # the whole fetch, whatever the server's pace
FETCH_TIMEOUT = httpx.Timeout(2.0, connect=1.0)  # on the request path: keep it short
COLD_START_POLLS = 5
COLD_START_POLL_SECONDS = 0.1
SHARED_TTL_SECONDS = 7 * 86400  # a down JWKS endpoint must not take the EHR offline


class KeySetUnavailable(Exception):
    """The key set could not be fetched or parsed (reason in the message; never a token)."""


@dataclass(frozen=True, slots=True)
class CachedKeySet:
    keys: KeySet
    fetched_at: float

    def get(self, kid: str) -> Key | None:
        """The key with this `kid`, or None."""
        for key in self.keys.keys:
            if key.kid == kid:
                return key
        return None


def parse_key_set(body: bytes) -> KeySet:
    """Parse a JWKS document, keeping only public asymmetric signing keys.

    Symmetric (`oct`) keys and keys whose `use` is not `sig` are dropped: a JWKS can never
    make a symmetric algorithm acceptable."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise KeySetUnavailable("not JSON") from exc
    raw_keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(raw_keys, list):
        raise KeySetUnavailable("no 'keys' array")
    keys = [key for key in map(_import_key, raw_keys) if key is not None]
    if not keys:
        raise KeySetUnavailable("no usable asymmetric signing key")
    return KeySet(keys)


def _import_key(data: Any) -> Key | None:
    """One public signing key, or None: a broken key must not take its siblings down."""
    if not isinstance(data, dict) or not _usable_jwk(data):
        return None
    try:
        return JWKRegistry.import_key(data)
    except (JoseError, ValueError, TypeError, KeyError):
        return None


def _usable_jwk(data: dict[str, Any]) -> bool:
    if data.get("kty") not in ASYMMETRIC_KEY_TYPES:
        return False
    if data.get("use", "sig") != "sig":
        return False
    # Only the public half is ever needed: refuse to hold private material by mistake.
    return not any(name in data for name in ("d", "p", "q", "dp", "dq", "qi"))


async def fetch_key_set(http: httpx.AsyncClient, url: str) -> KeySet:
    """GET a JWKS with a short overall deadline (a server trickling one byte at a time must
    not hold a hook call), no redirects and a size cap."""
    try:
        answer = await fetch(
            http,
            "GET",
            url,
            max_bytes=MAX_JWKS_BYTES,
            deadline=FETCH_DEADLINE_SECONDS,
            timeout=FETCH_TIMEOUT,
            # identity: the size cap then bounds what we hold (no decompression bombs)
            headers={"Accept": "application/json", "Accept-Encoding": "identity"},
        )
    except OutboundError as exc:
        raise KeySetUnavailable(_why(exc)) from exc
    return parse_key_set(answer.body)


def _why(exc: OutboundError) -> str:
    """What hospital IT reads (`bedside doctor`, logs): the status, the transport error."""
    if exc.status is not None and exc.reason.startswith("status_"):
        return f"HTTP {exc.status}"
    reasons = {"too_large": "too large", "unreachable": f"unreachable ({exc.detail})"}
    return reasons.get(exc.reason, exc.reason)


class KeySetCache:
    """Per-URL key sets for the EHRs, with throttled refresh and stale-while-down serving."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        state: SharedState,
        refresh_min_seconds: int,
        max_age_seconds: int = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = http
        self._state = state
        self._refresh_min = refresh_min_seconds
        self._max_age = max_age_seconds
        self._clock = clock
        self._local: dict[str, CachedKeySet] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._retry_at: dict[str, float] = {}

    async def find_key(self, issuer: str, url: str, kid: str) -> Key | None:
        """The key `kid` of the set at `url` (registered for `issuer`), refreshing the set at
        most once per throttle window when the kid is unknown or the set is old.

        Raises KeySetUnavailable when no set was ever obtained for the URL."""
        cached = self._local.get(url)
        if cached is not None and (self._usable(cached, kid) or self._quiet(url, cached, kid)):
            return cached.get(kid)
        # One lookup per URL at a time in this worker: a burst of calls waits for one fetch.
        async with self._locks.setdefault(url, asyncio.Lock()):
            cached = await self._lookup(issuer, url, kid)
        if cached is None:
            raise KeySetUnavailable("no key set")
        return cached.get(kid)

    def _quiet(self, url: str, cached: CachedKeySet, kid: str) -> bool:
        """A stale set that knows the kid, while a failed or throttled refresh is recent:
        serve it without asking SharedState again."""
        return cached.get(kid) is not None and self._clock() < self._retry_at.get(url, 0.0)

    async def _lookup(self, issuer: str, url: str, kid: str) -> CachedKeySet | None:
        cached = self._local.get(url)
        if self._usable(cached, kid):
            return cached  # refreshed by another task while this one waited
        cached = await self._from_shared(url) or cached
        if self._usable(cached, kid):
            return cached
        self._retry_at[url] = self._clock() + self._refresh_min
        if await self._may_refresh(issuer, url):
            return await self._refresh(url) or cached
        if cached is None:
            return await self._wait_for_shared(url)
        return cached

    async def _wait_for_shared(self, url: str) -> CachedKeySet | None:
        """Cold start: another worker holds the refresh slot; give its fetch a moment."""
        for _ in range(COLD_START_POLLS):
            await asyncio.sleep(COLD_START_POLL_SECONDS)
            cached = await self._from_shared(url)
            if cached is not None:
                return cached
        return None

    def _usable(self, cached: CachedKeySet | None, kid: str) -> TypeGuard[CachedKeySet]:
        if cached is None or cached.get(kid) is None:
            return False
        return self._clock() - cached.fetched_at < self._max_age

    async def _from_shared(self, url: str) -> CachedKeySet | None:
        """A set another worker fetched, when newer than ours."""
        raw = await self._state.get(_shared_key(url))
        if raw is None:
            return None
        try:
            envelope = orjson.loads(raw)
            fetched_at = float(envelope["fetched_at"])
            current = self._local.get(url)
            if current is not None and current.fetched_at >= fetched_at:
                return current
            entry = CachedKeySet(parse_key_set(orjson.dumps(envelope["jwks"])), fetched_at)
        except (KeySetUnavailable, KeyError, TypeError, ValueError):
            return None
        self._local[url] = entry
        return entry

    async def _may_refresh(self, issuer: str, url: str) -> bool:
        return await self._state.add_if_absent(f"jwks-refresh:{issuer}|{url}", self._refresh_min)

    async def _refresh(self, url: str) -> CachedKeySet | None:
        try:
            keys = await fetch_key_set(self._http, url)
        except KeySetUnavailable as exc:
            log.warning(
                "key set fetch failed; serving the cached set if any",
                extra={"fields": {"reason": f"jwks_fetch_failed: {exc}"}},
            )
            return None
        entry = CachedKeySet(keys, self._clock())
        self._local[url] = entry
        envelope = {"fetched_at": entry.fetched_at, "jwks": keys.as_dict(private=False)}
        await self._state.set(_shared_key(url), orjson.dumps(envelope), SHARED_TTL_SECONDS)
        return entry


def _shared_key(url: str) -> str:
    return f"jwks:{url}"
