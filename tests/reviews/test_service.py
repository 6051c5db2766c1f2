"""The review queue on the test database (SQLite, or PostgreSQL with
BEDSIDE_TEST_DATABASE_URL): missed and unsure questions enqueue once, answering moves the due
date out, two right answers in a row master a question (it leaves the queue), another
learner's item is not found, a choice off the options is refused, and every change to the
queue marks the learner changed for the hook."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.cards.library import ContentLibrary
from service.db.changes import on_learners_changed
from service.db.engine import make_engine, make_sessionmaker
from service.errors import BadRequest, NotFound
from service.reviews import service as reviews
from service.reviews.models import ReviewItem
from tests.smart_app.content import make_case

NOW = datetime(2026, 12, 6, 9, tzinfo=UTC)
LATER = NOW + timedelta(days=2)
CONTENT = ContentLibrary([make_case()])


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def db(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session
        await session.commit()


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


async def _one_due(db: AsyncSession, at: datetime) -> reviews.DueReview:
    (item,) = await reviews.due_reviews(CONTENT, db, "alice", at)
    return item


async def test_a_right_answer_marked_unsure_is_queued_unsure(db: AsyncSession) -> None:
    added = await reviews.enqueue_answers(
        db, "alice", "test-case", missed=["q2"], unsure=["q1"], now=NOW
    )
    assert added == 2
    due = {r.question_id: r for r in await reviews.due_reviews(CONTENT, db, "alice", LATER)}
    assert (due["q1"].reason, due["q2"].reason) == ("unsure", "missed")
    assert due["q1"].queued_at == NOW
    assert due["q1"].due > due["q2"].due  # recalled with doubt comes back after a miss
    assert (due["q1"].good_streak, due["q2"].good_streak) == (0, 0)


async def test_a_question_missed_and_marked_unsure_is_missed(db: AsyncSession) -> None:
    await reviews.enqueue_answers(db, "alice", "test-case", missed=["q1"], unsure=["q1"], now=NOW)
    assert (await _one_due(db, LATER)).reason == "missed"


async def test_queueing_is_idempotent_whatever_the_new_reason(db: AsyncSession) -> None:
    """The same answers saved again, or a later attempt, never queue a question twice."""
    await reviews.enqueue_answers(db, "alice", "test-case", missed=[], unsure=["q1"], now=NOW)
    again = await reviews.enqueue_answers(
        db, "alice", "test-case", missed=["q1"], unsure=[], now=LATER
    )
    assert again == 0
    item = await _one_due(db, LATER + timedelta(days=1))
    assert (item.reason, item.queued_at) == ("unsure", NOW)


async def test_two_right_answers_in_a_row_master_a_question(db: AsyncSession) -> None:
    await reviews.enqueue_missed(db, "alice", "test-case", ["q1"], NOW)
    item = await _one_due(db, LATER)
    first = await reviews.answer_review(CONTENT, db, "alice", str(item.id), "a", LATER)
    assert (first.good_streak, first.mastered) == (1, False)
    at = first.next_due
    second = await reviews.answer_review(CONTENT, db, "alice", str(item.id), "a", at)
    assert (second.good_streak, second.mastered) == (2, True)
    # mastered: never due again, however late
    assert await reviews.due_reviews(CONTENT, db, "alice", at + timedelta(days=3650)) == []
    assert await reviews.count_due(CONTENT, db, "alice", at + timedelta(days=3650)) == 0
    # its page still answers, as feedback only
    later = second.next_due + timedelta(days=1)
    replay = await reviews.answer_review(CONTENT, db, "alice", str(item.id), "b", later)
    assert (replay.correct, replay.good_streak, replay.mastered) == (False, 2, True)
    assert replay.next_due == second.next_due


async def test_a_wrong_answer_starts_the_streak_again(db: AsyncSession) -> None:
    await reviews.enqueue_missed(db, "alice", "test-case", ["q1"], NOW)
    item = await _one_due(db, LATER)
    right = await reviews.answer_review(CONTENT, db, "alice", str(item.id), "a", LATER)
    wrong = await reviews.answer_review(CONTENT, db, "alice", str(item.id), "b", right.next_due)
    assert (wrong.good_streak, wrong.mastered) == (0, False)
    right = await reviews.answer_review(CONTENT, db, "alice", str(item.id), "a", wrong.next_due)
    assert (right.good_streak, right.mastered) == (1, False)  # one in a row, not two
    assert len(await reviews.due_reviews(CONTENT, db, "alice", right.next_due)) == 1


async def test_an_answer_posted_again_before_it_is_due_counts_once(db: AsyncSession) -> None:
    await reviews.enqueue_missed(db, "alice", "test-case", ["q1"], NOW)
    item = await _one_due(db, LATER)
    first = await reviews.answer_review(CONTENT, db, "alice", str(item.id), "a", LATER)
    again = await reviews.answer_review(CONTENT, db, "alice", str(item.id), "a", LATER)
    assert (again.good_streak, again.mastered, again.next_due) == (1, False, first.next_due)


async def test_two_posts_of_one_answer_at_once_are_graded_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Two requests read the question while it is due: the first grade stands, the second
    is feedback only (it neither overwrites the first nor counts again)."""
    async with sessions() as setup:
        await reviews.enqueue_missed(setup, "alice", "test-case", ["q1"], NOW)
        await setup.commit()
        review_id = str((await _one_due(setup, LATER)).id)
    async with sessions() as slow, sessions() as fast:
        # the slow request has read the row while due (and holds it, as a request in flight)
        held = await slow.get(ReviewItem, uuid.UUID(review_id))
        assert held is not None
        first = await reviews.answer_review(CONTENT, fast, "alice", review_id, "b", LATER)
        await fast.commit()
        late = await reviews.answer_review(CONTENT, slow, "alice", review_id, "a", LATER)
        await slow.commit()
        assert held.good_streak == 0
    assert late.correct is True  # its own feedback
    assert (late.good_streak, late.next_due) == (0, first.next_due)  # but the first grade
    async with sessions() as check:
        row = await reviews.get_review(CONTENT, check, "alice", review_id)
    assert (row.good_streak, row.due) == (0, first.next_due)


async def test_queue_changes_mark_the_learner_changed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The hook keeps each learner's due and mastered items: it must hear of each change."""
    heard: list[set[str]] = []
    on_learners_changed(sessions, heard.append)

    async def unit_of_work(*steps: str) -> set[str]:
        heard.clear()
        async with sessions() as db:
            for step in steps:
                if step == "enqueue":
                    await reviews.enqueue_missed(db, "alice", "test-case", ["q1"], NOW)
                else:
                    item = await reviews.get_review(CONTENT, db, "alice", review_id)
                    await reviews.answer_review(CONTENT, db, "alice", str(item.id), "a", LATER)
            await db.commit()
        await asyncio.sleep(0)
        return set().union(*heard)

    assert await unit_of_work("enqueue") == {"alice"}
    async with sessions() as db:
        review_id = str((await _one_due(db, LATER)).id)
    assert await unit_of_work("enqueue") == set()  # already queued: nothing changed
    assert await unit_of_work("answer") == {"alice"}  # graded: due date and streak moved
    assert await unit_of_work("answer") == set()  # posted again before due: feedback only


def _cases(count: int) -> ContentLibrary:
    return ContentLibrary([make_case(id=f"case-{n:02}") for n in range(count)])


async def test_the_count_is_exact_up_to_the_cap_then_says_more(db: AsyncSession) -> None:
    content = _cases(26)  # two questions each
    for n in range(25):
        await reviews.enqueue_missed(db, "alice", f"case-{n:02}", ["q1", "q2"], NOW)
    assert await reviews.count_due(content, db, "alice", LATER) == 50
    assert reviews.count_label(await reviews.count_due(content, db, "alice", LATER)) == "50"
    await reviews.enqueue_missed(db, "alice", "case-25", ["q1"], NOW)
    assert reviews.count_label(await reviews.count_due(content, db, "alice", LATER)) == "50+"
    # questions the library no longer has never count
    fewer = _cases(20)
    assert await reviews.count_due(fewer, db, "alice", LATER) == 40
    assert await reviews.count_due(content, db, "alice", NOW) == 0  # none due yet


def test_count_labels() -> None:
    assert [reviews.count_label(n) for n in (0, 1, 49, 50, 51, 400)] == [
        "0",
        "1",
        "49",
        "50",
        "50+",
        "50+",
    ]


def test_why_a_question_is_in_the_queue_in_plain_words() -> None:
    queued = datetime(2026, 11, 27, 22, tzinfo=UTC)
    today = date(2026, 12, 6)
    assert reviews.why_queued("missed", queued, today) == "You missed this on 27 Nov."
    assert reviews.why_queued("unsure", queued, today) == "You marked this unsure on 27 Nov."
    next_year = date(2027, 1, 3)
    assert reviews.why_queued("missed", queued, next_year) == "You missed this on 27 Nov 2026."
