"""The worker's copy of learner states: what it keeps, what makes it let go, and that workers
sharing a channel (memory or Redis) drop each other's changed learners."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
import redis

from service.cards import LearnerState
from service.memory.cache import LearnerStates
from service.shared_state import MemoryState, RedisState, SharedState

AT = datetime(2021, 4, 1, 12, tzinfo=UTC)
STATE = LearnerState(specialty="cardiology")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def listening(
    state: SharedState | None = None, *, ttl: float = 600, clock: Callable[[], float] | None = None
) -> LearnerStates:
    """A cache as if its channel were subscribed (the follow loop is tested separately)."""
    states = LearnerStates(state or MemoryState(), ttl_seconds=ttl, clock=clock or Clock())
    states._subscribed()
    return states


def test_a_stored_state_is_answered_until_it_expires() -> None:
    clock = Clock()
    states = listening(clock=clock)
    states.put("L", STATE, states.begin_load())
    assert states.get("L") is STATE
    clock.now = 600
    assert states.get("L") is STATE
    clock.now = 600.5
    assert states.get("L") is None


def test_nothing_is_kept_when_disabled_or_before_the_channel_listens() -> None:
    disabled = listening(ttl=0)
    disabled.put("L", STATE, disabled.begin_load())
    assert disabled.get("L") is None
    deaf = LearnerStates(MemoryState(), ttl_seconds=600)
    deaf.put("L", STATE, deaf.begin_load())
    assert deaf.get("L") is None


def test_a_load_overtaken_by_a_change_is_not_stored() -> None:
    states = listening()
    token = states.begin_load()
    states.forget(["L"])  # committed while the load was reading
    states.put("L", STATE, token)
    assert states.get("L") is None
    states.put("M", STATE, token)  # another learner's load is unaffected
    assert states.get("M") is STATE
    states.put("L", STATE, states.begin_load())  # a load begun after the change is kept
    assert states.get("L") is STATE


def test_a_load_overtaken_by_a_card_this_worker_issued_is_not_stored() -> None:
    states = listening()
    token = states.begin_load()
    states.shown("L", AT, ["item-a"])
    states.put("L", STATE, token)
    assert states.get("L") is None


def test_issued_cards_are_written_through() -> None:
    states = listening()
    states.put("L", STATE, states.begin_load())
    states.shown("L", AT, ["item-a", "item-b"])
    kept = states.get("L")
    assert kept is not None
    assert dict(kept.recently_shown) == {"item-a": AT, "item-b": AT}
    assert kept.specialty == "cardiology"
    assert STATE.recently_shown == {}  # the state a concurrent call holds is not mutated


def test_a_recall_card_is_written_through_as_the_last_recall() -> None:
    states = listening()
    states.put("L", STATE, states.begin_load())
    states.recalled("L", AT)
    states.recalled("L", AT - timedelta(hours=1))  # an older one never moves it back
    kept = states.get("L")
    assert kept is not None
    assert kept.last_recall_at == AT
    assert kept.recently_shown == {}  # its item is not shown: the repeat window ignores it
    assert STATE.last_recall_at is None


def test_a_load_overtaken_by_a_recall_card_this_worker_issued_is_not_stored() -> None:
    states = listening()
    token = states.begin_load()
    states.recalled("L", AT)
    states.put("L", STATE, token)  # it may have read the state before the recall card
    assert states.get("L") is None


def test_the_least_recently_used_learner_goes_first() -> None:
    states = LearnerStates(MemoryState(), ttl_seconds=600, max_learners=2, clock=Clock())
    states._subscribed()
    for learner in ("A", "B"):
        states.put(learner, STATE, states.begin_load())
    assert states.get("A") is STATE
    states.put("C", STATE, states.begin_load())
    assert states.get("B") is None
    assert states.get("A") is STATE
    assert states.get("C") is STATE


def test_a_pruned_invalidation_still_rejects_older_loads() -> None:
    states = LearnerStates(MemoryState(), ttl_seconds=600, max_learners=2, clock=Clock())
    states._subscribed()
    token = states.begin_load()
    states.forget(["L"])
    states.forget(["M", "N"])  # L's record is pruned from the bounded invalidation log
    states.put("L", STATE, token)
    assert states.get("L") is None


def test_announcements_from_other_workers_drop_learners_and_own_ones_do_not() -> None:
    states = listening()
    for learner in ("L", "M"):
        states.put(learner, STATE, states.begin_load())
    states._receive(b'{"node": "elsewhere", "learners": ["L"]}')
    states._receive(b'{"node": "' + states._node.encode() + b'", "learners": ["M"]}')
    states._receive(b"not json")
    states._receive(b'{"learners": ["M"]}')
    assert states.get("L") is None
    assert states.get("M") is STATE


async def _eventually(check: Callable[[], bool]) -> None:
    for _ in range(200):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached within 2 s")


@asynccontextmanager
async def _two_workers(
    shared: tuple[SharedState, SharedState],
) -> AsyncIterator[tuple[LearnerStates, LearnerStates]]:
    first, second = (LearnerStates(state, ttl_seconds=600) for state in shared)
    tasks = [asyncio.create_task(w.follow()) for w in (first, second)]
    await _eventually(lambda: first._listening and second._listening)
    try:
        yield first, second
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await first.close()
        await second.close()


async def _changes_cross(shared: tuple[SharedState, SharedState]) -> None:
    async with _two_workers(shared) as (first, second):
        for w in (first, second):
            w.put("L", STATE, w.begin_load())
            w.put("M", STATE, w.begin_load())
        first.changed(["L"])
        assert first.get("L") is None  # at once in the worker that committed
        await _eventually(lambda: second.get("L") is None)
        assert second.get("M") is STATE
        second.announce(["M"])  # cards flushed by the second: the first drops, it keeps
        await _eventually(lambda: first.get("M") is None)
        assert second.get("M") is STATE


async def test_workers_sharing_memory_state_drop_each_others_changes() -> None:
    state = MemoryState()
    await _changes_cross((state, state))


async def test_workers_sharing_redis_drop_each_others_changes(redis_url: str) -> None:
    states = (RedisState(redis_url), RedisState(redis_url))
    try:
        await _changes_cross(states)
    finally:
        for state in states:
            await state.close()


async def test_a_lost_redis_subscription_clears_the_cache_and_resubscribes(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("service.memory.cache.RESUBSCRIBE_SECONDS", 0.3)
    state = RedisState(redis_url)
    states = LearnerStates(state, ttl_seconds=600)
    task = asyncio.create_task(states.follow())
    try:
        await _eventually(lambda: states._listening)
        states.put("L", STATE, states.begin_load())
        assert states.get("L") is STATE
        admin = redis.Redis.from_url(redis_url)
        assert admin.client_kill_filter(_type="pubsub") >= 1
        admin.close()
        await _eventually(lambda: not states._listening)  # no silent reconnect
        assert states.get("L") is None  # cleared at once: announcements may be missed
        states.put("L", STATE, states.begin_load())
        assert states.get("L") is None  # and nothing stored until subscribed again
        await _eventually(lambda: states._listening)
        states.put("L", STATE, states.begin_load())
        assert states.get("L") is STATE
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await state.close()
