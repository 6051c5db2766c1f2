"""The learner's home: what is open to credit and what was earned, in one read.

- `open_cycles`: unclaimed cycles still claimable, split into `pending` (documentation left
  to do) and `ready_to_claim` (complete), each soonest deadline first. A cycle is claimable
  until its `claim_deadline`: its start plus the rules' `claim_window_days` (the engine's
  `window-passed` refusal); cycles past it are left out.
- `monthly_credits`: net credit per calendar month for the last 12 months, for a chart.
- `learner_home`: both, with the transcript's totals by year and credit type.

Pure functions but the last, which reads through the cycles, records and profiles modules.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.credit import records
from service.credit.cycles import list_cycles
from service.credit.profiles import get_profile
from service.credit.records import Participant
from service.credit.rules import CreditRules
from service.credit.schemas import CycleView, HomeCycle, LearnerHome, LedgerEntryView, MonthCredits
from service.credit.transcript import net, transcript_view
from service.db.base import utcnow


def _months(today: date, count: int) -> list[date]:
    """The first days of the `count` calendar months ending with today's, oldest first."""
    last = today.year * 12 + today.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(last - count + 1, last + 1)]


def monthly_credits(
    entries: list[LedgerEntryView], today: date, months: int = 12
) -> list[MonthCredits]:
    """Net credit (claims minus reversals) per month of the last `months` calendar months,
    the current one last, empty months included; per credit type too (zero types left out)."""
    sums: dict[date, dict[str, float]] = {
        first: defaultdict(float) for first in _months(today, months)
    }
    for e in entries:
        month = sums.get(e.earned_on.replace(day=1))
        if month is not None:
            month[e.credit_type] += e.amount
    return [
        MonthCredits(
            month=first,
            amount=net(sum(by_type.values())),
            by_credit_type={t: net(a) for t, a in sorted(by_type.items()) if net(a) != 0},
        )
        for first, by_type in sums.items()
    ]


def home_cycle(view: CycleView, now: datetime) -> HomeCycle:
    """A cycle as the home lists it, with the whole days left to claim it."""
    return HomeCycle.model_validate({**dict(view), "days_left": (view.claim_deadline - now).days})


def open_cycles(cycles: list[CycleView], now: datetime) -> tuple[list[HomeCycle], list[HomeCycle]]:
    """(pending, ready to claim): the unclaimed cycles still claimable at `now`, each list
    soonest deadline first."""
    still_open = sorted(
        (c for c in cycles if c.status != "claimed" and c.claim_deadline >= now),
        key=lambda c: (c.claim_deadline, c.started_at, str(c.id)),
    )
    pending = [home_cycle(c, now) for c in still_open if c.status == "pending"]
    ready = [home_cycle(c, now) for c in still_open if c.status == "complete"]
    return pending, ready


async def learner_home(
    session: AsyncSession, learner_key: str, rules: CreditRules, now: datetime | None = None
) -> LearnerHome:
    """The learner's home: open cycles first, then credit by year and type and per month."""
    now = now or utcnow()
    cycles = [
        *await list_cycles(session, learner_key, "pending", rules=rules),
        *await list_cycles(session, learner_key, "complete", rules=rules),
    ]
    pending, ready = open_cycles(cycles, now)
    entries = await records.list_entries(session, learner_key, rules)
    credit = transcript_view(learner_key, entries, Participant(), rules)
    profile = await get_profile(session, learner_key)
    return LearnerHome(
        learner_key=learner_key,
        pending=pending,
        ready_to_claim=ready,
        expired=len(cycles) - len(pending) - len(ready),
        totals=credit.totals,
        by_year=credit.by_year,
        total=credit.total,
        months=monthly_credits(entries, now.date()),
        entries=entries,
        profession=profile.profession,
        needs_names=profile.needs_names,
        name_notice=profile.name_notice,
    )
