"""A learner's own outputs: certificate PDFs, the CSV of the ledger and xAPI statements. Each
reads through `records`, renders through `exports`, and is written to the audit log (what,
for whom; never content). Credentials are in `credentials.py`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.credit import audit, records
from service.credit.exports import certificates, ledger_csv, xapi
from service.credit.rules import CreditRules
from service.credit.schemas import LedgerEntryView
from service.db.base import utcnow
from service.errors import NotFound, Unprocessable


async def export_csv(session: AsyncSession, learner_key: str, rules: CreditRules) -> str:
    """The learner's ledger as CSV, each claim with its documented cycle (audited)."""
    entries, documented = await records.documented_entries(session, learner_key, rules)
    audit.add(
        session,
        actor=learner_key,
        action="export.csv",
        at=utcnow(),
        learner=learner_key,
        details={"entries": len(entries)},
    )
    return ledger_csv.entries_csv(entries, documented)


async def xapi_statements(
    session: AsyncSession, learner_key: str, *, public_url: str
) -> list[dict[str, Any]]:
    """The learner's xAPI 1.0.3 statements (launched, answered, completed, earned)."""
    events = await records.xapi_events(session, learner_key)
    audit.add(
        session,
        actor=learner_key,
        action="export.xapi",
        at=utcnow(),
        learner=learner_key,
        details={"statements": len(events)},
    )
    return xapi.statements(events, public_url)


async def _certified(
    session: AsyncSession,
    learner_key: str,
    rules: CreditRules,
    entry_id: uuid.UUID | None,
    year: int,
) -> tuple[list[LedgerEntryView], str, str | None]:
    """What a certificate covers, its period and the label of its total line: one standing
    claim (`entry_id`, no total), or the year's claims that stand (reversed claims and their
    reversals left out)."""
    if entry_id is not None:
        entry = await records.standing_claim(
            session, learner_key, entry_id, rules, output="certificate"
        )
        return [entry], certificates.entry_period(entry.earned_on), None
    entries = await records.list_entries(session, learner_key, rules)
    year_entries = [e for e in entries if e.earned_on.year == year]
    claims = records.standing_claims(year_entries)
    return claims, certificates.year_period(year), f"Total for {year}"


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
    person = await records.participant(session, learner_key)
    if not person.name:
        raise Unprocessable(
            "Please add your given and family names to your profile to receive a certificate."
        )
    year = year or now.year
    entries, period, total = await _certified(session, learner_key, rules, entry_id, year)
    cert = certificates.certificate(
        entries,
        participant=person.name,
        profession=person.profession,
        period=period,
        issued_on=now.date(),
        rules=rules,
        total_label=total,
    )
    if not cert.lines:
        raise NotFound("No credit to certify for this period.")
    audit.add(
        session,
        actor=learner_key,
        action="export.certificate",
        at=now,
        learner=learner_key,
        subject=str(entry_id) if entry_id else str(year),
    )
    return certificates.render_certificate(cert, rules)
