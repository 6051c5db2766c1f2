"""Transcripts: totals derived from the ledger (claims minus reversals), never stored."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from service.credit import records
from service.credit.rules import CreditRules
from service.credit.schemas import LedgerEntryView, TranscriptTotal, TranscriptView


def _round(value: float) -> float:
    return round(value, 2) + 0.0  # + 0.0 turns -0.0 into 0.0


def totals(entries: list[LedgerEntryView]) -> list[TranscriptTotal]:
    """Net totals per (year, credit type, activity)."""
    sums: dict[tuple[int, str, str, str], float] = defaultdict(float)
    for e in entries:
        sums[(e.earned_on.year, e.credit_type, e.credit_label, e.activity_id)] += e.amount
    return [
        TranscriptTotal(year=y, credit_type=t, credit_label=label, activity_id=a, amount=_round(v))
        for (y, t, label, a), v in sorted(sums.items())
    ]


def _sum_by(rows: list[TranscriptTotal], key: str) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for row in rows:
        out[str(getattr(row, key))] += row.amount
    return {k: _round(v) for k, v in sorted(out.items())}


async def transcript(session: AsyncSession, learner_key: str, rules: CreditRules) -> TranscriptView:
    """The learner's transcript: totals by year, credit type and activity, and the entries."""
    entries = await records.list_entries(session, learner_key, rules)
    person = await records.participant(session, learner_key)
    rows = totals(entries)
    return TranscriptView(
        learner_key=learner_key,
        name=person.name,
        profession=person.profession,
        provider=rules.provider.name,
        totals=rows,
        by_year=_sum_by(rows, "year"),
        by_credit_type=_sum_by(rows, "credit_type"),
        by_activity=_sum_by(rows, "activity_id"),
        entries=entries,
    )
