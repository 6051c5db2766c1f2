"""The learner's own practice summary: per measure, before and after learning summed over
months, the date of the first completed cycle on the item, sorted by title; no one else's."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.cards.library import ContentLibrary
from service.credit.models import LearningCycle
from service.db.engine import make_engine, make_sessionmaker, transaction
from service.memory import practice
from service.memory.models import PracticeTally
from service.memory.practice import AFTER, BEFORE, MeasurePractice, Tally, practice_summary
from service.settings import Settings
from tests.cards.factories import make_item

Sessions = async_sessionmaker[AsyncSession]
LEARNER = "learner-key-a"


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[Sessions]:
    engine = make_engine(settings.resolved_database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def _tally(
    session: AsyncSession, learner: str, item: str, month: str, phase: str, counts: tuple[int, int]
) -> None:
    session.add(
        PracticeTally(
            learner=learner,
            measure_id=item,
            item_id=item,
            month=month,
            phase=phase,
            opportunities=counts[0],
            concordant=counts[1],
            updated_at=datetime.now(UTC),
        )
    )


async def _cycle(
    session: AsyncSession, learner: str, item: str, status: str, done: datetime | None
) -> None:
    started = datetime(2026, 1, 2, tzinfo=UTC)
    session.add(
        LearningCycle(
            id=uuid.uuid4(),
            learner=learner,
            card_uuid=None,
            item_id=item,
            item_version="1",
            item_type="guideline",
            title=item,
            credit_format="poc",
            source_citation="A source",
            status=status,
            started_at=started,
            updated_at=started,
            completed_at=done if status != "pending" else None,
            claimed_at=done if status == "claimed" else None,
        )
    )


async def test_the_summary_sums_months_per_phase_and_dates_the_learning(
    sessions: Sessions,
) -> None:
    async with transaction(sessions) as session:
        await _tally(session, LEARNER, "statin", "2026-01", BEFORE, (4, 1))
        await _tally(session, LEARNER, "statin", "2026-02", BEFORE, (3, 1))
        await _tally(session, LEARNER, "statin", "2026-02", AFTER, (2, 2))
        await _tally(session, LEARNER, "statin", "2026-03", AFTER, (5, 4))
        await _tally(session, LEARNER, "naloxone", "2026-03", BEFORE, (2, 0))
        await _tally(session, "learner-key-b", "statin", "2026-03", AFTER, (9, 9))
        await _cycle(session, LEARNER, "statin", "complete", datetime(2026, 2, 14, 23, tzinfo=UTC))
        await _cycle(session, LEARNER, "statin", "claimed", datetime(2026, 2, 20, tzinfo=UTC))
        await _cycle(session, LEARNER, "naloxone", "pending", None)
        await _cycle(
            session, "learner-key-b", "statin", "complete", datetime(2026, 1, 5, tzinfo=UTC)
        )
    library = ContentLibrary(
        [
            make_item(id="statin", title="Statins for primary prevention"),
            make_item(id="naloxone", title="Naloxone with opioids"),
        ]
    )
    async with sessions() as session:
        summary = await practice_summary(session, LEARNER, library)
    assert summary == [
        MeasurePractice("naloxone", "Naloxone with opioids", Tally(2, 0), Tally(0, 0), None),
        MeasurePractice(
            "statin",
            "Statins for primary prevention",
            Tally(7, 2),
            Tally(7, 6),
            date(2026, 2, 14),
        ),
    ]


async def test_a_learner_with_no_counts_has_an_empty_summary(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        await _tally(session, "learner-key-b", "statin", "2026-03", BEFORE, (1, 1))
    async with sessions() as session:
        assert await practice_summary(session, LEARNER) == []


def test_a_measure_is_named_by_its_title_else_its_item_then_its_id() -> None:
    block = {"conditions": {"any_of": {"icd10": ["E11"]}}}
    measure = {
        "title": "Statin offered when indicated",
        "hooks": ["patient-view"],
        "opportunity": block,
        "concordant": block,
    }
    library = ContentLibrary(
        [
            make_item(id="statin", title="Statins for primary prevention"),
            make_item(id="measured", title="An item with a measure", measure=measure),
        ]
    )
    assert practice.measure_title(library, "measured") == "Statin offered when indicated"
    assert practice.measure_title(library, "statin") == "Statins for primary prevention"
    assert practice.measure_title(library, "gone") == "gone"
    assert practice.measure_title(None, "statin") == "statin"
