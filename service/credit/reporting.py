"""Admin reporting: the PARS learner file and the annual aggregate of a year, read through
`records` and rendered by `exports/pars.py` (audited)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.credit import audit, records
from service.credit.exports.pars import (
    completion_rows,
    needs_names,
    summary_csv,
    summary_rows,
    to_tsv,
)
from service.credit.rules import CreditRules


@dataclass(frozen=True)
class AnnualReport:
    """The period's outputs: the aggregate rows and the learner-completion rows, and the
    consenting learners left out of them until they give their given and family names."""

    year: int
    learners: int
    summary: list[list[str]]
    completions: list[dict[str, str]]
    needs_names: list[str] = field(default_factory=list)

    def render(self, fmt: str) -> str:
        """`pars`: the tab-delimited learner file; `csv`: the aggregate as CSV."""
        return to_tsv(self.completions) if fmt == "pars" else summary_csv(self.summary)


async def annual_report(
    session: AsyncSession, year: int, rules: CreditRules, *, actor: str, now: datetime
) -> AnnualReport:
    """Build the year's report (audited: who asked, for which period, how many rows)."""
    entries = await records.period_claims(session, year)
    learners = await records.report_learners(session, {e.learner for e in entries})
    report = AnnualReport(
        year,
        len({e.learner for e in entries}),
        summary_rows(year, entries),
        completion_rows(entries, learners, rules),
        needs_names(entries, learners, rules),
    )
    audit.add(
        session,
        actor=actor,
        action="export.report",
        at=now,
        details={
            "year": year,
            "completions": len(report.completions),
            "needs_names": len(report.needs_names),
        },
    )
    return report
