"""The two exports of the outcomes package, audited (who asked for which period, how many
rows; never a name or a learner key): the report and the evidence file. One use case each,
called by the routes and the command line."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.credit import audit
from service.outcomes.evidence import Evidence, outcomes_evidence
from service.outcomes.report import Items, OutcomesReport, outcomes_report

CLI_ACTOR = "admin-cli"


def lead_actor(lead_id: object) -> str:
    """How an education lead appears in the audit log."""
    return f"education-lead:{lead_id}"


async def export_report(
    session: AsyncSession, library: Items, year: int, *, fmt: str, actor: str, now: datetime
) -> OutcomesReport:
    """The year's outcomes report, its export recorded in the audit log."""
    report = await outcomes_report(session, library, year)
    audit.add(
        session,
        actor=actor,
        action="export.outcomes",
        at=now,
        details={"year": year, "format": fmt, "items": len(report.items)},
    )
    return report


async def export_evidence(
    session: AsyncSession,
    library: Items,
    year: int,
    *,
    item_id: str | None,
    actor: str,
    now: datetime,
) -> Evidence:
    """The year's outcomes evidence (named, consenting learners), its export audited."""
    evidence = await outcomes_evidence(session, library, year, item_id)
    audit.add(
        session,
        actor=actor,
        action="export.outcomes-evidence",
        at=now,
        subject=item_id[:100] if item_id else None,
        details={"year": year, "rows": len(evidence.rows), "left_out": evidence.left_out},
    )
    return evidence
