"""What this learner has seen, dismissed, snoozed or learned: the input of the fatigue policy.

Indexed queries over issued cards with their feedback, the learner's completed cycles and
profile; cards still in the recorder's buffer count as shown too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.cards import LearnerState
from service.credit.models import LearnerProfile, LearningCycle
from service.hooks.models import CardFeedback, IssuedCard
from service.hooks.recorder import IssuedCardRecord

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


async def load_learner_state(
    session: AsyncSession,
    learner: str,
    *,
    now: datetime,
    repeat_window_days: int,
    pending: tuple[IssuedCardRecord, ...] = (),
) -> LearnerState:
    since = now - timedelta(days=max(repeat_window_days, DISMISS_DAYS))
    rows = (
        await session.execute(
            select(
                IssuedCard.item_id,
                IssuedCard.issued_at,
                CardFeedback.outcome,
                CardFeedback.override_reason_code,
                CardFeedback.outcome_timestamp,
            )
            .outerjoin(CardFeedback, CardFeedback.card_uuid == IssuedCard.uuid)
            .where(IssuedCard.learner == learner, IssuedCard.issued_at >= since)
        )
    ).all()
    shown: dict[str, datetime] = {}
    dismissed: set[str] = set()
    snoozed: dict[str, datetime] = {}
    for item_id, issued_at, outcome, reason, outcome_at in rows:
        shown[item_id] = max(issued_at, shown.get(item_id, issued_at))
        if outcome != "overridden":
            continue
        if reason == SNOOZE_CODE:
            until = (outcome_at or issued_at) + timedelta(days=SNOOZE_DAYS)
            snoozed[item_id] = max(until, snoozed.get(item_id, until))
        else:
            dismissed.add(item_id)
    for record in pending:
        if record.learner == learner:
            shown[record.item_id] = max(
                record.issued_at, shown.get(record.item_id, record.issued_at)
            )
    learned = await session.scalars(
        select(LearningCycle.item_id).where(
            LearningCycle.learner == learner, LearningCycle.status.in_(("complete", "claimed"))
        )
    )
    profile = await session.get(LearnerProfile, learner)
    return LearnerState(
        recently_shown=shown,
        dismissed=frozenset(dismissed),
        snoozed_until=snoozed,
        learned=frozenset(learned),
        specialty=profile.specialty if profile else None,
        profession=AUDIENCE_PROFESSION.get(profile.profession or "") if profile else None,
    )
