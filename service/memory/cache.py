"""The worker's copy of each recent learner's state, so that a hook call needs no database read.

The learner-state query was the hook's only database read and its largest cost: ~1.3 ms of CPU
per call on SQLite (aiosqlite's thread hop and SQLAlchemy's execution), four times the parse
floor's whole 50 KB request. A clinician calls again every few minutes, so the state is kept
per learner and kept current instead of re-read:

- cards this worker issues are written through (`shown`, and `recalled` for a recall card)
  as they are recorded;
- a unit of work that changes what the hook knows of a learner (feedback, a cycle's
  completion, the profile) marks it (`service/db/changes.py`); after its commit the entry is
  dropped here and, over the shared state's channel, in every other worker;
- cards issued by another worker reach the database in its recorder's next flush, after which
  it announces the learners (at most ~200 ms, the same lag as reading the database);
- a load that an invalidation overtook is not stored (the epoch check in `put`), and while the
  channel is down nothing is stored at all (messages may have been missed);
- entries expire after BEDSIDE_LEARNER_STATE_CACHE_SECONDS: the backstop for writers outside
  the server (the `bedside` CLI) and for announcements lost in a publish error.

Only pseudonymous learner keys and item ids are held; nothing about a patient.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson

from service.cards import LearnerState
from service.shared_state import SharedState

log = logging.getLogger("bedside.hooks.learner_cache")
CHANNEL = "learner-state"
MAX_LEARNERS = 10_000
RESUBSCRIBE_SECONDS = 1.0


class LearnerStates:
    """Recent learners' states (LRU, bounded), kept current as described above."""

    def __init__(
        self,
        state: SharedState,
        *,
        ttl_seconds: float,
        max_learners: int = MAX_LEARNERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._state = state
        self._ttl = ttl_seconds
        self._max = max_learners
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, LearnerState]] = OrderedDict()
        # Invalidation epochs: a load that began before its learner's last invalidation (or
        # before `_floor`, when that record was pruned or everything was invalidated) is stale.
        self._epoch = 0
        self._floor = 0
        self._invalidated: OrderedDict[str, int] = OrderedDict()
        self._listening = False
        self._node = uuid.uuid4().hex
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        return self._ttl > 0

    def get(self, learner: str) -> LearnerState | None:
        entry = self._entries.get(learner)
        if entry is None:
            return None
        if self._clock() - entry[0] > self._ttl:
            del self._entries[learner]
            return None
        self._entries.move_to_end(learner)
        return entry[1]

    def begin_load(self) -> int:
        """A token for a database load; `put` stores its result only if nothing intervened."""
        return self._epoch

    def put(self, learner: str, state: LearnerState, token: int) -> None:
        if not (self.enabled and self._listening) or token < self._floor:
            return
        if self._invalidated.get(learner, -1) > token:
            return
        self._entries[learner] = (self._clock(), state)
        self._entries.move_to_end(learner)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def shown(self, learner: str, at: datetime, item_ids: Iterable[str]) -> None:
        """Cards this worker just issued (write-through)."""
        self._outdate((learner,))  # a load in flight may have missed them: it must not store
        entry = self._entries.get(learner)
        if entry is None:
            return
        loaded_at, state = entry
        recently_shown = dict(state.recently_shown)
        for item_id in item_ids:
            recently_shown[item_id] = max(at, recently_shown.get(item_id, at))
        self._entries[learner] = (loaded_at, replace(state, recently_shown=recently_shown))

    def recalled(self, learner: str, at: datetime) -> None:
        """A recall card this worker just issued (write-through): none again for a day."""
        self._outdate((learner,))  # a load in flight may have missed it: it must not store
        entry = self._entries.get(learner)
        if entry is None:
            return
        loaded_at, state = entry
        last = state.last_recall_at
        recalled_at = at if last is None else max(at, last)
        self._entries[learner] = (loaded_at, replace(state, last_recall_at=recalled_at))

    def forget(self, learners: Iterable[str]) -> None:
        for learner in self._outdate(learners):
            self._entries.pop(learner, None)

    def clear(self) -> None:
        self._epoch += 1
        self._floor = self._epoch
        self._entries.clear()
        self._invalidated.clear()

    def changed(self, learners: Iterable[str]) -> None:
        """Committed changes to these learners: drop them here and in the other workers."""
        learners = sorted(set(learners))
        self.forget(learners)
        self.announce(learners)

    def announce(self, learners: Iterable[str]) -> None:
        """Tell the other workers (not this one) that these learners' states changed."""
        learners = sorted(set(learners))
        if not (self.enabled and learners):
            return
        task = asyncio.get_running_loop().create_task(self._publish(learners))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def follow(self) -> None:
        """Apply the other workers' announcements until cancelled; resubscribe on errors."""
        while self.enabled:
            try:
                async for message in self._state.listen(CHANNEL, on_subscribed=self._subscribed):
                    self._receive(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the channel is down: nothing cached can be trusted
                log.warning("learner-state channel lost (%s); cache cleared", type(exc).__name__)
            self._listening = False
            self.clear()
            await asyncio.sleep(RESUBSCRIBE_SECONDS)

    async def close(self) -> None:
        self._listening = False
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _subscribed(self) -> None:
        self.clear()  # whatever was announced before the subscription is unknown
        self._listening = True

    def _receive(self, message: bytes) -> None:
        try:
            payload: dict[str, Any] = orjson.loads(message)
            node, learners = payload["node"], payload["learners"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            log.warning("ignoring a malformed learner-state announcement")
            return
        if node != self._node:
            self.forget(str(learner) for learner in learners)

    async def _publish(self, learners: list[str]) -> None:
        message = orjson.dumps({"node": self._node, "learners": learners})
        try:
            await self._state.publish(CHANNEL, message)
        except Exception as exc:  # the other workers catch up when their entries expire
            log.warning("learner-state announcement failed (%s)", type(exc).__name__)

    def _outdate(self, learners: Iterable[str]) -> list[str]:
        self._epoch += 1
        outdated = list(learners)
        for learner in outdated:
            self._invalidated[learner] = self._epoch
            self._invalidated.move_to_end(learner)
        while len(self._invalidated) > self._max:
            _, epoch = self._invalidated.popitem(last=False)
            self._floor = max(self._floor, epoch)
        return outdated
