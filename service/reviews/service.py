"""The review queue: missed case questions in, due questions out, answers graded and scheduled.

Services `flush()`, never `commit()`. A learner sees only their own items: another learner's
id is not found, exactly like an unknown one. Questions are read from the content library at
answer time; an item or question the library no longer has drops out of the due list."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.cards.cases import score_case
from service.cards.library import ContentLibrary
from service.cards.model import ContentItem, Question
from service.errors import BadRequest, NotFound
from service.reviews.models import ReviewItem
from service.reviews.scheduler import next_state


class ReviewOption(BaseModel):
    id: str
    text: str


class DueReview(BaseModel):
    """One question to answer again: what the learner sees in 30 seconds."""

    id: uuid.UUID
    item_id: str
    item_title: str
    question_id: str
    question: str
    options: list[ReviewOption]
    due: datetime


class ReviewFeedback(BaseModel):
    """The grade of one review answer and when the question comes back."""

    id: uuid.UUID
    correct: bool
    chosen: ReviewOption
    best_answer: ReviewOption
    explanation: str  # of the chosen option, from the case content
    best_explanation: str  # of the best answer
    next_due: datetime


async def enqueue_missed(
    db: AsyncSession, learner: str, item_id: str, question_ids: Iterable[str], now: datetime
) -> int:
    """Each missed question becomes a review item once (a miss is FSRS's Again); a question
    already queued stays as it is. Returns how many were added."""
    wanted = set(question_ids)
    if not wanted:
        return 0
    known = set(
        await db.scalars(
            select(ReviewItem.question_id).where(
                ReviewItem.learner == learner, ReviewItem.item_id == item_id
            )
        )
    )
    added = 0
    for question_id in sorted(wanted - known):
        state, due = next_state(None, correct=False, now=now)
        row = ReviewItem(
            learner=learner,
            item_id=item_id,
            question_id=question_id,
            state=state,
            due=due,
            last_review=now,
        )
        try:
            async with db.begin_nested():  # a concurrent save of the same answers: one wins
                db.add(row)
                await db.flush()
        except IntegrityError:
            continue
        added += 1
    return added


def _question(content: ContentLibrary, row: ReviewItem) -> tuple[ContentItem, Question] | None:
    item = content.get(row.item_id)
    if item is None or item.case is None:
        return None
    question = next((q for q in item.case.questions if q.id == row.question_id), None)
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
    )


async def due_reviews(
    content: ContentLibrary, db: AsyncSession, learner: str, now: datetime, limit: int = 50
) -> list[DueReview]:
    """The learner's questions due at `now`, the longest overdue first."""
    rows = await db.scalars(
        select(ReviewItem)
        .where(ReviewItem.learner == learner, ReviewItem.due <= now)
        .order_by(ReviewItem.due, ReviewItem.id)
        .limit(limit)
    )
    found = []
    for row in rows:
        if (pair := _question(content, row)) is not None:
            found.append(_due_review(row, *pair))
    return found


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


async def answer_review(
    content: ContentLibrary,
    db: AsyncSession,
    learner: str,
    review_id: str,
    choice: str,
    now: datetime,
) -> ReviewFeedback:
    """Grade a review answer (right: Good, wrong: Again), schedule the question again and say
    why. A choice that is not one of the question's options is a bad request. An answer to a
    question not yet due (the same form posted again, a reload) is feedback only: it never
    moves the schedule twice."""
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
    if row.due <= now:
        row.state, row.due = next_state(row.state, graded.correct, now)
        row.last_review, row.reviews = now, row.reviews + 1
        await db.flush()
    chosen, best = options[choice], options[graded.correct_option]
    return ReviewFeedback(
        id=row.id,
        correct=graded.correct,
        chosen=ReviewOption(id=chosen.id, text=chosen.text),
        best_answer=ReviewOption(id=best.id, text=best.text),
        explanation=chosen.explanation,
        best_explanation=best.explanation,
        next_due=row.due,
    )
