"""The review queue on the test database: missed questions enqueue once, answering moves the
due date out, another learner's item is not found, a choice off the options is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.cards.library import ContentLibrary
from service.db.engine import make_engine, make_sessionmaker
from service.errors import BadRequest, NotFound
from service.reviews import service as reviews
from tests.smart_app.content import make_case

NOW = datetime(2026, 12, 6, 9, tzinfo=UTC)
LATER = NOW + timedelta(days=2)
CONTENT = ContentLibrary([make_case()])


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[AsyncSession]:
    engine = make_engine(database_url)
    sessions: async_sessionmaker[AsyncSession] = make_sessionmaker(engine)
    async with sessions() as session:
        yield session
        await session.commit()
    await engine.dispose()


async def test_a_missed_question_is_queued_once(db: AsyncSession) -> None:
    assert await reviews.enqueue_missed(db, "alice", "test-case", ["q1", "q2"], NOW) == 2
    assert await reviews.enqueue_missed(db, "alice", "test-case", ["q2"], NOW) == 0
    assert await reviews.enqueue_missed(db, "alice", "test-case", [], NOW) == 0
    assert await reviews.due_reviews(CONTENT, db, "alice", NOW) == []  # a miss is due tomorrow
    due = await reviews.due_reviews(CONTENT, db, "alice", LATER)
    assert sorted(r.question_id for r in due) == ["q1", "q2"]
    first = next(r for r in due if r.question_id == "q1")
    assert first.item_title == "A two-minute screening case"
    assert first.question == "What do you recommend?"
    assert [o.id for o in first.options] == ["a", "b"]


async def test_answering_moves_the_due_date_out(db: AsyncSession) -> None:
    await reviews.enqueue_missed(db, "alice", "test-case", ["q1"], NOW)
    (item,) = await reviews.due_reviews(CONTENT, db, "alice", LATER)
    right = await reviews.answer_review(CONTENT, db, "alice", str(item.id), "a", LATER)
    assert right.correct is True
    assert right.best_answer.id == "a"
    assert right.explanation == "He is in the recommended age range."
    assert right.next_due > LATER
    assert await reviews.due_reviews(CONTENT, db, "alice", LATER) == []
    at = right.next_due
    wrong = await reviews.answer_review(CONTENT, db, "alice", str(item.id), "b", at)
    assert wrong.correct is False
    assert wrong.best_answer.text == "Screen now"
    assert wrong.explanation == "Screening is recommended at his age."
    assert wrong.best_explanation == "He is in the recommended age range."
    assert at < wrong.next_due <= at + timedelta(days=1)


async def test_another_learners_item_is_not_found(db: AsyncSession) -> None:
    await reviews.enqueue_missed(db, "alice", "test-case", ["q1"], NOW)
    (item,) = await reviews.due_reviews(CONTENT, db, "alice", LATER)
    assert await reviews.due_reviews(CONTENT, db, "bob", LATER) == []
    with pytest.raises(NotFound):
        await reviews.get_review(CONTENT, db, "bob", str(item.id))
    with pytest.raises(NotFound):
        await reviews.answer_review(CONTENT, db, "bob", str(item.id), "a", LATER)
    with pytest.raises(NotFound):
        await reviews.get_review(CONTENT, db, "alice", "not-a-uuid")


async def test_a_choice_off_the_options_is_refused(db: AsyncSession) -> None:
    await reviews.enqueue_missed(db, "alice", "test-case", ["q1"], NOW)
    (item,) = await reviews.due_reviews(CONTENT, db, "alice", LATER)
    with pytest.raises(BadRequest):
        await reviews.answer_review(CONTENT, db, "alice", str(item.id), "z", LATER)
    assert len(await reviews.due_reviews(CONTENT, db, "alice", LATER)) == 1


async def test_a_question_gone_from_the_library_drops_out(db: AsyncSession) -> None:
    await reviews.enqueue_missed(db, "alice", "gone-case", ["q1"], NOW)
    assert await reviews.due_reviews(CONTENT, db, "alice", LATER) == []


async def test_answering_again_before_it_is_due_never_moves_the_schedule(
    db: AsyncSession,
) -> None:
    """The feedback page posted again (a reload) gives the feedback but grades once."""
    await reviews.enqueue_missed(db, "alice", "test-case", ["q1"], NOW)
    (item,) = await reviews.due_reviews(CONTENT, db, "alice", LATER)
    first = await reviews.answer_review(CONTENT, db, "alice", str(item.id), "a", LATER)
    again = await reviews.answer_review(CONTENT, db, "alice", str(item.id), "b", LATER)
    assert again.correct is False  # the feedback still says so
    assert again.next_due == first.next_due  # but the schedule did not move
