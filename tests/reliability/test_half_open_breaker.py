"""The half-open circuit breaker against a real failing FHIR server on loopback: after the
cooldown a burst of hook-path prefetches sends exactly one trial call; a dead server re-opens
the breaker at once (not after `threshold` more calls, each up to the deadline), a recovered
one closes it. The breaker's clock is injected: no sleeping through cooldowns."""

from __future__ import annotations

import asyncio

from service.hooks.discovery import PATIENT_DATA_PREFETCH
from service.hooks.prefetch import CircuitBreaker
from tests.reliability.fake_fhir import FakeFhirServer, fake_fhir_server
from tests.reliability.test_failing_fhir import _prefetch

COOLDOWN = 30.0
BURST = 8
KEYS = len(PATIENT_DATA_PREFETCH)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _burst(server: FakeFhirServer, breaker: CircuitBreaker) -> list[str]:
    """BURST concurrent prefetches (the first is the trial while half-open): outcomes."""
    results = await asyncio.gather(*(_prefetch(server.base, breaker) for _ in range(BURST)))
    return [outcome for outcome, _ in results]


async def _open(server: FakeFhirServer, threshold: int) -> tuple[CircuitBreaker, FakeClock]:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=threshold, cooldown_seconds=COOLDOWN, clock=clock)
    for _ in range(threshold):
        assert (await _prefetch(server.base, breaker))[0] == "412"
    assert not breaker.allows(server.base)
    return breaker, clock


async def test_a_dead_server_gets_one_trial_per_cooldown() -> None:
    async with fake_fhir_server("status:503") as server:
        breaker, clock = await _open(server, threshold=2)
        for _ in range(3):
            seen = server.fhir_requests()
            clock.now += COOLDOWN
            assert await _burst(server, breaker) == ["412"] * BURST
            assert server.fhir_requests() == seen + KEYS  # the trial's keys only
            assert not breaker.allows(server.base)  # re-opened by one failure
            clock.now += COOLDOWN - 1
            assert (await _prefetch(server.base, breaker))[0] == "412"
            assert server.fhir_requests() == seen + KEYS


async def test_a_recovered_server_closes_the_breaker_on_the_trial() -> None:
    async with fake_fhir_server("status:500") as server:
        breaker, clock = await _open(server, threshold=3)
        seen = server.fhir_requests()
        server.mode = "slow:200"  # recovered, and the trial is still in flight for a while
        clock.now += COOLDOWN
        outcomes = await _burst(server, breaker)
        assert outcomes == ["ok"] + ["412"] * (BURST - 1)  # the others wait for the verdict
        assert server.fhir_requests() == seen + KEYS
        assert await _burst(server, breaker) == ["ok"] * BURST  # closed
        assert server.fhir_requests() == seen + (1 + BURST) * KEYS
