"""The learner memory's face for the hook service: what a learner was shown, dismissed,
snoozed or learned, their goals and review queue, kept in the worker and remembered in the
database.

The credit service never calls it: a unit of work that changes what the hook knows of a
learner marks the learner (`service/db/changes.py: learner_changed`) and this memory hears
of it after the commit. Only pseudonymous learner keys, item ids and times; never a patient.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.cards import LearnerState
from service.db.changes import on_learners_changed
from service.memory.cache import LearnerStates
from service.memory.charts import ChartMemory
from service.memory.feedback import FeedbackEvent, record_feedback
from service.memory.practice import PracticeRecorder
from service.memory.recorder import RECALL, CardRecorder, IssuedCardRecord
from service.memory.state import load_learner_state
from service.shared_state import SharedState


class LearnerMemory:
    """One per worker: the kept states, the issued-card writer and the feedback store."""

    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        state: SharedState,
        *,
        cache_seconds: float,
        repeat_window_days: int,
    ) -> None:
        self._engine = engine
        self._repeat_window_days = repeat_window_days
        self.states = LearnerStates(state, ttl_seconds=cache_seconds)
        self.recorder = CardRecorder(sessions, on_flushed=self.states.announce)
        self.charts = ChartMemory()  # what each recent chart showed (reopened: the same cards)
        # what the learner did when a practice measure applied (counts only: practice.py)
        self.practice = PracticeRecorder(sessions)
        on_learners_changed(sessions, self.states.changed)

    async def state_of(self, learner: str, now: datetime) -> LearnerState:
        """From the worker's copy when it has one, else one database read (then kept)."""
        state = self.states.get(learner)
        if state is not None:
            return state
        token = self.states.begin_load()
        async with self._engine.connect() as connection:
            state = await load_learner_state(
                connection,
                learner,
                now=now,
                repeat_window_days=self._repeat_window_days,
                pending=self.recorder.pending(),
            )
        self.states.put(learner, state, token)
        return state

    def remember(
        self,
        learner: str,
        now: datetime,
        records: Sequence[IssuedCardRecord],
        *,
        chart: bytes | None = None,
    ) -> None:
        """Cards just issued to `learner` (on `chart`, a `charts.chart_key`): written in the
        background, kept as shown now (a recall card: as the last recall, neither shown on
        the chart nor as its item)."""
        learn = [record.item_id for record in records if record.purpose != RECALL]
        if chart is not None:
            self.charts.remember(chart, learn)
        if not records:
            return
        self.recorder.record(list(records))
        if learn:
            self.states.shown(learner, now, learn)
        if len(learn) < len(records):
            self.states.recalled(learner, now)

    async def record_feedback(
        self,
        session: AsyncSession,
        events: Sequence[FeedbackEvent],
        *,
        issuer: str,
        tenant: str | None,
    ) -> int:
        """Store feedback on issued cards; returns how many events were new."""
        await self.recorder.flush()  # a card issued moments ago may still be buffered
        return await record_feedback(session, events, issuer=issuer, tenant=tenant)

    def start(self) -> None:
        self.recorder.start()
        self.practice.start()

    async def follow(self) -> None:
        """Hear the other workers' changes until cancelled (a background job)."""
        await self.states.follow()

    async def close(self) -> None:
        await self.recorder.close()
        await self.practice.close()
        await self.states.close()
