"""The issued-card writer: shutdown writes what is buffered and always ends, even when it is
asked to stop in the same moment as a batch wakes the writer (Python 3.11's `wait_for` can
swallow a cancellation then, and an earlier writer ran on forever: CI hung at shutdown)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db.engine import make_engine, make_sessionmaker
from service.memory.models import IssuedCard
from service.memory.recorder import FLUSH_BATCH, CardRecorder, IssuedCardRecord
from service.settings import Settings


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(settings.resolved_database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


def _records(count: int) -> list[IssuedCardRecord]:
    now = datetime.now(UTC)
    return [
        IssuedCardRecord(
            uuid=uuid.uuid4(),
            item_id="statin-primary-prevention",
            item_version="1",
            learner="Practitioner/1",
            service_id="bedside-patient-view",
            hook="patient-view",
            hook_instance=str(uuid.uuid4()),
            issuer="https://ehr.example.org",
            tenant=None,
            issued_at=now,
        )
        for _ in range(count)
    ]


async def _stored(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(IssuedCard)) or 0)


async def _closed_within(recorder: CardRecorder, seconds: float) -> bool:
    """Whether close() ended by itself (asyncio.wait, unlike wait_for, never cancels it: a
    cancellation would stop a stuck writer and hide the hang)."""
    closing = asyncio.ensure_future(recorder.close())
    done, _ = await asyncio.wait({closing}, timeout=seconds)
    if not done:
        closing.cancel()
        await asyncio.gather(closing, return_exceptions=True)
        return False
    await closing
    return True


async def test_closing_writes_what_is_buffered(sessions: async_sessionmaker[AsyncSession]) -> None:
    recorder = CardRecorder(sessions)
    recorder.start()
    recorder.record(_records(3))  # below a batch: waits for the interval
    assert await _closed_within(recorder, seconds=10)
    assert await _stored(sessions) == 3
    assert recorder.pending() == ()


@pytest.mark.parametrize("yields", range(6))
async def test_closing_as_a_batch_wakes_the_writer_still_ends(
    sessions: async_sessionmaker[AsyncSession], yields: int
) -> None:
    recorder = CardRecorder(sessions)
    recorder.start()
    await asyncio.sleep(0)  # the writer is waiting for a batch
    recorder.record(_records(FLUSH_BATCH))  # a full batch wakes the writer...
    for _ in range(yields):
        await asyncio.sleep(0)
    assert await _closed_within(recorder, seconds=10)  # ...as it is told to stop
    assert await _stored(sessions) == FLUSH_BATCH
