"""What the learner's outputs and the reports are made from, read from the database: the one
reader behind the renderers of service/credit/exports, which never touch a session.

- `entry_view`, `list_entries`: ledger entries as views (claims and reversals), oldest first,
  each with the learning format of its cycle; `documented_entries`: the same, with what was
  documented for each claim's cycle (question, source, application);
  `standing_claims`, `standing_claim`: the claims no reversal took back.
- `participant`: the name (given and family, or an old profile's single name) and
  profession the learner gave, if any.
- `xapi_events`: the learner's outbox events, in learning order.
- `period_claims`, `report_learners`: a year's standing claims and their learners' profiles.

Each function reads; none writes or audits (the use cases that call them do).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.credit import ledger, outbox
from service.credit.exports.pars import ReportEntry, ReportLearner
from service.credit.models import LearnerProfile, LearningCycle, LedgerEntry, XapiOutboxItem
from service.credit.profiles import display_name, load_profile
from service.credit.rules import CreditFormat, CreditRules
from service.credit.schemas import CycleDocumentation, LedgerEntryView
from service.errors import Conflict, NotFound


def _format(value: str | None) -> CreditFormat | None:
    return "enduring" if value == "enduring" else "poc" if value == "poc" else None


def entry_view(
    entry: LedgerEntry, rules: CreditRules, credit_format: str | None = None
) -> LedgerEntryView:
    """The API view of a ledger entry; `credit_format` is its cycle's (when the cycle is not
    known, the rules' format of the entry's activity)."""
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
        credit_format=_format(credit_format) or rules.activities.format_of(entry.activity_id),
    )


@dataclass(frozen=True)
class _Cycle:
    """What an output needs of the cycle behind an entry."""

    credit_format: str
    documentation: CycleDocumentation


_CYCLES = select(
    LearningCycle.id,
    LearningCycle.credit_format,
    LearningCycle.question,
    LearningCycle.source_citation,
    LearningCycle.application,
    LearningCycle.application_text,
)


def _cycle_ids(entries: Sequence[LedgerEntry]) -> dict[uuid.UUID, uuid.UUID]:
    """The cycle behind each entry, by entry id: a claim's own, a reversal's claim's (when
    that claim is among `entries`)."""
    claims = {e.id: e.claim_cycle_id for e in entries if e.claim_cycle_id is not None}
    out = dict(claims)
    for e in entries:
        if e.reverses_id is not None and e.reverses_id in claims:
            out[e.id] = claims[e.reverses_id]
    return out


async def _cycles(session: AsyncSession, entries: Sequence[LedgerEntry]) -> dict[uuid.UUID, _Cycle]:
    """The cycle behind each entry, by entry id (cycles since pruned are absent)."""
    ids = _cycle_ids(entries)
    if not ids:
        return {}
    rows = (await session.execute(_CYCLES.where(LearningCycle.id.in_(set(ids.values()))))).all()
    found = {
        row.id: _Cycle(
            row.credit_format,
            CycleDocumentation(
                question=row.question,
                source_citation=row.source_citation,
                application=row.application,
                application_text=row.application_text,
            ),
        )
        for row in rows
    }
    return {entry: found[cycle] for entry, cycle in ids.items() if cycle in found}


def _view(
    entry: LedgerEntry, cycles: dict[uuid.UUID, _Cycle], rules: CreditRules
) -> LedgerEntryView:
    cycle = cycles.get(entry.id)
    return entry_view(entry, rules, cycle.credit_format if cycle else None)


async def list_entries(
    session: AsyncSession, learner_key: str, rules: CreditRules
) -> list[LedgerEntryView]:
    """The learner's ledger entries, oldest first (claims and reversals)."""
    return (await documented_entries(session, learner_key, rules))[0]


async def documented_entries(
    session: AsyncSession, learner_key: str, rules: CreditRules
) -> tuple[list[LedgerEntryView], dict[uuid.UUID, CycleDocumentation]]:
    """The learner's entries, oldest first, and what was documented for each claim's cycle,
    by entry id (none for reversals, nor for cycles since pruned)."""
    rows = await ledger.entries(session, learner_key)
    cycles = await _cycles(session, rows)
    documented = {
        e.id: cycles[e.id].documentation for e in rows if e.kind == "claim" and e.id in cycles
    }
    return [_view(e, cycles, rules) for e in rows], documented


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
    return _view(entry, await _cycles(session, [entry]), rules)


@dataclass(frozen=True)
class Participant:
    """Who the learner said they are (None when not given): `name` is the name to print,
    "Given Family", else an old profile's single name."""

    name: str | None = None
    profession: str | None = None
    given_name: str | None = None
    family_name: str | None = None


async def participant(session: AsyncSession, learner_key: str) -> Participant:
    """Who the learner's certificates, credentials and transcript name."""
    row = await load_profile(session, learner_key)
    if row is None:
        return Participant()
    name = display_name(row.given_name, row.family_name, row.name)
    return Participant(name, row.profession, row.given_name, row.family_name)


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
            given_name=p.given_name,
            family_name=p.family_name,
            board_ids=list(p.board_ids),
            state_licenses=list(p.state_licenses),
            npi=p.npi,
            birth_month=p.birth_month,
            birth_day=p.birth_day,
            consent=p.consent_to_report,
        )
        for p in rows.all()
    }
