"""What the learner's outputs and the reports are made from, read from the database: the one
reader behind the renderers of service/credit/exports, which never touch a session.

- `entry_view`, `list_entries`: ledger entries as views (claims and reversals), oldest first;
  `standing_claims`, `standing_claim`: the claims no reversal took back.
- `participant`: the name and profession the learner gave, if any.
- `xapi_events`: the learner's outbox events, in learning order.
- `period_claims`, `report_learners`: a year's standing claims and their learners' profiles.

Each function reads; none writes or audits (the use cases that call them do).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.credit import ledger, outbox
from service.credit.exports.pars import ReportEntry, ReportLearner
from service.credit.models import LearnerProfile, LedgerEntry, XapiOutboxItem
from service.credit.profiles import load_profile
from service.credit.rules import CreditRules
from service.credit.schemas import LedgerEntryView
from service.errors import Conflict, NotFound


def entry_view(entry: LedgerEntry, rules: CreditRules) -> LedgerEntryView:
    """The API view of a ledger entry."""
    try:
        label = rules.credit_type(entry.credit_type).label
    except KeyError:  # a type since removed from the rules: the id is still meaningful
        label = entry.credit_type
    return LedgerEntryView(
        id=entry.id,
        kind=entry.kind,
        cycle_id=entry.claim_cycle_id,
        reverses_id=entry.reverses_id,
        credit_type=entry.credit_type,
        credit_label=label,
        amount=entry.amount,
        activity_id=entry.activity_id,
        activity_title=entry.activity_title,
        item_id=entry.item_id,
        topic=entry.topic,
        earned_on=entry.earned_at.date(),
        created_at=entry.created_at,
        reason=entry.reason,
    )


async def list_entries(
    session: AsyncSession, learner_key: str, rules: CreditRules
) -> list[LedgerEntryView]:
    """The learner's ledger entries, oldest first (claims and reversals)."""
    return [entry_view(e, rules) for e in await ledger.entries(session, learner_key)]


def standing_claims(entries: list[LedgerEntryView]) -> list[LedgerEntryView]:
    """The claims among `entries` that no reversal among them took back."""
    reversed_ids = {e.reverses_id for e in entries if e.reverses_id}
    return [e for e in entries if e.kind == "claim" and e.id not in reversed_ids]


async def standing_claim(
    session: AsyncSession, learner_key: str, entry_id: uuid.UUID, rules: CreditRules, *, output: str
) -> LedgerEntryView:
    """One of the learner's claims, to issue an `output` (certificate, credential) for:
    NotFound for anything else, Conflict once it was reversed."""
    entry = await ledger.get(session, entry_id)
    if entry is None or entry.learner != learner_key or entry.kind != "claim":
        raise NotFound("credit entry not found")
    if await ledger.reversal_of(session, entry_id) is not None:
        raise Conflict(f"This credit was reversed; no {output} can be issued for it.")
    return entry_view(entry, rules)


@dataclass(frozen=True)
class Participant:
    """The name and profession a learner gave (None when not given)."""

    name: str | None = None
    profession: str | None = None


async def participant(session: AsyncSession, learner_key: str) -> Participant:
    """Who the learner's certificates, credentials and transcript name."""
    row = await load_profile(session, learner_key)
    return Participant() if row is None else Participant(row.name, row.profession)


async def xapi_events(session: AsyncSession, learner_key: str) -> list[dict[str, object]]:
    """All outbox events of a learner (pushed or not), oldest first, in learning order."""
    query = (
        select(XapiOutboxItem)
        .where(XapiOutboxItem.learner == learner_key)
        .order_by(XapiOutboxItem.created_at, XapiOutboxItem.id)
    )
    rows = (await session.scalars(query)).all()
    return [row.event for row in outbox.in_learning_order(rows)]


async def period_claims(session: AsyncSession, year: int) -> list[ReportEntry]:
    """The standing claims earned in a calendar year, of every learner."""
    start, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    reversed_ids = select(LedgerEntry.reverses_id).where(LedgerEntry.reverses_id.is_not(None))
    query = select(LedgerEntry).where(
        LedgerEntry.kind == "claim",
        LedgerEntry.earned_at >= start,
        LedgerEntry.earned_at < end,
        LedgerEntry.id.not_in(reversed_ids),
    )
    return [
        ReportEntry(
            e.learner, e.credit_type, e.amount, e.activity_id, e.activity_title, e.earned_at.date()
        )
        for e in (await session.scalars(query)).all()
    ]


async def report_learners(session: AsyncSession, keys: set[str]) -> dict[str, ReportLearner]:
    """The profile fields reporting needs, of the learners given (those with a profile)."""
    if not keys:
        return {}
    rows = await session.scalars(select(LearnerProfile).where(LearnerProfile.learner.in_(keys)))
    return {
        p.learner: ReportLearner(
            learner=p.learner,
            name=p.name or "",
            board_ids=list(p.board_ids),
            state_licenses=list(p.state_licenses),
            npi=p.npi,
            birth_month=p.birth_month,
            birth_day=p.birth_day,
            consent=p.consent_to_report,
        )
        for p in rows.all()
    }
