"""Retention: ACCME asks for records to be kept 6 years; `prune` deletes only older ones.

Order respects the ledger's references: reversals first, then claims no remaining reversal
points at, then cycles no remaining claim points at, then audit events and outbox rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.credit import audit
from service.credit.models import AuditEvent, LearningCycle, LedgerEntry, XapiOutboxItem

RETENTION_YEARS = 6


class RetentionError(ValueError):
    """A prune that would delete records younger than the retention period."""


@dataclass(frozen=True)
class PruneReport:
    """How many rows each kind of record lost."""

    ledger_entries: int
    cycles: int
    audit_events: int
    outbox_items: int


def earliest_allowed_cutoff(today: date) -> date:
    """The latest `before` date allowed today: records older than 6 years."""
    try:
        return today.replace(year=today.year - RETENTION_YEARS)
    except ValueError:  # 29 February
        return today.replace(year=today.year - RETENTION_YEARS, day=28)


def _count(result: object) -> int:
    return result.rowcount if isinstance(result, CursorResult) else 0


async def prune(session: AsyncSession, *, before: date, now: datetime, actor: str) -> PruneReport:
    """Delete records created before `before`; refuses anything younger than 6 years."""
    limit = earliest_allowed_cutoff(now.date())
    if before > limit:
        raise RetentionError(
            f"records are kept {RETENTION_YEARS} years: --before must be {limit} or earlier"
        )
    cutoff = datetime(before.year, before.month, before.day, tzinfo=UTC)
    reversed_ids = select(LedgerEntry.reverses_id).where(LedgerEntry.reverses_id.is_not(None))
    claimed_ids = select(LedgerEntry.claim_cycle_id).where(LedgerEntry.claim_cycle_id.is_not(None))
    old = LedgerEntry.created_at < cutoff
    entries = _count(
        await session.execute(delete(LedgerEntry).where(old, LedgerEntry.kind == "reversal"))
    )
    entries += _count(
        await session.execute(delete(LedgerEntry).where(old, LedgerEntry.id.not_in(reversed_ids)))
    )
    cycles = _count(
        await session.execute(
            delete(LearningCycle).where(
                LearningCycle.started_at < cutoff, LearningCycle.id.not_in(claimed_ids)
            )
        )
    )
    events = _count(await session.execute(delete(AuditEvent).where(AuditEvent.at < cutoff)))
    items = _count(
        await session.execute(delete(XapiOutboxItem).where(XapiOutboxItem.created_at < cutoff))
    )
    report = PruneReport(entries, cycles, events, items)
    audit.add(
        session,
        actor=actor,
        action="retention.pruned",
        at=now,
        details={"before": before.isoformat(), **report.__dict__},
    )
    return report
