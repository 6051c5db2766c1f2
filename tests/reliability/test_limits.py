"""Request limits and outbound timeouts: the body cap (413, declared and streamed), the JSON
depth cap, the per-issuer rate limit (429 with Retry-After), and a deadline on every outbound
call (JWKS, FHIR, LRS) whatever the peer does."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from service.credit import outbox
from service.credit.jobs import run_push
from service.db.base import utcnow
from service.db.engine import make_engine, make_sessionmaker, transaction
from service.ehr.keysets import FETCH_TIMEOUT
from service.settings import Settings
from tests.hooks.jwt_factory import FakeEhr
from tests.reliability.conftest import SLACK, AppUnderTest, make_outbox_due, running_app
from tests.reliability.fake_fhir import fake_fhir_server
from tests.reliability.hostile import valid_body

TEN_MB = 10 * 1024 * 1024


def _headers(app: AppUnderTest, **extra: str) -> dict[str, str]:
    return {
        "Authorization": app.ehr.bearer(app.url()),
        "Content-Type": "application/json",
        **extra,
    }


async def test_declared_oversized_body_is_413(app_with_fhir: AppUnderTest) -> None:
    body = b'{"hook": "patient-view", "pad": "' + b"x" * TEN_MB + b'"}'
    response = await app_with_fhir.http.post(
        "/cds-services/bedside-patient-view", content=body, headers=_headers(app_with_fhir)
    )
    assert response.status_code == 413


async def test_streamed_oversized_body_is_413(app_with_fhir: AppUnderTest) -> None:
    async def chunks() -> AsyncIterator[bytes]:  # chunked: no Content-Length to trust
        yield b'{"hook": "patient-view", "pad": "'
        for _ in range(10):
            yield b"x" * (1024 * 1024)
        yield b'"}'

    response = await app_with_fhir.http.post(
        "/cds-services/bedside-patient-view", content=chunks(), headers=_headers(app_with_fhir)
    )
    assert response.status_code == 413


@pytest.mark.parametrize("length", ["-1", "abc", "99999999999999999999"])
async def test_nonsense_content_length_is_refused(app_with_fhir: AppUnderTest, length: str) -> None:
    transport = httpx.ASGITransport(app=app_with_fhir.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://bedside.test") as http:
        request = http.build_request(
            "POST",
            "/cds-services/bedside-patient-view",
            content=b"{}",
            headers=_headers(app_with_fhir),
        )
        request.headers["Content-Length"] = length
        response = await http.send(request)
    assert response.status_code == 413


async def test_a_body_just_under_the_cap_is_parsed(app_with_fhir: AppUnderTest) -> None:
    body = valid_body("patient-view")
    cap = app_with_fhir.app.state.runtime.settings.max_body_bytes
    body["padding"] = "x" * (cap - len(json.dumps(body)) - 100)
    response = await app_with_fhir.post(body)
    assert response.status_code == 200


@pytest.mark.parametrize("depth", [1_000, 1_100, 100_000])
async def test_deep_nesting_is_a_fast_400(app_with_fhir: AppUnderTest, depth: int) -> None:
    body = valid_body("patient-view")
    raw = json.dumps(body).encode()
    nested = b"[" * depth + b"]" * depth
    raw = raw[:-1] + b', "deep": ' + nested + b"}"
    started = time.perf_counter()
    response = await app_with_fhir.http.post(
        "/cds-services/bedside-patient-view", content=raw, headers=_headers(app_with_fhir)
    )
    assert response.status_code == (200 if depth < 1024 else 400)
    assert time.perf_counter() - started < 1 + SLACK


async def test_rate_limit_is_per_issuer_with_retry_after(
    reliability_settings: Settings,
) -> None:
    settings = reliability_settings.model_copy(update={"rate_limit_per_minute": 3})
    async with running_app(settings) as app:
        other = FakeEhr(issuer="https://other-ehr.reliability.test")
        other.jwks_url = app.server.jwks_url
        app.server.jwks = {"keys": [*app.ehr.jwks()["keys"], *other.jwks()["keys"]]}
        await other.register(app.app.state.runtime.sessions)
        answers = [(await app.post(valid_body("patient-view"))) for _ in range(5)]
        statuses = [r.status_code for r in answers]
        if time.time() % 60 > 58:  # the window rolled over mid-test: too close to call
            pytest.skip("minute window boundary")
        assert statuses[:3] == [200, 200, 200]
        assert statuses[3:] == [429, 429]
        retry_after = answers[3].headers.get("Retry-After")
        assert retry_after is not None
        assert retry_after.isdigit()
        assert 1 <= int(retry_after) <= 60
        response = await app.http.post(
            "/cds-services/bedside-patient-view",
            content=json.dumps(valid_body("patient-view")),
            headers={
                "Authorization": other.bearer(app.url()),
                "Content-Type": "application/json",
            },
        )
        assert response.status_code == 200  # another issuer has its own budget


async def test_runtime_http_client_has_every_timeout(app_with_fhir: AppUnderTest) -> None:
    runtime = app_with_fhir.app.state.runtime
    timeout: httpx.Timeout = runtime.http.timeout
    assert None not in (timeout.connect, timeout.read, timeout.write, timeout.pool)
    assert runtime.http.follow_redirects is False


async def _cold_call(app: AppUnderTest, limit: float = 8) -> tuple[int, float]:
    """A hook call that needs the key set (none cached yet), bounded by the test itself."""
    started = time.perf_counter()
    try:
        response = await asyncio.wait_for(app.post(valid_body("patient-view")), limit)
    except TimeoutError:
        return 0, time.perf_counter() - started
    return response.status_code, time.perf_counter() - started


@pytest.mark.parametrize("mode", ["hang", "slow:10000", "status:503", "invalid-json", "huge"])
async def test_jwks_endpoint_down_on_a_cold_cache_is_a_prompt_401(
    app_with_fhir: AppUnderTest, mode: str, figures: dict[str, float]
) -> None:
    app_with_fhir.server.jwks_mode = mode
    status, seconds = await _cold_call(app_with_fhir)
    figures[f"jwks cold {mode}"] = seconds
    assert status == 401
    assert seconds < (FETCH_TIMEOUT.read or 0) + SLACK


async def test_trickling_jwks_endpoint_cannot_hold_a_hook_call(
    app_with_fhir: AppUnderTest,
) -> None:
    app_with_fhir.server.jwks_mode = "trickle-body"
    status, seconds = await _cold_call(app_with_fhir, limit=(FETCH_TIMEOUT.read or 0) + SLACK + 1)
    assert status == 401
    assert seconds < (FETCH_TIMEOUT.read or 0) + SLACK


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


@pytest.mark.parametrize(
    "mode",
    ["status:503", "status:500", "reset", "close", pytest.param("hang", marks=pytest.mark.slow)],
)
async def test_a_down_lrs_loses_no_statement(
    settings: Settings, mode: str, figures: dict[str, float]
) -> None:
    await _outbox_with_statements(settings, 3)
    async with fake_fhir_server(mode) as lrs:
        configured = settings.model_copy(update={"lrs_url": f"http://127.0.0.1:{lrs.port}/lrs"})
        started = time.perf_counter()
        report = await asyncio.wait_for(run_push(configured), 20)
        figures[f"lrs push {mode}"] = time.perf_counter() - started
        assert lrs.requests, "the push reached the LRS"
    if mode == "hang":
        assert time.perf_counter() - started < 10 + SLACK  # jobs.py: timeout=10.0
    assert report.sent == 0
    assert report.failed == 3
    async with fake_fhir_server("ok") as lrs:  # the LRS is back: everything goes through
        configured = settings.model_copy(update={"lrs_url": f"http://127.0.0.1:{lrs.port}/lrs"})
        await make_outbox_due(configured)
        report = await run_push(configured)
    assert report.sent == 3
