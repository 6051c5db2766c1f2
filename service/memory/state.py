"""What this learner has seen, dismissed, snoozed or learned, what they asked to focus on and
what their review queue holds: the input of the fatigue policy, the ranking and the recall
card.

Small indexed Core queries in one UNION, one round trip on one connection (the hook's hot
path: no ORM session, no per-row objects): the learner's card history aggregated per item
and purpose in SQL, the items learned, the profile (profession, specialty, learning goals),
the review queue's rows (missed, unsure, mastered and due questions). Cards still in the
recorder's buffer count as issued too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import (
    CompoundSelect,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import BindParameter

from service.cards import LearnerState
from service.cards.ranking import ReviewDue
from service.credit.models import LearnerProfile, LearningCycle
from service.memory.models import CardFeedback, IssuedCard
from service.memory.recorder import RECALL, IssuedCardRecord
from service.reviews.models import ReviewItem
from service.reviews.service import MASTERED_STREAK

# The credit profile's professions, in the content library's audience vocabulary.
AUDIENCE_PROFESSION = {
    "physician-md": "physician",
    "physician-do": "physician",
    "registered-nurse": "nurse",
    "nurse-practitioner": "nurse-practitioner",
    "physician-assistant": "physician-assistant",
    "pharmacist": "pharmacist",
}
SNOOZE_CODE = "snooze"
SNOOZE_DAYS = 30
DISMISS_DAYS = 365


# The kinds of row the one state query returns (a literal column: short on purpose).
SHOWN = "h"  # the card history of one item and purpose: when last shown, dismissed, snoozed
LEARNED = "l"  # an item the learner completed a cycle on
PROFILE = "p"  # the profile's profession, specialty and learning goals
REVIEW = "r"  # one question of the learner's review queue

_OVERRIDDEN = CardFeedback.outcome == "overridden"
_IS_SNOOZE = func.coalesce(CardFeedback.override_reason_code, "") == SNOOZE_CODE
_LEARNER: BindParameter[str] = bindparam("learner", type_=String())


def _nulls(count: int) -> list[Any]:
    return [null()] * count


# One round trip (each costs ~0.5 ms through aiosqlite): the card history aggregated per item
# and purpose, the items learned, the profile, and the review queue, each row tagged by its
# kind. Columns: kind, key, at, flag, at2, text, question, review id, goals (what each kind
# puts in them: `load_learner_state`). Recall cards are grouped apart: they neither hide an
# item for the repeat window nor count as its dismissal.
_STATE: CompoundSelect[Any] = union_all(
    select(
        literal_column(f"'{SHOWN}'").label("kind"),
        IssuedCard.item_id.label("key"),
        func.max(IssuedCard.issued_at).label("at"),
        func.max(case((and_(_OVERRIDDEN, ~_IS_SNOOZE), 1), else_=0)).label("flag"),
        func.max(case((and_(_OVERRIDDEN, _IS_SNOOZE), CardFeedback.outcome_timestamp))).label(
            "at2"
        ),
        IssuedCard.purpose.label("text"),
        null().label("question"),
        null().label("review"),
        null().label("goals"),
    )
    .outerjoin(CardFeedback, CardFeedback.card_uuid == IssuedCard.uuid)
    .where(IssuedCard.learner == _LEARNER, IssuedCard.issued_at >= bindparam("since"))
    .group_by(IssuedCard.item_id, IssuedCard.purpose),
    select(literal_column(f"'{LEARNED}'"), LearningCycle.item_id, *_nulls(7)).where(
        LearningCycle.learner == _LEARNER, LearningCycle.status.in_(("complete", "claimed"))
    ),
    select(
        literal_column(f"'{PROFILE}'"),
        LearnerProfile.profession,
        *_nulls(3),
        LearnerProfile.specialty,
        *_nulls(2),
        cast(LearnerProfile.learning_goals, String),  # as text: a NULL before it is text
    ).where(LearnerProfile.learner == _LEARNER),
    select(
        literal_column(f"'{REVIEW}'"),
        ReviewItem.item_id,
        ReviewItem.created_at,
        ReviewItem.good_streak,
        ReviewItem.due,
        ReviewItem.reason,
        ReviewItem.question_id,
        cast(ReviewItem.id, String),
        null(),
    ).where(ReviewItem.learner == _LEARNER),
)


@dataclass
class _Queue:
    """The review queue's rows, folded per item: when it last went to the queue, whether its
    open questions are all unsure, whether all its questions are mastered, and its longest
    overdue question due at `now`."""

    queued: dict[str, datetime] = field(default_factory=dict)
    missed: set[str] = field(default_factory=set)  # items with an open question missed
    open: set[str] = field(default_factory=set)  # items with a question not mastered
    questions: list[tuple[str, ReviewDue]] = field(default_factory=list)

    def add(self, item_id: str, queued_at: datetime, streak: int, due: datetime, *ids: str) -> None:
        reason, question_id, review_id = ids
        self.queued[item_id] = max(queued_at, self.queued.get(item_id, queued_at))
        if streak >= MASTERED_STREAK:
            return
        self.open.add(item_id)
        if reason != "unsure":
            self.missed.add(item_id)
        review = ReviewDue(str(uuid.UUID(review_id)), question_id, reason, queued_at, due)
        self.questions.append((item_id, review))

    def due(self, now: datetime) -> dict[str, ReviewDue]:
        found: dict[str, ReviewDue] = {}
        for item_id, review in sorted(self.questions, key=lambda q: (q[1].due, q[1].review_id)):
            if review.due <= now and item_id not in found:
                found[item_id] = review
        return found


@dataclass
class _Rows:
    """The state being read, row by row."""

    shown: dict[str, datetime] = field(default_factory=dict)
    dismissed: set[str] = field(default_factory=set)
    snoozed: dict[str, datetime] = field(default_factory=dict)
    learned: set[str] = field(default_factory=set)
    profession: str | None = None
    specialty: str | None = None
    goals: frozenset[str] = frozenset()
    last_recall_at: datetime | None = None
    queue: _Queue = field(default_factory=_Queue)

    def add(self, row: Sequence[Any]) -> None:
        kind, key, at, flag, at2, text, question, review, goals = row
        if kind == LEARNED:
            self.learned.add(key)
        elif kind == PROFILE:
            self.profession, self.specialty, self.goals = key, text, _goals(goals)
        elif kind == REVIEW:
            self.queue.add(key, _aware(at), int(flag), _aware(at2), text, question, review)
        elif text == RECALL:
            self.recalled(_aware(at))
        else:
            self.shown[key] = _aware(at)
            if flag:
                self.dismissed.add(key)
            elif at2 is not None:
                self.snoozed[key] = _aware(at2) + timedelta(days=SNOOZE_DAYS)

    def recalled(self, at: datetime) -> None:
        self.last_recall_at = at if self.last_recall_at is None else max(at, self.last_recall_at)

    def pending(self, learner: str, records: Iterable[IssuedCardRecord]) -> None:
        """Cards still in the recorder's buffer count as issued."""
        for record in records:
            if record.learner != learner:
                continue
            if record.purpose == RECALL:
                self.recalled(record.issued_at)
            else:
                previous = self.shown.get(record.item_id, record.issued_at)
                self.shown[record.item_id] = max(record.issued_at, previous)


async def load_learner_state(
    connection: AsyncConnection,
    learner: str,
    *,
    now: datetime,
    repeat_window_days: int,
    pending: tuple[IssuedCardRecord, ...] = (),
) -> LearnerState:
    """The hook's view of this learner, as of `now`."""
    since = now - timedelta(days=max(repeat_window_days, DISMISS_DAYS))
    read = _Rows()
    for row in await connection.execute(_STATE, {"learner": learner, "since": since}):
        read.add(row)
    read.pending(learner, pending)
    queue = read.queue
    return LearnerState(
        recently_shown=read.shown,
        dismissed=frozenset(read.dismissed),
        snoozed_until=read.snoozed,
        learned=frozenset(read.learned),
        specialty=read.specialty,
        profession=AUDIENCE_PROFESSION.get(read.profession or ""),
        goals=read.goals,
        missed=queue.queued,
        unsure=frozenset(queue.open - queue.missed),
        mastered=frozenset(set(queue.queued) - queue.open),
        due_reviews=queue.due(now),
        last_recall_at=read.last_recall_at,
    )


def _goals(value: object) -> frozenset[str]:
    """The profile's learning goals: a JSON list, read as text."""
    if isinstance(value, str | bytes):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return frozenset()
    if not isinstance(value, list):
        return frozenset()
    return frozenset(goal for goal in value if isinstance(goal, str))


def _aware(value: datetime | str) -> datetime:
    """Union columns lose the UTC column type on some dialects: normalise to aware UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
