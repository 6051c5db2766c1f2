"""The prefetch circuit breaker's state machine on an injected clock: closed, open for the
cooldown, then half-open with exactly one trial call whose outcome closes or re-opens it; and
the prefetch engine freeing the trial slot when a trial ends without an outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx
import pytest
import respx

from service.hooks.discovery import PATIENT_DATA_PREFETCH
from service.hooks.prefetch import (
    CircuitBreaker,
    FhirAccess,
    PrefetchUnavailable,
    complete_prefetch,
)

BASE = "https://ehr.example/fhir"
OTHER = "https://other.example/fhir"
COOLDOWN = 30.0
CONTEXT = {"userId": "Practitioner/p1", "patientId": "pat-1"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _opened(clock: FakeClock, threshold: int = 3) -> CircuitBreaker:
    breaker = CircuitBreaker(threshold=threshold, cooldown_seconds=COOLDOWN, clock=clock)
    for _ in range(threshold):
        assert breaker.allows(BASE)
        breaker.record(BASE, ok=False)
    return breaker


def test_closed_until_threshold_failures_in_a_row(clock: FakeClock) -> None:
    breaker = CircuitBreaker(threshold=3, cooldown_seconds=COOLDOWN, clock=clock)
    for _ in range(2):
        breaker.record(BASE, ok=False)
    breaker.record(BASE, ok=True)  # a success resets the count
    for _ in range(2):
        breaker.record(BASE, ok=False)
    assert all(breaker.allows(BASE) for _ in range(10))
    breaker.record(BASE, ok=False)
    assert not breaker.allows(BASE)


def test_open_refuses_everything_for_the_cooldown(clock: FakeClock) -> None:
    breaker = _opened(clock)
    clock.now += COOLDOWN - 0.001
    assert not any(breaker.allows(BASE) for _ in range(10))
    assert breaker.allows(OTHER)  # per FHIR base


def test_half_open_allows_exactly_one_trial(clock: FakeClock) -> None:
    breaker = _opened(clock)
    clock.now += COOLDOWN
    assert breaker.allows(BASE)  # the trial
    assert not any(breaker.allows(BASE) for _ in range(10))  # still in flight
    clock.now += 10 * COOLDOWN  # however long it takes
    assert not breaker.allows(BASE)


def test_trial_success_closes(clock: FakeClock) -> None:
    breaker = _opened(clock, threshold=3)
    clock.now += COOLDOWN
    assert breaker.allows(BASE)
    breaker.record(BASE, ok=True)
    assert all(breaker.allows(BASE) for _ in range(10))
    for _ in range(2):  # closed afresh: the count starts from zero
        breaker.record(BASE, ok=False)
    assert breaker.allows(BASE)
    breaker.record(BASE, ok=False)
    assert not breaker.allows(BASE)


def test_trial_failure_reopens_for_a_full_cooldown(clock: FakeClock) -> None:
    breaker = _opened(clock, threshold=3)
    clock.now += COOLDOWN + 5
    assert breaker.allows(BASE)
    clock.now += 1
    breaker.record(BASE, ok=False)  # one failure is enough while half-open
    assert not breaker.allows(BASE)
    clock.now += COOLDOWN - 0.001
    assert not breaker.allows(BASE)
    clock.now += 0.001
    assert breaker.allows(BASE)  # the next trial
    assert not breaker.allows(BASE)


def test_release_frees_the_trial_slot_and_changes_nothing_else(clock: FakeClock) -> None:
    breaker = _opened(clock)
    clock.now += COOLDOWN
    assert breaker.allows(BASE)
    breaker.release(BASE)
    assert breaker.allows(BASE)  # a new trial, not a closed breaker
    assert not breaker.allows(BASE)
    breaker.release(OTHER)  # releasing a closed base is harmless
    assert breaker.allows(OTHER)


async def _prefetch(
    http: httpx.AsyncClient,
    breaker: CircuitBreaker,
    *,
    templates: Mapping[str, str] = PATIENT_DATA_PREFETCH,
    deadline: float = 1.0,
) -> None:
    await complete_prefetch(
        http,
        templates,
        CONTEXT,
        {},
        FhirAccess(base=BASE, token="access-token-canary"),
        deadline_seconds=deadline,
        breaker=breaker,
    )


async def test_an_unrenderable_trial_frees_the_slot(clock: FakeClock) -> None:
    breaker = _opened(clock)
    clock.now += COOLDOWN
    async with httpx.AsyncClient() as http:
        with pytest.raises(PrefetchUnavailable):
            await _prefetch(http, breaker, templates={"x": "Encounter/{{context.encounterId}}"})
    assert breaker.allows(BASE)  # without release: refused forever
    assert not breaker.allows(BASE)


@respx.mock
async def test_a_cancelled_trial_frees_the_slot(clock: FakeClock) -> None:
    started = asyncio.Event()

    async def hang(_request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    respx.route(host="ehr.example").mock(side_effect=hang)
    breaker = _opened(clock)
    clock.now += COOLDOWN
    async with httpx.AsyncClient() as http:
        trial = asyncio.ensure_future(_prefetch(http, breaker, deadline=60))
        await asyncio.wait_for(started.wait(), 5)
        assert not breaker.allows(BASE)  # the trial is in flight
        trial.cancel()  # e.g. the EHR hung up on the hook call
        with pytest.raises(asyncio.CancelledError):
            await trial
    assert breaker.allows(BASE)
