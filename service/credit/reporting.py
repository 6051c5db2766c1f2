"""Admin reporting from the database: the PARS learner file and the annual aggregate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.credit import audit
from service.credit.exports.pars import (
    ReportEntry,
    ReportLearner,
    completion_rows,
    summary_csv,
    summary_rows,
    to_tsv,
)
from service.credit.models import LearnerProfile, LedgerEntry
from service.credit.rules import CreditRules


@dataclass(frozen=True)
class AnnualReport:
    """The period's outputs: the aggregate rows and the learner-completion rows."""

    year: int
    learners: int
    summary: list[list[str]]
    completions: list[dict[str, str]]

    def render(self, fmt: str) -> str:
        """`pars`: the tab-delimited learner file; `csv`: the aggregate as CSV."""
        return to_tsv(self.completions) if fmt == "pars" else summary_csv(self.summary)


async def _period_entries(session: AsyncSession, year: int) -> list[ReportEntry]:
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


async def _learners(session: AsyncSession, keys: set[str]) -> dict[str, ReportLearner]:
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


async def annual_report(
    session: AsyncSession, year: int, rules: CreditRules, *, actor: str, now: datetime
) -> AnnualReport:
    """Build the year's report (audited: who asked, for which period, how many rows)."""
    entries = await _period_entries(session, year)
    learners = await _learners(session, {e.learner for e in entries})
    report = AnnualReport(
        year,
        len({e.learner for e in entries}),
        summary_rows(year, entries),
        completion_rows(entries, learners, rules),
    )
    audit.add(
        session,
        actor=actor,
        action="export.report",
        at=now,
        details={"year": year, "completions": len(report.completions)},
    )
    return report
