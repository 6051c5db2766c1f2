"""Overall deadlines on the outbound calls a per-read timeout cannot bound: the SMART app's
discovery, token exchange and id_token key set fetch, and the xAPI push to the LRS, against a
real loopback server trickling its answer a byte at a time (every read succeeds, the answer
never ends).

Pass: each call gives up within its deadline + 100 ms (asserted with CI slack), with the same
error as for any other HTTP failure; the LRS's statements stay pending and are delivered once it
is back. The deadlines are shortened here to keep the suite fast; the clients keep per-read
timeouts well above the trickle's pace, so only the overall deadline can end the call.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import select

from service.credit import outbox
from service.credit.jobs import run_push
from service.credit.models import XapiOutboxItem
from service.db.base import utcnow
from service.db.engine import make_engine, make_sessionmaker, transaction
from service.ehr import keysets
from service.ehr.registry import EhrRegistration
from service.keys import load_signing_keys
from service.settings import Settings
from service.shared_state import MemoryState
from smart_app import oauth
from tests.reliability.conftest import SLACK, make_outbox_due
from tests.reliability.fake_fhir import fake_fhir_server, refused_base

DEADLINE = 0.5  # the shortened deadline under test
BOUND = DEADLINE + 0.1 + SLACK
TRICKLES = ["trickle", "trickle-body"]  # the head a byte / 50 ms; the body a byte / 10 ms


@pytest.fixture(autouse=True)
def _short_deadlines(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISCOVERY_DEADLINE_SECONDS", "TOKEN_DEADLINE_SECONDS"):
        monkeypatch.setattr(oauth, name, DEADLINE)
    monkeypatch.setattr(keysets, "FETCH_DEADLINE_SECONDS", DEADLINE)  # the id_token's keys
    monkeypatch.setattr(outbox, "PUSH_DEADLINE_SECONDS", DEADLINE)


def _client() -> httpx.AsyncClient:
    """As the runtime's client, but with per-read timeouts no trickle can trip."""
    return httpx.AsyncClient(follow_redirects=False, timeout=httpx.Timeout(30.0, connect=2.0))


async def _timed_oauth_error(call: object) -> tuple[str, float]:
    """Await `call` (bounded by the test itself); (the OAuthError's message, seconds)."""
    started = time.perf_counter()
    with pytest.raises(oauth.OAuthError) as caught:
        await asyncio.wait_for(call, BOUND + 5)  # type: ignore[arg-type]
    return str(caught.value), time.perf_counter() - started


async def _discover(iss: str) -> tuple[str, float]:
    async with _client() as http:
        return await _timed_oauth_error(oauth.discover(http, MemoryState(), iss))


@pytest.mark.parametrize("mode", TRICKLES)
async def test_trickling_smart_configuration_cannot_hold_a_launch(
    mode: str, figures: dict[str, float]
) -> None:
    async with fake_fhir_server(mode) as ehr:
        message, seconds = await _discover(ehr.base)
        assert ehr.requests, "the discovery reached the EHR"
    figures[f"smart discovery {mode}"] = seconds
    assert seconds < BOUND
    assert message == (await _discover(refused_base()))[0] == "the EHR could not be reached"


async def _exchange(token_endpoint: str, tmp_path: Path) -> tuple[str, float]:
    registration = EhrRegistration(
        id=uuid.uuid4(), issuer="https://ehr.test", jwks_url="https://ehr.test/jwks"
    )
    async with _client() as http:
        call = oauth.exchange_code(
            http,
            registration,
            client_id="bedside",
            credentials=oauth.ClientCredentials(),  # client_auth none: no secret, no key set
            keys=load_signing_keys(None, tmp_path),
            token_endpoint=token_endpoint,
            code="authorization-code-canary",
            redirect_uri="https://bedside.test/app/callback",
            code_verifier="verifier",
        )
        return await _timed_oauth_error(call)


@pytest.mark.parametrize("mode", TRICKLES)
async def test_trickling_token_endpoint_cannot_hold_a_sign_in(
    mode: str, tmp_path: Path, figures: dict[str, float]
) -> None:
    async with fake_fhir_server(mode) as ehr:
        message, seconds = await _exchange(ehr.base + "/token", tmp_path)
        assert [path for path, _ in ehr.bodies] == ["/fhir/token"], "the code was POSTed"
    figures[f"smart token {mode}"] = seconds
    assert seconds < BOUND
    refused = (await _exchange(refused_base() + "/token", tmp_path))[0]
    assert message == refused == "the EHR's token endpoint could not be reached"


# A token whose header names a key: its signature is never reached (no key set arrives).
_UNVERIFIED_ID_TOKEN = (
    ".".join(
        base64.urlsafe_b64encode(orjson.dumps(part)).rstrip(b"=").decode()
        for part in ({"alg": "ES384", "kid": "k1", "typ": "JWT"}, {"iss": "https://ehr.test"})
    )
    + ".c2ln"
)


async def _validate(jwks_uri: str) -> tuple[str, float]:
    async with _client() as http:
        key_sets = keysets.KeySetCache(http=http, state=MemoryState(), refresh_min_seconds=30)
        call = oauth.validate_id_token(
            key_sets,
            _UNVERIFIED_ID_TOKEN,
            jwks_uri=jwks_uri,
            issuer="https://ehr.test",
            client_id="bedside",
            nonce="nonce",
        )
        return await _timed_oauth_error(call)


@pytest.mark.parametrize("mode", TRICKLES)
async def test_trickling_id_token_key_set_cannot_hold_a_sign_in(
    mode: str, figures: dict[str, float]
) -> None:
    async with fake_fhir_server(mode) as ehr:
        message, seconds = await _validate(ehr.base + "/keys")
    figures[f"smart key set {mode}"] = seconds
    assert seconds < BOUND
    assert message == (await _validate(refused_base() + "/keys"))[0]
    assert message == "the EHR could not be reached"


async def _outbox_with_statements(settings: Settings, count: int) -> None:
    engine = make_engine(settings.resolved_database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            for index in range(count):
                await outbox.enqueue(
                    session,
                    learner="learner-key",
                    event={"verb": "launched", "item_id": f"item-{index}", "title": "t"},
                    event_id=uuid.uuid4(),
                    at=utcnow(),
                )
    finally:
        await engine.dispose()


async def _outbox_rows(settings: Settings) -> list[XapiOutboxItem]:
    engine = make_engine(settings.resolved_database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            return list((await session.scalars(select(XapiOutboxItem))).all())
    finally:
        await engine.dispose()


@pytest.mark.parametrize("mode", TRICKLES)
async def test_trickling_lrs_cannot_hold_the_push_and_loses_nothing(
    settings: Settings, mode: str, figures: dict[str, float]
) -> None:
    await _outbox_with_statements(settings, 3)
    async with fake_fhir_server(mode) as lrs:
        configured = settings.model_copy(update={"lrs_url": f"http://127.0.0.1:{lrs.port}/lrs"})
        started = time.perf_counter()
        report = await asyncio.wait_for(run_push(configured), BOUND + 5)  # per-read 10 s
        seconds = time.perf_counter() - started
        assert lrs.bodies, "the batch reached the LRS"
    figures[f"lrs push {mode}"] = seconds
    assert seconds < BOUND
    assert (report.sent, report.failed, report.pending) == (0, 3, 3)
    rows = await _outbox_rows(configured)
    assert len(rows) == 3
    assert all(row.sent_at is None and row.attempts == 1 for row in rows)
    assert all(row.last_error and "LRS unreachable" in row.last_error for row in rows)
    async with fake_fhir_server("ok") as lrs:  # the LRS is back: everything goes through
        configured = settings.model_copy(update={"lrs_url": f"http://127.0.0.1:{lrs.port}/lrs"})
        await make_outbox_due(configured)
        report = await run_push(configured)
    assert report.sent == 3
    assert len(lrs.bodies) == 1  # one batch
