"""A learner's own outputs read from the database: certificate PDFs, the CSV of the ledger and
xAPI statements. Every export is written to the audit log (what, for whom; never content)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.credit import audit, ledger, outbox
from service.credit.claims import entry_view
from service.credit.exports.certificates import Certificate, lines_for, render_certificate
from service.credit.exports.xapi import statements
from service.credit.profiles import load_profile
from service.credit.rules import CreditRules
from service.credit.schemas import LedgerEntryView
from service.credit.transcript import list_entries
from service.db.base import utcnow
from service.errors import Conflict, NotFound, Unprocessable

CSV_COLUMNS = [
    "entry_id",
    "kind",
    "earned_on",
    "credit_type",
    "credit_label",
    "amount",
    "activity_id",
    "activity_title",
    "topic",
    "item_id",
    "reverses_id",
    "reason",
    "recorded_at",
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula is quoted with '."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def entries_csv(entries: list[LedgerEntryView]) -> str:
    """The ledger entries as CSV (header row first)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        row: list[Any] = [
            e.id,
            e.kind,
            e.earned_on.isoformat(),
            e.credit_type,
            e.credit_label,
            e.amount,
            e.activity_id,
            e.activity_title,
            e.topic,
            e.item_id,
            e.reverses_id,
            e.reason,
            e.created_at.isoformat(),
        ]
        writer.writerow([e.amount if i == 5 else _cell(v) for i, v in enumerate(row)])
    return out.getvalue()


async def export_csv(session: AsyncSession, learner_key: str, rules: CreditRules) -> str:
    """The learner's ledger as CSV (audited)."""
    entries = await list_entries(session, learner_key, rules)
    audit.add(
        session,
        actor=learner_key,
        action="export.csv",
        at=utcnow(),
        learner=learner_key,
        details={"entries": len(entries)},
    )
    return entries_csv(entries)


async def xapi_statements(
    session: AsyncSession, learner_key: str, *, public_url: str
) -> list[dict[str, Any]]:
    """The learner's xAPI 1.0.3 statements (launched, answered, completed, earned)."""
    events = await outbox.learner_events(session, learner_key)
    audit.add(
        session,
        actor=learner_key,
        action="export.xapi",
        at=utcnow(),
        learner=learner_key,
        details={"statements": len(events)},
    )
    return statements(events, public_url)


async def _entry_for_certificate(
    session: AsyncSession, learner_key: str, entry_id: uuid.UUID, rules: CreditRules
) -> list[LedgerEntryView]:
    entry = await ledger.get(session, entry_id)
    if entry is None or entry.learner != learner_key or entry.kind != "claim":
        raise NotFound("credit entry not found")
    if await ledger.reversal_of(session, entry_id) is not None:
        raise Conflict("This credit was reversed; no certificate can be issued for it.")
    return [entry_view(entry, rules)]


async def _year_entries(
    session: AsyncSession, learner_key: str, rules: CreditRules, year: int
) -> list[LedgerEntryView]:
    """The year's claims that stand (reversed claims and their reversals left out)."""
    entries = [
        e for e in await list_entries(session, learner_key, rules) if e.earned_on.year == year
    ]
    reversed_ids = {e.reverses_id for e in entries if e.reverses_id}
    return [e for e in entries if e.kind == "claim" and e.id not in reversed_ids]


def _title(entries: list[LedgerEntryView], rules: CreditRules) -> str:
    types = {e.credit_type for e in entries}
    participation = {t.id for t in rules.credit_types if t.is_participation}
    return "Certificate of Participation" if types <= participation else "Certificate of Credit"


async def certificate_pdf(
    session: AsyncSession,
    learner_key: str,
    rules: CreditRules,
    *,
    entry_id: uuid.UUID | None = None,
    year: int | None = None,
    now: datetime | None = None,
) -> bytes:
    """A certificate for one entry (`entry_id`) or for a calendar year (`year`) (audited)."""
    now = now or utcnow()
    profile = await load_profile(session, learner_key)
    if profile is None or not profile.name:
        raise Unprocessable("Please add your name to your profile to receive a certificate.")
    if entry_id is not None:
        entries = await _entry_for_certificate(session, learner_key, entry_id, rules)
        period = entries[0].earned_on.strftime("%d %B %Y")
    else:
        year = year or now.year
        entries = await _year_entries(session, learner_key, rules, year)
        period = f"1 January {year} - 31 December {year}"
    lines = lines_for(entries, rules)
    if not lines:
        raise NotFound("No credit to certify for this period.")
    cert = Certificate(
        title=_title(entries, rules),
        participant=profile.name,
        profession=profile.profession,
        period=period,
        issued_on=now.date(),
        lines=lines,
        topics=sorted({e.topic for e in entries}),
    )
    subject = str(entry_id) if entry_id else str(year)
    audit.add(
        session,
        actor=learner_key,
        action="export.certificate",
        at=now,
        learner=learner_key,
        subject=subject,
    )
    return render_certificate(cert, rules)
