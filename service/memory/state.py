"""What this learner has seen, dismissed, snoozed or learned: the input of the fatigue policy.

Three small indexed Core queries on one connection (the hook's hot path: no ORM session, no
per-row objects): the learner's card history aggregated per item in SQL, the items learned,
the profile. Cards still in the recorder's buffer count as shown too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    String,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import BindParameter

from service.cards import LearnerState
from service.credit.models import LearnerProfile, LearningCycle
from service.memory.models import CardFeedback, IssuedCard
from service.memory.recorder import IssuedCardRecord

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
SHOWN = "h"  # the card history of one item: when last shown, dismissed, snoozed
LEARNED = "l"  # an item the learner completed a cycle on
PROFILE = "p"  # the profile's profession and specialty

_OVERRIDDEN = CardFeedback.outcome == "overridden"
_IS_SNOOZE = func.coalesce(CardFeedback.override_reason_code, "") == SNOOZE_CODE
_LEARNER: BindParameter[str] = bindparam("learner", type_=String())
# One round trip (each costs ~0.5 ms through aiosqlite): the card history aggregated per item,
# the items learned, and the profile's profession and specialty, each row tagged by its kind.
_STATE: CompoundSelect[Any] = union_all(
    select(
        literal_column(f"'{SHOWN}'").label("kind"),
        IssuedCard.item_id.label("key"),
        func.max(IssuedCard.issued_at).label("shown_at"),
        func.max(case((and_(_OVERRIDDEN, ~_IS_SNOOZE), 1), else_=0)).label("dismissed"),
        func.max(case((and_(_OVERRIDDEN, _IS_SNOOZE), CardFeedback.outcome_timestamp))),
        null().label("specialty"),
    )
    .outerjoin(CardFeedback, CardFeedback.card_uuid == IssuedCard.uuid)
    .where(IssuedCard.learner == _LEARNER, IssuedCard.issued_at >= bindparam("since"))
    .group_by(IssuedCard.item_id),
    select(
        literal_column(f"'{LEARNED}'"), LearningCycle.item_id, null(), null(), null(), null()
    ).where(LearningCycle.learner == _LEARNER, LearningCycle.status.in_(("complete", "claimed"))),
    select(
        literal_column(f"'{PROFILE}'"),
        LearnerProfile.profession,
        null(),
        null(),
        null(),
        LearnerProfile.specialty,
    ).where(LearnerProfile.learner == _LEARNER),
)


async def load_learner_state(
    connection: AsyncConnection,
    learner: str,
    *,
    now: datetime,
    repeat_window_days: int,
    pending: tuple[IssuedCardRecord, ...] = (),
) -> LearnerState:
    """The fatigue policy's view of this learner, as of `now`."""
    since = now - timedelta(days=max(repeat_window_days, DISMISS_DAYS))
    rows = await connection.execute(_STATE, {"learner": learner, "since": since})
    shown: dict[str, datetime] = {}
    dismissed: set[str] = set()
    snoozed: dict[str, datetime] = {}
    learned: set[str] = set()
    profession: str | None = None
    specialty: str | None = None
    for kind, key, shown_at, was_dismissed, snoozed_at, profile_specialty in rows:
        if kind == LEARNED:
            learned.add(key)
        elif kind == PROFILE:
            profession, specialty = key, profile_specialty
        else:
            shown[key] = _aware(shown_at)
            if was_dismissed:
                dismissed.add(key)
            elif snoozed_at is not None:
                snoozed[key] = _aware(snoozed_at) + timedelta(days=SNOOZE_DAYS)
    for record in pending:
        if record.learner == learner:
            previous = shown.get(record.item_id, record.issued_at)
            shown[record.item_id] = max(record.issued_at, previous)
    return LearnerState(
        recently_shown=shown,
        dismissed=frozenset(dismissed),
        snoozed_until=snoozed,
        learned=frozenset(learned),
        specialty=specialty,
        profession=AUDIENCE_PROFESSION.get(profession or ""),
    )


def _aware(value: datetime | str) -> datetime:
    """Union columns lose the UTC column type on some dialects: normalise to aware UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
