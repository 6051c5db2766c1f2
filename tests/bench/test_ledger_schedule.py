"""The ledger benchmark's schedule: every cycle claimed once, the claims in flight together
from different learners, and one in ten retried from the other process at the same point."""

from __future__ import annotations

from collections import Counter

from bench.ledger import CONCURRENCY, CYCLES_PER_LEARNER, _schedule


def _pairs(learners: int) -> list[tuple[str, str]]:
    """As `_prepare` returns them: each learner's cycles next to each other."""
    return [
        (f"learner-{n // CYCLES_PER_LEARNER}", f"cycle-{n}")
        for n in range(learners * CYCLES_PER_LEARNER)
    ]


def test_every_cycle_is_claimed_and_one_in_ten_twice_from_both_processes() -> None:
    pairs = _pairs(200)
    halves, retries = _schedule(pairs)
    claimed = Counter(pair for half in halves for pair in half)
    assert set(claimed) == set(pairs)
    assert len(retries) == len(pairs) // 10
    assert {pair for pair, n in claimed.items() if n == 2} == set(retries)
    assert all(n in (1, 2) for n in claimed.values())
    for pair in retries:
        assert pair in halves[0]  # the retry races from the other side
        assert pair in halves[1]


def test_a_retry_is_queued_where_its_original_is() -> None:
    halves, retries = _schedule(_pairs(200))
    for pair in retries:
        positions = [half.index(pair) for half in halves]
        assert abs(positions[0] - positions[1]) <= 1


def test_the_claims_in_flight_together_are_different_learners() -> None:
    """Any CONCURRENCY consecutive claims of a queue: no learner twice (a retry repeats its
    own claim, which is the same learner and cycle, not another claim)."""
    halves, _ = _schedule(_pairs(200))
    for half in halves:
        for start in range(len(half) - CONCURRENCY):
            claims = set(half[start : start + CONCURRENCY])
            assert len({learner for learner, _ in claims}) == len(claims)
