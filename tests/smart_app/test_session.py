"""Sessions expire; launch state is single use; cookies carry the right flags."""

from __future__ import annotations

import time

import pytest
from fastapi import Response

from service.settings import Settings
from service.shared_state import MemoryState
from smart_app.session import LaunchState, SessionStore, set_cookie


def _state() -> LaunchState:
    return LaunchState(
        bind="b",
        registration_id="r",
        iss="i",
        client_id="c",
        token_endpoint="t",
        jwks_uri="j",
        id_token_issuer="i",
        nonce="n",
        code_verifier="v",
    )


async def test_sessions_expire(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SessionStore(MemoryState(), settings)
    session = await store.create(learner_key="lrn", registration_id="r", issuer="i")
    assert await store.get(session.id) == session
    later = time.time() + settings.session_ttl_seconds + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert await store.get(session.id) is None


async def test_launch_state_is_single_use_and_random(settings: Settings) -> None:
    store = SessionStore(MemoryState(), settings)
    first, second = await store.save_launch(_state()), await store.save_launch(_state())
    assert first != second
    assert len(first) >= 43  # 256 bits, base64url
    assert await store.pop_launch(first) == _state()
    assert await store.pop_launch(first) is None


async def test_bearer_tokens_resolve_to_their_session(settings: Settings) -> None:
    store = SessionStore(MemoryState(), settings)
    session = await store.create(learner_key="lrn", registration_id="r", issuer="i")
    token = await store.issue_bearer(session)
    assert await store.by_bearer(token) == session
    await store.end(session.id)
    assert await store.by_bearer(token) is None


@pytest.mark.parametrize(
    ("secure", "expected"), [(True, "samesite=none; secure"), (False, "samesite=lax")]
)
def test_cookie_flags(settings: Settings, secure: bool, expected: str) -> None:
    response = Response()
    set_cookie(
        response, settings.model_copy(update={"cookie_secure": secure}), "c", "v", max_age=60
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "path=/" in cookie
    assert expected in cookie
