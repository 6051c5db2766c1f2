"""Card feedback, stored idempotently and tied to the issued card.

The same feedback may arrive more than once: one row per (card, outcome, outcomeTimestamp).
A card we never issued, or issued to another EHR or tenant, is 404. Only the outcome, its
time and the override reason are kept: never the clinician's free-text comment (it may name
the patient). The protocol (`service/hooks/feedback.py`) parses the request into
`FeedbackEvent`s.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.changes import learner_changed
from service.errors import NotFound
from service.memory.models import CardFeedback, IssuedCard


@dataclass(frozen=True, slots=True)
class FeedbackEvent:
    """One outcome of one card, as the EHR reported it."""

    card: uuid.UUID
    outcome: str
    outcome_at: datetime  # aware UTC
    reason_system: str | None = None
    reason_code: str | None = None
    accepted_suggestions: tuple[str, ...] = ()


async def record_feedback(
    session: AsyncSession, events: Sequence[FeedbackEvent], *, issuer: str, tenant: str | None
) -> int:
    """Store each event once; returns how many were new."""
    new = 0
    for event in events:
        card = await session.get(IssuedCard, event.card)
        if card is None or card.issuer != issuer or card.tenant != tenant:
            raise NotFound(f"unknown card {str(event.card)!r}")
        added = await _insert_once(session, event)
        if added:
            learner_changed(session, card.learner)  # dismissed or snoozed for the hook
        new += added
    return new


async def _insert_once(session: AsyncSession, event: FeedbackEvent) -> int:
    existing = await session.scalar(
        select(CardFeedback.id).where(
            CardFeedback.card_uuid == event.card,
            CardFeedback.outcome == event.outcome,
            CardFeedback.outcome_timestamp == event.outcome_at,
        )
    )
    if existing is not None:
        return 0
    row = CardFeedback(
        card_uuid=event.card,
        outcome=event.outcome,
        outcome_timestamp=event.outcome_at,
        override_reason_system=event.reason_system,
        override_reason_code=event.reason_code,
        accepted_suggestions=list(event.accepted_suggestions),
    )
    try:
        async with session.begin_nested():  # a concurrent duplicate loses the race quietly
            session.add(row)
            await session.flush()
    except IntegrityError:
        return 0
    return 1
