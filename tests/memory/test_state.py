"""The learner state the hook reads in one round trip: card history (recall cards apart), items
learned, the profile (profession, specialty, learning goals) and the review queue (missed,
unsure, mastered, due), on SQLite and on PostgreSQL (`BEDSIDE_TEST_DATABASE_URL`)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service.credit.models import LearnerProfile, LearningCycle
from service.db.engine import make_engine, make_sessionmaker
from service.memory.models import CardFeedback, IssuedCard
from service.memory.recorder import RECALL, IssuedCardRecord
from service.memory.state import load_learner_state
from service.reviews.models import ReviewItem
from service.settings import Settings

ME, OTHER = "learner-me", "learner-other"


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(settings.resolved_database_url)
    yield engine
    await engine.dispose()


def _now() -> datetime:
    return datetime(2026, 12, 6, 12, tzinfo=UTC)


def _card(learner: str, item_id: str, at: datetime, purpose: str = "learn") -> IssuedCard:
    return IssuedCard(
        uuid=uuid.uuid4(),
        item_id=item_id,
        item_version="1",
        learner=learner,
        service_id="bedside-patient-view",
        hook="patient-view",
        hook_instance=str(uuid.uuid4()),
        issuer="https://ehr.example.org",
        tenant=None,
        issued_at=at,
        purpose=purpose,
    )


def _review(learner: str, item_id: str, question: str, **values: Any) -> ReviewItem:
    now = _now()
    row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "state": {},
        "due": now + timedelta(days=3),
        "created_at": now - timedelta(days=9),
        "last_review": now - timedelta(days=9),
        "reason": "missed",
        "good_streak": 0,
        **values,
    }
    return ReviewItem(learner=learner, item_id=item_id, question_id=question, **row)


def _cycle(learner: str, item_id: str, status: str) -> LearningCycle:
    now = _now()
    return LearningCycle(
        learner=learner,
        item_id=item_id,
        item_version="1",
        item_type="guideline",
        title="T",
        credit_format="poc",
        source_citation="S",
        status=status,
        started_at=now,
        updated_at=now,
    )


async def _store(engine: AsyncEngine, *rows: Any) -> None:
    async with make_sessionmaker(engine)() as session, session.begin():
        session.add_all(rows)


async def _state(engine: AsyncEngine, *pending: IssuedCardRecord) -> Any:
    async with engine.connect() as connection:
        return await load_learner_state(
            connection, ME, now=_now(), repeat_window_days=30, pending=pending
        )


async def test_the_review_queue_folds_into_missed_unsure_mastered_and_due(
    engine: AsyncEngine,
) -> None:
    now = _now()
    due_early = _review(ME, "case-a", "q1", due=now - timedelta(days=2))
    due_late = _review(ME, "case-a", "q2", due=now - timedelta(hours=1), reason="unsure")
    await _store(
        engine,
        due_early,
        due_late,
        # case-b: only an unsure mark, due later
        _review(ME, "case-b", "q1", reason="unsure", created_at=now - timedelta(days=2)),
        # case-c: both questions answered well twice: mastered, never due
        _review(ME, "case-c", "q1", good_streak=2, due=now - timedelta(days=1)),
        _review(ME, "case-c", "q2", good_streak=3),
        # case-d: one mastered, one still open (answered well once)
        _review(ME, "case-d", "q1", good_streak=2),
        _review(ME, "case-d", "q2", good_streak=1, created_at=now - timedelta(days=1)),
        _review(OTHER, "case-e", "q1", due=now - timedelta(days=5)),
    )
    state = await _state(engine)
    assert state.missed == {
        "case-a": now - timedelta(days=9),
        "case-b": now - timedelta(days=2),
        "case-c": now - timedelta(days=9),
        "case-d": now - timedelta(days=1),
    }
    assert state.unsure == {"case-b"}
    assert state.mastered == {"case-c"}
    assert set(state.due_reviews) == {"case-a"}
    due = state.due_reviews["case-a"]
    assert (due.review_id, due.question_id, due.reason) == (str(due_early.id), "q1", "missed")
    assert (due.queued_at, due.due) == (now - timedelta(days=9), now - timedelta(days=2))


async def test_goals_profile_history_and_the_last_recall(engine: AsyncEngine) -> None:
    now = _now()
    snoozed = _card(ME, "snoozed", now - timedelta(days=3))
    dismissed_recall = _card(ME, "recalled-item", now - timedelta(hours=30), RECALL)
    await _store(
        engine,
        LearnerProfile(
            learner=ME,
            profession="physician-md",
            specialty="cardiology",
            learning_goals=["diabetes", "kidney"],
        ),
        LearnerProfile(learner=OTHER, learning_goals=["lipids"]),
        _card(ME, "shown", now - timedelta(days=40)),
        snoozed,
        dismissed_recall,
        _card(ME, "recalled-item", now - timedelta(hours=50), RECALL),
        _card(OTHER, "other-recall", now - timedelta(hours=1), RECALL),
        _cycle(ME, "learned", "complete"),
        _cycle(ME, "started", "pending"),
    )
    await _store(
        engine,
        CardFeedback(
            card_uuid=snoozed.uuid,
            outcome="overridden",
            outcome_timestamp=now - timedelta(days=3),
            override_reason_code="snooze",
        ),
        # "not relevant" on a recall card: it dismisses no item
        CardFeedback(
            card_uuid=dismissed_recall.uuid,
            outcome="overridden",
            outcome_timestamp=now - timedelta(hours=29),
            override_reason_code="not-relevant",
        ),
    )
    state = await _state(engine)
    assert state.goals == {"diabetes", "kidney"}
    assert (state.profession, state.specialty) == ("physician", "cardiology")
    assert state.recently_shown == {
        "shown": now - timedelta(days=40),
        "snoozed": now - timedelta(days=3),
    }
    assert state.dismissed == frozenset()
    assert state.snoozed_until == {"snoozed": now - timedelta(days=3) + timedelta(days=30)}
    assert state.learned == {"learned"}
    assert state.last_recall_at == now - timedelta(hours=30)
    assert state.due_reviews == {}


async def test_buffered_cards_count_recall_apart(engine: AsyncEngine) -> None:
    now = _now()

    def record(learner: str, item_id: str, at: datetime, purpose: str = "learn") -> Any:
        card = _card(learner, item_id, at, purpose)
        fields = {c.key: getattr(card, c.key) for c in IssuedCard.__table__.columns}
        return IssuedCardRecord(**fields)

    await _store(engine, _card(ME, "recalled", now - timedelta(days=2), RECALL))
    state = await _state(
        engine,
        record(ME, "fresh", now),
        record(ME, "recalled", now - timedelta(minutes=5), RECALL),
        record(OTHER, "theirs", now, RECALL),
    )
    assert state.recently_shown == {"fresh": now}
    assert state.last_recall_at == now - timedelta(minutes=5)


async def test_a_new_learner_has_an_empty_state(engine: AsyncEngine) -> None:
    state = await _state(engine)
    assert (state.goals, state.missed, state.mastered, state.due_reviews) == (
        frozenset(),
        {},
        frozenset(),
        {},
    )
    assert state.last_recall_at is None
    assert state.profession is None
