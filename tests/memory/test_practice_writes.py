"""Practice counts are written in batches by a background task (a full batch wakes it, close
writes what is left, a failed write keeps the counts) and added in SQL, on SQLite and on
PostgreSQL: two workers flushing the same rows at once on PostgreSQL lose no count and do not
deadlock (each writes its rows in key order)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.cards.measures import PracticeObservation as Seen
from service.db.engine import make_engine, make_sessionmaker
from service.db.migrate import upgrade
from service.memory import practice
from service.memory.models import PracticeTally
from service.memory.practice import AFTER, BEFORE, FLUSH_BATCH, PracticeRecorder
from service.settings import Settings

Sessions = async_sessionmaker[AsyncSession]
LEARNER = "learner-key-a"
CANARY = "Patient/CANARY-7f3a9c"  # a patient id that must never be kept
ITEMS = ("aspirin", "naloxone", "statin")
LEARNERS = ("learner-a", "learner-b", "learner-c")


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[Sessions]:
    engine = make_engine(settings.resolved_database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


def _at(day: str, time: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{time}:00+00:00")


async def _stored(sessions: Sessions) -> dict[tuple[str, str, str, str], tuple[int, int]]:
    async with sessions() as session:
        rows = await session.execute(select(PracticeTally))
        return {
            (t.learner, t.measure_id, t.month, t.phase): (t.opportunities, t.concordant)
            for t in rows.scalars()
        }


async def test_flush_adds_to_the_stored_counts(sessions: Sessions) -> None:
    recorder = PracticeRecorder(sessions)
    at = _at("2026-03-10")
    recorder.observe(LEARNER, at, [Seen("statin", True), Seen("aspirin", False)], frozenset(), "P1")
    await recorder.flush()
    assert recorder.pending() == {}
    recorder.observe(LEARNER, at, [Seen("statin", False)], frozenset(), "P2")
    recorder.observe(LEARNER, at, [Seen("statin", True)], frozenset({"statin"}), "P3")
    await recorder.flush()
    assert await _stored(sessions) == {
        (LEARNER, "statin", "2026-03", BEFORE): (2, 1),
        (LEARNER, "aspirin", "2026-03", BEFORE): (1, 0),
        (LEARNER, "statin", "2026-03", AFTER): (1, 1),
    }
    async with sessions() as session:
        row = (await session.execute(select(PracticeTally).limit(1))).scalar_one()
        assert row.item_id == row.measure_id
        assert row.published_at is None


async def test_an_upgrade_after_a_flush_adds_the_concordant_action_only(
    sessions: Sessions,
) -> None:
    recorder = PracticeRecorder(sessions)
    at = _at("2026-03-10")
    recorder.observe(LEARNER, at, [Seen("statin", False)], frozenset(), "P1")
    await recorder.flush()
    recorder.observe(LEARNER, at, [Seen("statin", True)], frozenset(), "P1")
    assert recorder.pending() == {(LEARNER, "statin", "2026-03", BEFORE): (0, 1)}
    await recorder.flush()
    assert await _stored(sessions) == {(LEARNER, "statin", "2026-03", BEFORE): (1, 1)}


async def _closed_within(recorder: PracticeRecorder, seconds: float) -> bool:
    """Whether close() ended by itself (asyncio.wait never cancels it)."""
    closing = asyncio.ensure_future(recorder.close())
    done, _ = await asyncio.wait({closing}, timeout=seconds)
    if not done:
        closing.cancel()
        await asyncio.gather(closing, return_exceptions=True)
        return False
    await closing
    return True


async def test_below_a_batch_nothing_is_written_until_close(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(practice, "FLUSH_INTERVAL_SECONDS", 60.0)
    recorder = PracticeRecorder(sessions)
    recorder.start()
    recorder.observe(LEARNER, _at("2026-03-10"), [Seen("statin", True)], frozenset(), "P1")
    await asyncio.sleep(0.05)
    assert await _stored(sessions) == {}  # batched: not written per call
    assert await _closed_within(recorder, seconds=10)
    assert await _stored(sessions) == {(LEARNER, "statin", "2026-03", BEFORE): (1, 1)}
    assert recorder.pending() == {}


async def test_a_full_batch_wakes_the_writer(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(practice, "FLUSH_INTERVAL_SECONDS", 60.0)
    recorder = PracticeRecorder(sessions)
    recorder.start()
    await asyncio.sleep(0)
    at = _at("2026-03-10")
    for index in range(FLUSH_BATCH):
        recorder.observe(f"learner-{index}", at, [Seen("statin", True)], frozenset(), "P1")
    for _ in range(200):  # up to 10 s on a busy machine; the interval alone would take 60
        if len(await _stored(sessions)) == FLUSH_BATCH:
            break
        await asyncio.sleep(0.05)
    assert len(await _stored(sessions)) == FLUSH_BATCH
    assert await _closed_within(recorder, seconds=10)


async def test_closing_as_a_batch_wakes_the_writer_still_ends(sessions: Sessions) -> None:
    recorder = PracticeRecorder(sessions)
    recorder.start()
    await asyncio.sleep(0)
    at = _at("2026-03-10")
    for index in range(FLUSH_BATCH):
        recorder.observe(f"learner-{index}", at, [Seen("statin", False)], frozenset(), "P1")
    assert await _closed_within(recorder, seconds=10)
    assert len(await _stored(sessions)) == FLUSH_BATCH


async def test_a_failed_write_keeps_the_counts_for_the_next_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'unmigrated.db'}")  # no practice_tally table
    try:
        recorder = PracticeRecorder(make_sessionmaker(engine))
        at = _at("2026-03-10")
        recorder.observe(LEARNER, at, [Seen("statin", True)], frozenset(), CANARY)
        with caplog.at_level(logging.ERROR, logger="bedside.memory.practice"):
            await recorder.flush()
        assert "writing practice counts failed" in caplog.text
        assert "CANARY" not in caplog.text
        recorder.observe(LEARNER, at, [Seen("statin", False)], frozenset(), "P2")
        assert recorder.pending() == {(LEARNER, "statin", "2026-03", BEFORE): (2, 1)}
    finally:
        await engine.dispose()


def test_rows_are_written_in_key_order() -> None:
    """Two workers lock the rows of their batches in the same order: no deadlock."""
    batch = {
        ("b", "statin", "2026-03", BEFORE): [1, 0],
        ("a", "statin", "2026-03", AFTER): [1, 1],
        ("a", "statin", "2026-03", BEFORE): [2, 1],
    }
    rows = practice.tally_rows(batch, _at("2026-03-10"))
    keys = [(r["learner"], r["measure_id"], r["month"], r["phase"]) for r in rows]
    assert keys == sorted(batch)


# --- both dialects, and two workers at once --------------------------------------------------


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def any_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database of each dialect, whatever the run targets."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        return url
    url = f"sqlite:///{tmp_path / 'practice.db'}"
    upgrade(url)
    return url


async def test_a_batch_adds_to_existing_rows(any_database: str) -> None:
    engine = make_engine(any_database)
    sessions = make_sessionmaker(engine)
    try:
        first, second = PracticeRecorder(sessions), PracticeRecorder(sessions)
        nine, ten = _at("2026-03-10", "09:00"), _at("2026-03-10", "10:00")
        first.observe("learner-a", nine, [Seen("statin", True)], frozenset(), "P1")
        first.observe("learner-a", nine, [Seen("statin", False)], frozenset(), "P2")
        await first.flush()
        # another worker: its own repeat-visit set, so P1 is an opportunity there too
        second.observe("learner-a", ten, [Seen("statin", True)], frozenset(), "P1")
        second.observe("learner-a", ten, [Seen("statin", True)], frozenset({"statin"}), "P3")
        await second.flush()
        assert await _stored(sessions) == {
            ("learner-a", "statin", "2026-03", BEFORE): (3, 2),
            ("learner-a", "statin", "2026-03", AFTER): (1, 1),
        }
    finally:
        await engine.dispose()


@pytest.fixture
async def two_workers(postgres_url: str) -> AsyncIterator[tuple[Sessions, Sessions]]:
    """Two workers' engines on the same PostgreSQL database."""
    engines = [make_engine(postgres_url), make_engine(postgres_url)]
    yield make_sessionmaker(engines[0]), make_sessionmaker(engines[1])
    for engine in engines:
        await engine.dispose()


def _count_calls(recorder: PracticeRecorder, round_: int, reverse: bool) -> None:
    """Nine keys (3 learners x 3 items), observed in opposite orders by the two workers;
    each call a new patient, so every call is an opportunity."""
    keys = [(learner, item) for learner in LEARNERS for item in ITEMS]
    at = _at("2026-03-10", "09:00")
    for index, (learner, item) in enumerate(reversed(keys) if reverse else keys):
        for visit in range(index + 1):
            patient = f"P-{round_}-{index}-{visit}"
            recorder.observe(learner, at, [Seen(item, visit % 2 == 0)], frozenset(), patient)


@pytest.mark.postgres
async def test_two_workers_flushing_at_once_lose_no_count(
    two_workers: tuple[Sessions, Sessions],
) -> None:
    rounds = 8
    recorders = [PracticeRecorder(two_workers[0]), PracticeRecorder(two_workers[1])]
    expected: dict[tuple[str, str, str, str], list[int]] = {}
    for round_ in range(rounds):
        for recorder, reverse in zip(recorders, (False, True), strict=True):
            _count_calls(recorder, round_, reverse)
            for key, (opportunities, concordant) in recorder.pending().items():
                total = expected.setdefault(key, [0, 0])
                total[0] += opportunities
                total[1] += concordant
        await asyncio.gather(*(recorder.flush() for recorder in recorders))
        assert all(recorder.pending() == {} for recorder in recorders)  # none failed
    stored = await _stored(two_workers[0])
    assert stored == {key: (o, c) for key, (o, c) in expected.items()}
    assert sum(o for o, _ in stored.values()) == rounds * 2 * sum(range(1, 10))
