"""The append-only audit log of the credit package: who did what, when. Never a token, never
patient data; `details` holds ids, amounts and reasons only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.credit.models import AuditEvent


def row(
    *,
    actor: str,
    action: str,
    at: datetime,
    learner: str | None = None,
    subject: str | None = None,
    details: dict[str, object] | None = None,
) -> dict[str, Any]:
    """One audit event's values, by column, every column (the id too): what `add` writes,
    and what a caller batching its writes into one statement inserts."""
    return {
        "id": uuid.uuid4(),
        "at": at,
        "actor": actor,
        "action": action,
        "learner": learner,
        "subject": subject,
        "details": details or {},
    }


def add(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    at: datetime,
    learner: str | None = None,
    subject: str | None = None,
    details: dict[str, object] | None = None,
) -> None:
    """Add one audit event to the caller's unit of work (written by its next flush or its
    commit, so the event and the change it records commit or roll back together)."""
    values = row(
        actor=actor, action=action, at=at, learner=learner, subject=subject, details=details
    )
    session.add(AuditEvent(**values))


async def events(session: AsyncSession, learner: str | None = None) -> list[AuditEvent]:
    """Audit events, oldest first, optionally of one learner."""
    query = select(AuditEvent).order_by(AuditEvent.at, AuditEvent.id)
    if learner is not None:
        query = query.where(AuditEvent.learner == learner)
    return list((await session.scalars(query)).all())
