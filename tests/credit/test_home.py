"""The learner home's facts (issue 18): totals by year and credit type, credits per month for
the last 12 months, and the open cycles with the date each stays claimable until."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit import service as credit
from service.credit.rules import CreditRules
from service.db.engine import transaction
from tests.credit.factories import NOW, make_item, make_patch, make_profile
from tests.credit.test_transcript import CASES, entry

Sessions = async_sessionmaker[AsyncSession]
LEARNER = "lrn_" + "8" * 40


def test_credits_per_month_cover_the_last_twelve_months_oldest_first() -> None:
    months = credit.monthly_credits(
        [
            entry(0.5, earned_on=date(2025, 6, 30)),  # 13 months ago: outside
            entry(0.5, earned_on=date(2025, 7, 1)),
            entry(0.75, CASES, earned_on=date(2026, 3, 2)),
            entry(0.5, earned_on=date(2026, 3, 31)),
            entry(-0.5, earned_on=date(2026, 3, 31)),  # a reversal nets out in its month
            entry(0.5, earned_on=date(2026, 6, 1), credit_type="ancc-contact-hours"),
            entry(0.5, earned_on=date(2026, 7, 1)),  # after today: outside
        ],
        today=date(2026, 6, 15),
    )
    assert [m.month for m in months] == [
        *(date(2025, month, 1) for month in range(7, 13)),
        *(date(2026, month, 1) for month in range(1, 7)),
    ]
    amounts = {m.month.isoformat()[:7]: m.amount for m in months}
    assert amounts["2025-07"] == 0.5
    assert amounts["2026-03"] == 0.75
    assert amounts["2026-04"] == 0.0
    assert months[-1].by_credit_type == {"ancc-contact-hours": 0.5}
    assert months[8].by_credit_type == {"ama-pra-1": 0.75}
    assert sum(m.amount for m in months) == 1.75


def test_a_january_window_starts_in_february_of_the_year_before() -> None:
    months = credit.monthly_credits([], today=date(2026, 1, 31))
    assert (months[0].month, months[-1].month) == (date(2025, 2, 1), date(2026, 1, 1))
    assert all(m.amount == 0 and m.by_credit_type == {} for m in months)


async def _cycle(
    sessions: Sessions,
    card: str,
    started_days_ago: int,
    *,
    document: bool,
    claim: CreditRules | None = None,
) -> None:
    """A cycle started some days before NOW; documented (complete) and claimed when told."""
    started = NOW - timedelta(days=started_days_ago)
    async with transaction(sessions) as session:
        item = make_item(item_id=f"guideline-{card}", title=f"Topic {card}")
        cycle = await credit.start_cycle(
            session, learner_key=LEARNER, item=item, card_uuid=card, now=started
        )
        if document:
            await credit.update_cycle(session, LEARNER, cycle.id, make_patch(), now=started)
        if claim is not None:
            await credit.claim(
                session, LEARNER, cycle.id, idempotency_key=card, rules=claim, now=started
            )


async def test_the_learner_home_lists_open_cycles_by_deadline_and_sums_the_credit(
    sessions: Sessions, rules: CreditRules
) -> None:
    async with transaction(sessions) as session:
        await credit.update_profile(session, LEARNER, make_profile(), now=NOW)
    await _cycle(sessions, "recent", 3, document=False)
    await _cycle(sessions, "older", 700, document=False)
    await _cycle(sessions, "expired", 800, document=False)
    await _cycle(sessions, "ready", 10, document=True)
    await _cycle(sessions, "claimed", 40, document=True, claim=rules)
    async with transaction(sessions) as session:
        home = await credit.learner_home(session, LEARNER, rules, NOW)
    window = timedelta(days=rules.claim_window_days)
    assert [c.title for c in home.pending] == ["Topic older", "Topic recent"]
    assert home.pending[0].claim_deadline == NOW - timedelta(days=700) + window
    assert home.pending[0].days_left == 30
    assert home.pending[0].missing == ["how this applies to your practice"]
    assert [c.title for c in home.ready_to_claim] == ["Topic ready"]
    assert home.expired == 1
    assert home.ready_to_claim[0].status == "complete"
    assert home.ready_to_claim[0].days_left == rules.claim_window_days - 10
    assert [(t.year, t.credit_type, t.amount) for t in home.totals] == [(2026, "ama-pra-1", 0.5)]
    assert home.by_year == {"2026": 0.5}
    assert home.total == 0.5
    assert len(home.months) == 12
    assert home.months[-1].month == date(2026, 6, 1)
    assert {m.month: m.amount for m in home.months}[date(2026, 5, 1)] == 0.5
    assert home.needs_names is False
    assert home.profession == "physician-md"
    assert [e.kind for e in home.entries] == ["claim"]


async def test_a_new_learner_has_an_empty_home(sessions: Sessions, rules: CreditRules) -> None:
    async with transaction(sessions) as session:
        home = await credit.learner_home(session, "lrn_new", rules, NOW)
    assert (home.pending, home.ready_to_claim, home.totals, home.total) == ([], [], [], 0.0)
    assert [m.amount for m in home.months] == [0.0] * 12
    assert home.needs_names is True
