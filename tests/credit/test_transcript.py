"""Issue 18, item 4: "Credits by year and type" has one row per (year, credit type) with its
total and its activities beneath, and grand totals per year and overall."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit import service as credit
from service.credit import transcript
from service.credit.rules import CreditRules
from service.credit.schemas import LedgerEntryView
from service.db.engine import transaction
from tests.credit.factories import NOW, make_case, make_item, make_patch, make_profile

Sessions = async_sessionmaker[AsyncSession]
LEARNER = "lrn_" + "7" * 40
POC = ("BEDSIDE-POC-2026", "Bedside Internet Point-of-Care Learning 2026")
CASES = ("BEDSIDE-CASES", "Bedside Clinical Cases (enduring material)")


def entry(
    amount: float,
    activity: tuple[str, str] = POC,
    earned_on: date = NOW.date(),
    credit_type: str = "ama-pra-1",
) -> LedgerEntryView:
    """A ledger line as the transcript reads it (a negative amount is a reversal)."""
    return LedgerEntryView(
        id=uuid.uuid4(),
        kind="claim" if amount > 0 else "reversal",
        cycle_id=None,
        reverses_id=None,
        credit_type=credit_type,
        credit_label=credit_type,
        amount=amount,
        activity_id=activity[0],
        activity_title=activity[1],
        item_id="item",
        topic="topic",
        earned_on=earned_on,
        created_at=datetime.combine(earned_on, datetime.min.time()),
    )


def test_one_row_per_year_and_credit_type_with_its_activities_beneath() -> None:
    last_year = ("BEDSIDE-POC-2025", "Bedside Internet Point-of-Care Learning 2025")
    rows = transcript.totals(
        [
            entry(0.5),
            entry(0.75, CASES),
            entry(0.5),
            entry(-0.5),
            entry(0.5, last_year, date(2025, 3, 1)),
            entry(0.5, credit_type="ancc-contact-hours"),
        ]
    )
    assert [(r.year, r.credit_type, r.amount) for r in rows] == [
        (2025, "ama-pra-1", 0.5),
        (2026, "ama-pra-1", 1.25),
        (2026, "ancc-contact-hours", 0.5),
    ]
    assert [(a.activity_id, a.activity_title, a.amount) for a in rows[1].activities] == [
        (CASES[0], CASES[1], 0.75),
        (POC[0], POC[1], 0.5),
    ]


async def test_the_transcript_totals_each_year_and_type_once(
    sessions: Sessions, rules: CreditRules
) -> None:
    async with transaction(sessions) as session:
        await credit.update_profile(session, LEARNER, make_profile(), now=NOW)
        for key, item, patch in (
            ("poc", make_item(), make_patch()),
            ("case", make_case(case_minutes=45), make_patch(case_score=0.9)),
        ):
            cycle = await credit.start_cycle(
                session, learner_key=LEARNER, item=item, card_uuid=key, now=NOW
            )
            await credit.update_cycle(session, LEARNER, cycle.id, patch, now=NOW)
            await credit.claim(
                session, LEARNER, cycle.id, idempotency_key=key, rules=rules, now=NOW
            )
        view = await credit.transcript(session, LEARNER, rules)
    (row,) = view.totals
    assert (row.year, row.credit_type, row.credit_label) == (
        2026,
        "ama-pra-1",
        "AMA PRA Category 1 Credit™",
    )
    assert row.amount == 1.25
    assert {a.activity_id: a.amount for a in row.activities} == {CASES[0]: 0.75, POC[0]: 0.5}
    assert view.by_year == {"2026": 1.25}
    assert view.total == 1.25


def test_totals_of_no_entries_are_empty() -> None:
    assert transcript.totals([]) == []
    assert transcript.totals([entry(0.5), entry(-0.5)])[0].amount == 0.0


def test_rounding_never_shows_minus_zero() -> None:
    rows = transcript.totals([entry(0.1), entry(0.2), entry(-0.3)])
    assert str(rows[0].amount) == "0.0"
