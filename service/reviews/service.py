"""The review queue: missed and unsure case questions in, due questions out, answers graded,
scheduled and counted toward mastery.

Services `flush()`, never `commit()`. A learner sees only their own items: another learner's
id is not found, exactly like an unknown one. Questions are read from the content library at
answer time; an item or question the library no longer has drops out of the due list.

Mastery: `good_streak` counts right answers in review in a row (a wrong one sets it back to
0). At `MASTERED_STREAK` the question is mastered and is never due again: it leaves the
queue (its row stays, so answering the same case again does not queue it a second time).
Whatever changes the queue or a question's schedule marks the learner changed
(`service/db/changes.py`): the hook keeps each learner's due and mastered items."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Literal, cast

from pydantic import BaseModel
from sqlalchemy import ColumnElement, CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.cards.cases import score_case
from service.cards.library import ContentLibrary
from service.cards.model import ContentItem, Question
from service.db.changes import learner_changed
from service.errors import BadRequest, NotFound
from service.reviews.models import ReviewItem
from service.reviews.scheduler import next_state

Reason = Literal["missed", "unsure"]
MASTERED_STREAK = 2  # right answers in a row in review: the question leaves the queue
HOME_CAP = 50  # the home counts due questions exactly up to this, then says "50+"


class ReviewOption(BaseModel):
    id: str
    text: str


class DueReview(BaseModel):
    """One question to answer again: what the learner sees in 30 seconds, and why it is in
    the queue (`reason`, since `queued_at`)."""

    id: uuid.UUID
    item_id: str
    item_title: str
    question_id: str
    question: str
    options: list[ReviewOption]
    due: datetime
    reason: Reason = "missed"
    queued_at: datetime
    good_streak: int = 0  # right answers in review in a row


class ReviewFeedback(BaseModel):
    """The grade of one review answer, when the question comes back, and whether it is now
    mastered (`good_streak` reached `MASTERED_STREAK`: it leaves the queue)."""

    id: uuid.UUID
    correct: bool
    chosen: ReviewOption
    best_answer: ReviewOption
    explanation: str  # of the chosen option, from the case content
    best_explanation: str  # of the best answer
    next_due: datetime
    good_streak: int
    mastered: bool


async def enqueue_answers(
    db: AsyncSession,
    learner: str,
    item_id: str,
    *,
    missed: Iterable[str],
    unsure: Iterable[str] = (),
    now: datetime,
) -> int:
    """Queue each missed question (FSRS Again) and each right answer marked unsure (Hard),
    once: a question already queued stays as it is, whatever the new answer. A question both
    missed and marked unsure is missed. Returns how many were added."""
    reasons: dict[str, Reason] = dict.fromkeys(unsure, "unsure")
    reasons.update(dict.fromkeys(missed, "missed"))  # a miss wins over an unsure mark
    if not reasons:
        return 0
    known = set(
        await db.scalars(
            select(ReviewItem.question_id).where(
                ReviewItem.learner == learner, ReviewItem.item_id == item_id
            )
        )
    )
    added = 0
    for question_id in sorted(set(reasons) - known):
        reason = reasons[question_id]
        state, due = next_state(None, correct=reason == "unsure", now=now, unsure=True)
        row = ReviewItem(
            learner=learner,
            item_id=item_id,
            question_id=question_id,
            state=state,
            due=due,
            last_review=now,
            reason=reason,
            good_streak=0,
            created_at=now,
        )
        try:
            async with db.begin_nested():  # a concurrent save of the same answers: one wins
                db.add(row)
                await db.flush()
        except IntegrityError:
            continue
        added += 1
    if added:
        learner_changed(db, learner)  # the hook's due reviews and missed topics
    return added


async def enqueue_missed(
    db: AsyncSession, learner: str, item_id: str, question_ids: Iterable[str], now: datetime
) -> int:
    """Each missed question becomes a review item once (`enqueue_answers`, no unsure marks)."""
    return await enqueue_answers(db, learner, item_id, missed=question_ids, now=now)


def _question(content: ContentLibrary, row: ReviewItem) -> tuple[ContentItem, Question] | None:
    return _find(content, row.item_id, row.question_id)


def _find(
    content: ContentLibrary, item_id: str, question_id: str
) -> tuple[ContentItem, Question] | None:
    item = content.get(item_id)
    if item is None or item.case is None:
        return None
    question = next((q for q in item.case.questions if q.id == question_id), None)
    return (item, question) if question is not None else None


def _due_review(row: ReviewItem, item: ContentItem, question: Question) -> DueReview:
    return DueReview(
        id=row.id,
        item_id=item.id,
        item_title=item.title,
        question_id=question.id,
        question=question.stem,
        options=[ReviewOption(id=o.id, text=o.text) for o in question.options],
        due=row.due,
        reason="unsure" if row.reason == "unsure" else "missed",
        queued_at=row.created_at,
        good_streak=row.good_streak,
    )


def is_due(due: datetime, good_streak: int, now: datetime) -> bool:
    """Due: its time has come and it is not mastered (a mastered question is never due)."""
    return due <= now and good_streak < MASTERED_STREAK


def _due_at(learner: str, now: datetime) -> tuple[ColumnElement[bool], ...]:
    """`is_due` in SQL, for one learner."""
    return (
        ReviewItem.learner == learner,
        ReviewItem.due <= now,
        ReviewItem.good_streak < MASTERED_STREAK,
    )


async def due_reviews(
    content: ContentLibrary, db: AsyncSession, learner: str, now: datetime, limit: int = 50
) -> list[DueReview]:
    """The learner's questions due at `now` (mastered ones never are), the longest overdue
    first."""
    rows = await db.scalars(
        select(ReviewItem)
        .where(*_due_at(learner, now))
        .order_by(ReviewItem.due, ReviewItem.id)
        .limit(limit)
    )
    found = []
    for row in rows:
        if (pair := _question(content, row)) is not None:
            found.append(_due_review(row, *pair))
    return found


async def count_due(
    content: ContentLibrary, db: AsyncSession, learner: str, now: datetime, cap: int = HOME_CAP
) -> int:
    """How many questions are due at `now`, exactly up to `cap`; `cap + 1` means more. Only
    questions the library still has count, so the ids are read (two short columns) rather
    than counted in SQL, and reading stops once past the cap."""
    rows = await db.execute(
        select(ReviewItem.item_id, ReviewItem.question_id)
        .where(*_due_at(learner, now))
        .order_by(ReviewItem.due, ReviewItem.id)
    )
    count = 0
    for item_id, question_id in rows:
        if _find(content, item_id, question_id) is not None:
            count += 1
            if count > cap:
                break
    return count


def count_label(count: int, cap: int = HOME_CAP) -> str:
    """The home's "N to review" number: exact up to `cap`, then "50+"."""
    return f"{cap}+" if count > cap else str(count)


def why_queued(reason: str, queued_at: datetime, today: date) -> str:
    """Why a question is in the queue, in plain words: "You missed this on 27 Nov." or "You
    marked this unsure on 27 Nov." (with the year when it is not this year)."""
    day = queued_at.date()
    when = f"{day.day} {day:%b}" + (f" {day.year}" if day.year != today.year else "")
    if reason == "unsure":
        return f"You marked this unsure on {when}."
    return f"You missed this on {when}."


_NOT_YOURS = "That review question was not found in your account."


async def _own(db: AsyncSession, learner: str, review_id: str) -> ReviewItem:
    try:
        wanted = uuid.UUID(review_id)
    except ValueError as exc:
        raise NotFound(_NOT_YOURS) from exc
    row = await db.scalar(
        select(ReviewItem).where(ReviewItem.id == wanted, ReviewItem.learner == learner)
    )
    if row is None:
        raise NotFound(_NOT_YOURS)
    return row


async def get_review(
    content: ContentLibrary, db: AsyncSession, learner: str, review_id: str
) -> DueReview:
    """One of the learner's review questions (due or not); anything else is not found."""
    row = await _own(db, learner, review_id)
    pair = _question(content, row)
    if pair is None:
        raise NotFound("That question is no longer in the library.")
    return _due_review(row, *pair)


async def _grade(db: AsyncSession, row: ReviewItem, correct: bool, now: datetime) -> bool:
    """Schedule the question after one answer and count it toward mastery, in one UPDATE
    that only applies to the row as it was read (its `reviews` count): of two posts of the
    same answer at once, only one is graded. Returns whether this one was."""
    state, due = next_state(row.state, correct, now)
    values: dict[str, Any] = {
        "state": state,
        "due": due,
        "last_review": now,
        "reviews": row.reviews + 1,
        "good_streak": row.good_streak + 1 if correct else 0,
    }
    result = await db.execute(
        update(ReviewItem)
        .where(ReviewItem.id == row.id, ReviewItem.reviews == row.reviews)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await db.refresh(row)  # what was stored: ours, or the answer that won
    return cast(CursorResult[Any], result).rowcount == 1


async def answer_review(
    content: ContentLibrary,
    db: AsyncSession,
    learner: str,
    review_id: str,
    choice: str,
    now: datetime,
) -> ReviewFeedback:
    """Grade a review answer (right: Good, wrong: Again), schedule the question again, count
    it toward mastery (right: `good_streak` + 1, wrong: 0) and say why. A choice that is not
    one of the question's options is a bad request. An answer to a question not due (the
    same form posted again, a reload, a mastered question) is feedback only: it never moves
    the schedule or the streak twice."""
    row = await _own(db, learner, review_id)
    pair = _question(content, row)
    if pair is None:
        raise NotFound("That question is no longer in the library.")
    item, question = pair
    options = {o.id: o for o in question.options}
    if choice not in options:
        raise BadRequest("Choose one of the question's options.")
    result = score_case(item, {question.id: choice})
    graded = next(f for f in result.feedback if f.question_id == question.id)
    if is_due(row.due, row.good_streak, now) and await _grade(db, row, graded.correct, now):
        learner_changed(db, learner)  # its due date, and perhaps its mastery, moved
    chosen, best = options[choice], options[graded.correct_option]
    return ReviewFeedback(
        id=row.id,
        correct=graded.correct,
        chosen=ReviewOption(id=chosen.id, text=chosen.text),
        best_answer=ReviewOption(id=best.id, text=best.text),
        explanation=chosen.explanation,
        best_explanation=best.explanation,
        next_due=row.due,
        good_streak=row.good_streak,
        mastered=row.good_streak >= MASTERED_STREAK,
    )
