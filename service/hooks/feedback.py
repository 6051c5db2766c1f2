"""Card feedback: persisted idempotently and tied to the issued card.

The same feedback may arrive more than once: one row per (card, outcome, outcomeTimestamp).
A card we never issued, or issued to another EHR or tenant, is 404. The clinician's free-text
userComment is not stored: it may name the patient.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.changes import learner_changed
from service.errors import BadRequest, NotFound
from service.hooks.models import CardFeedback, IssuedCard
from service.hooks.schemas import FeedbackItem, FeedbackRequest, describe_errors


def parse_feedback(body: bytes) -> FeedbackRequest:
    try:
        return FeedbackRequest.model_validate_json(body)
    except ValidationError as exc:
        raise BadRequest(describe_errors(exc, "body")) from exc


def parse_timestamp(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequest("outcomeTimestamp must be an ISO 8601 date-time") from exc
    if parsed.tzinfo is None:
        raise BadRequest("outcomeTimestamp must carry a time zone")
    return parsed.astimezone(UTC)


def parse_card_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise NotFound(f"unknown card {value[:64]!r}") from exc


async def record_feedback(
    session: AsyncSession, request: FeedbackRequest, *, issuer: str, tenant: str | None
) -> int:
    """Store each feedback item once; returns how many were new."""
    new = 0
    for item in request.feedback:
        card_uuid = parse_card_uuid(item.card)
        card = await session.get(IssuedCard, card_uuid)
        if card is None or card.issuer != issuer or card.tenant != tenant:
            raise NotFound(f"unknown card {item.card[:64]!r}")
        added = await _insert_once(session, card_uuid, item)
        if added:
            learner_changed(session, card.learner)  # dismissed or snoozed for the hook
        new += added
    return new


async def _insert_once(session: AsyncSession, card_uuid: uuid.UUID, item: FeedbackItem) -> int:
    outcome_at = parse_timestamp(item.outcome_timestamp)
    existing = await session.scalar(
        select(CardFeedback.id).where(
            CardFeedback.card_uuid == card_uuid,
            CardFeedback.outcome == item.outcome,
            CardFeedback.outcome_timestamp == outcome_at,
        )
    )
    if existing is not None:
        return 0
    reason = item.override_reason.reason if item.override_reason else None
    row = CardFeedback(
        card_uuid=card_uuid,
        outcome=item.outcome,
        outcome_timestamp=outcome_at,
        override_reason_system=reason.system if reason else None,
        override_reason_code=reason.code if reason else None,
        accepted_suggestions=[s.id for s in item.accepted_suggestions],
    )
    try:
        async with session.begin_nested():  # a concurrent duplicate loses the race quietly
            session.add(row)
            await session.flush()
    except IntegrityError:
        return 0
    return 1
