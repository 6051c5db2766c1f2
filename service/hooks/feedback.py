"""CDS Hooks feedback intake: the request parsed and checked into the learner memory's
`FeedbackEvent`s (`service/memory/feedback.py` stores them)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import ValidationError

from service.errors import BadRequest, NotFound
from service.hooks.schemas import FeedbackItem, FeedbackRequest, describe_errors
from service.memory import FeedbackEvent


def parse_feedback(body: bytes) -> list[FeedbackEvent]:
    """The request's feedback items: 400 for a malformed body or time, 404 for a card id
    that cannot be one of ours."""
    try:
        request = FeedbackRequest.model_validate_json(body)
    except ValidationError as exc:
        raise BadRequest(describe_errors(exc, "body")) from exc
    return [_event(item) for item in request.feedback]


def _event(item: FeedbackItem) -> FeedbackEvent:
    reason = item.override_reason.reason if item.override_reason else None
    return FeedbackEvent(
        card=parse_card_uuid(item.card),
        outcome=item.outcome,
        outcome_at=parse_timestamp(item.outcome_timestamp),
        reason_system=reason.system if reason else None,
        reason_code=reason.code if reason else None,
        accepted_suggestions=tuple(s.id for s in item.accepted_suggestions),
    )


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
