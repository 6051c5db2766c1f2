"""Failing neighbours: the prefetch fallback against a FHIR server on loopback that is slow,
refuses, resets, trickles, fails, lies about JSON, floods 50 MB or redirects.

Pass: `complete_prefetch` returns or raises PrefetchUnavailable (412) within the deadline plus
100 ms (asserted with CI slack; real figures in docs/reliability.md), never hangs, never raises
anything else, never follows a redirect with the token; the circuit breaker stops calling a
dead server. Through the app: the hook answers within the same bound, never 5xx.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from service.hooks.discovery import PATIENT_DATA_PREFETCH
from service.hooks.prefetch import (
    CircuitBreaker,
    FhirAccess,
    PrefetchUnavailable,
    complete_prefetch,
)
from tests.reliability.conftest import DEADLINE, SLACK, AppUnderTest
from tests.reliability.fake_fhir import (
    FAILURE_MODES,
    FakeFhirServer,
    fake_fhir_server,
    refused_base,
)

CONTEXT = {"userId": "Practitioner/pr-1", "patientId": "p1"}
TOKEN = "fhir-access-token-canary-77"
SUCCEEDS = {"slow:200", "slow:1000"}  # under the 1.5 s deadline: the data arrives


async def _prefetch(
    base: str, breaker: CircuitBreaker | None = None, deadline: float = DEADLINE
) -> tuple[str, float]:
    """Run the fallback fetch of every key; ('ok'|'412', seconds)."""
    async with httpx.AsyncClient(
        follow_redirects=False, timeout=httpx.Timeout(5.0, connect=2.0)
    ) as http:
        started = time.perf_counter()
        try:
            result = await complete_prefetch(
                http,
                PATIENT_DATA_PREFETCH,
                CONTEXT,
                {},
                FhirAccess(base=base, token=TOKEN),
                deadline_seconds=deadline,
                breaker=breaker or CircuitBreaker(),
            )
        except PrefetchUnavailable as exc:
            return str(exc.status_code), time.perf_counter() - started
        assert set(result) == set(PATIENT_DATA_PREFETCH)
        return "ok", time.perf_counter() - started


@pytest.mark.parametrize("mode", FAILURE_MODES)
async def test_prefetch_against_a_failing_server(
    mode: str, record_property: Any, figures: dict[str, float]
) -> None:
    async with fake_fhir_server(mode) as server:
        outcome, seconds = await _prefetch(server.base)
    figures[f"prefetch {mode}"] = seconds
    record_property("seconds", round(seconds, 3))
    assert outcome == ("ok" if mode in SUCCEEDS else "412")
    assert seconds < DEADLINE + 0.1 + SLACK
    _never_followed_redirect(server)


async def test_prefetch_against_a_refusing_server(figures: dict[str, float]) -> None:
    outcome, seconds = await _prefetch(refused_base())
    figures["prefetch refused"] = seconds
    assert outcome == "412"
    assert seconds < DEADLINE + 0.1 + SLACK


def _never_followed_redirect(server: FakeFhirServer) -> None:
    assert not [path for path, _ in server.requests if path.startswith("/elsewhere")]


async def test_redirect_target_never_sees_the_token() -> None:
    async with fake_fhir_server("redirect") as server:
        outcome, _ = await _prefetch(server.base)
    assert outcome == "412"
    assert server.fhir_requests() == len(PATIENT_DATA_PREFETCH)
    assert all(auth == f"Bearer {TOKEN}" for path, auth in server.requests)
    _never_followed_redirect(server)


async def test_circuit_breaker_stops_calling_a_dead_server() -> None:
    breaker = CircuitBreaker(threshold=3, cooldown_seconds=60)
    async with fake_fhir_server("status:503") as server:
        for _ in range(3):
            assert (await _prefetch(server.base, breaker))[0] == "412"
        seen = server.fhir_requests()
        assert seen == 3 * len(PATIENT_DATA_PREFETCH)
        for _ in range(20):  # open: refused at once, no request reaches the server
            outcome, seconds = await _prefetch(server.base, breaker)
            assert outcome == "412"
            assert seconds < 0.05 + SLACK
        assert server.fhir_requests() == seen


async def test_circuit_breaker_closes_again_after_the_cooldown() -> None:
    breaker = CircuitBreaker(threshold=1, cooldown_seconds=0.3)
    async with fake_fhir_server("status:500") as server:
        assert (await _prefetch(server.base, breaker))[0] == "412"
        assert not breaker.allows(server.base)
        seen = server.fhir_requests()
        time.sleep(0.35)  # the breaker's cooldown runs on the monotonic clock
        server.mode = "ok"  # the server recovered: calls resume
        assert (await _prefetch(server.base, breaker))[0] == "ok"
        assert server.fhir_requests() == seen + len(PATIENT_DATA_PREFETCH)


async def test_circuit_breaker_opens_on_timeouts(figures: dict[str, float]) -> None:
    breaker = CircuitBreaker(threshold=2, cooldown_seconds=30)
    async with fake_fhir_server("hang") as server:
        for _ in range(2):
            await _prefetch(server.base, breaker, deadline=0.3)
        connections = server.connections
        outcome, seconds = await _prefetch(server.base, breaker, deadline=0.3)
    figures["prefetch breaker open"] = seconds
    assert outcome == "412"
    assert server.connections == connections


@pytest.mark.parametrize("mode", [*FAILURE_MODES, "refused"])
async def test_hook_answers_in_time_whatever_the_fhir_server_does(
    mode: str, app_with_fhir: AppUnderTest, figures: dict[str, float]
) -> None:
    app_with_fhir.fresh_breaker()
    if mode == "refused":
        assert (await app_with_fhir.call_full_prefetch()).status_code == 200  # keys cached
        await app_with_fhir.server.stop()
    else:
        app_with_fhir.server.mode = mode
    response, seconds = await app_with_fhir.call_missing_prefetch()
    figures[f"hook {mode}"] = seconds
    assert response.status_code == (200 if mode in SUCCEEDS else 412), response.text
    assert seconds < DEADLINE + 0.1 + SLACK
    if response.status_code == 412:
        assert response.json()["resourceType"] == "OperationOutcome"
    _never_followed_redirect(app_with_fhir.server)


async def test_hook_with_an_open_breaker_answers_412_at_once(app_with_fhir: AppUnderTest) -> None:
    app_with_fhir.fresh_breaker(threshold=1)
    app_with_fhir.server.mode = "status:500"
    assert (await app_with_fhir.call_missing_prefetch())[0].status_code == 412
    before = app_with_fhir.server.fhir_requests()
    response, seconds = await app_with_fhir.call_missing_prefetch()
    assert response.status_code == 412
    assert app_with_fhir.server.fhir_requests() == before
    assert seconds < 0.1 + SLACK


async def test_jwks_down_does_not_break_calls_with_cached_keys(
    app_with_fhir: AppUnderTest,
) -> None:
    app_with_fhir.fresh_breaker()
    app_with_fhir.server.mode = "ok"
    assert (await app_with_fhir.call_full_prefetch()).status_code == 200  # keys now cached
    await app_with_fhir.server.stop()  # JWKS (and FHIR) endpoint gone
    for _ in range(3):
        assert (await app_with_fhir.call_full_prefetch()).status_code == 200
