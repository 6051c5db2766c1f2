"""Transcripts: totals derived from the ledger (claims minus reversals), never stored.

"Credits by year and type" has one row per (year, credit type) with its net total, and
beneath it the activities it came from (a year's point-of-care activity and a case activity
of the same credit type are one row, not two); grand totals per year and overall follow.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from service.credit import records
from service.credit.records import Participant
from service.credit.rules import CreditRules
from service.credit.schemas import ActivityTotal, LedgerEntryView, TranscriptTotal, TranscriptView


def net(value: float) -> float:
    """A credit sum for display: two decimals, never -0.0."""
    return round(value, 2) + 0.0  # + 0.0 turns -0.0 into 0.0


def _activities(entries: list[LedgerEntryView]) -> list[ActivityTotal]:
    sums: dict[str, float] = defaultdict(float)
    titles: dict[str, str] = {}
    for e in entries:
        sums[e.activity_id] += e.amount
        titles[e.activity_id] = e.activity_title
    return [
        ActivityTotal(activity_id=a, activity_title=titles[a], amount=net(v))
        for a, v in sorted(sums.items())
    ]


def totals(entries: list[LedgerEntryView]) -> list[TranscriptTotal]:
    """Net totals, one row per (year, credit type) with its activities, oldest year first."""
    groups: dict[tuple[int, str], list[LedgerEntryView]] = defaultdict(list)
    for e in entries:
        groups[(e.earned_on.year, e.credit_type)].append(e)
    return [
        TranscriptTotal(
            year=year,
            credit_type=credit_type,
            credit_label=group[-1].credit_label,
            amount=net(sum(e.amount for e in group)),
            activities=_activities(group),
        )
        for (year, credit_type), group in sorted(groups.items())
    ]


def _sum_by(entries: list[LedgerEntryView], key: str) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for e in entries:
        out[str(e.earned_on.year if key == "year" else getattr(e, key))] += e.amount
    return {k: net(v) for k, v in sorted(out.items())}


def transcript_view(
    learner_key: str, entries: list[LedgerEntryView], person: Participant, rules: CreditRules
) -> TranscriptView:
    """The transcript of `entries` (all the learner's, oldest first)."""
    return TranscriptView(
        learner_key=learner_key,
        name=person.name,
        profession=person.profession,
        provider=rules.provider.name,
        totals=totals(entries),
        by_year=_sum_by(entries, "year"),
        by_credit_type=_sum_by(entries, "credit_type"),
        by_activity=_sum_by(entries, "activity_id"),
        total=net(sum(e.amount for e in entries)),
        entries=entries,
    )


async def transcript(session: AsyncSession, learner_key: str, rules: CreditRules) -> TranscriptView:
    """The learner's transcript: totals by year and credit type (with their activities),
    grand totals per year and overall, and the entries."""
    entries = await records.list_entries(session, learner_key, rules)
    person = await records.participant(session, learner_key)
    return transcript_view(learner_key, entries, person, rules)
