"""The outcomes report read from the database: what each cell counts (the year, learning cards
only, credit net of reversals, distinct cards per feedback outcome, practice per phase), the
suppression of cells describing fewer than 5 learners and of totals that would give one
away, and the three renderings. The expected numbers are worked out by hand from the rows
each test inserts."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db.engine import transaction
from service.outcomes.formats import to_csv, to_json, to_table
from service.outcomes.report import OutcomesReport, outcomes_report
from service.outcomes.suppression import Hidden
from tests.outcomes.factories import (
    NSAID,
    SCREENING,
    STATIN,
    YEAR,
    at,
    card,
    credit,
    cycle,
    feedback,
    learner,
    library,
    tally,
)

Sessions = async_sessionmaker[AsyncSession]
L = [learner(n) for n in range(1, 12)]  # L[0]..L[10]


async def _statin_year(session: AsyncSession) -> None:
    """Six learners (L[0]..L[5]) on the statin item."""
    for n, who in enumerate(L[:6]):
        first = await card(session, who, STATIN, at(2))
        second = await card(session, who, STATIN, at(3))
        if n < 5:
            feedback(session, first, "accepted", at(2))
            feedback(session, second, "overridden", at(3), reason="too-many-alerts")
            # the EHR sent the same override twice (another timestamp): still one card
            feedback(session, second, "overridden", at(3, 16), reason="too-many-alerts")
        else:
            feedback(session, first, "overridden", at(2), reason="patient-declined")
        tally(session, who, STATIN, f"{YEAR}-01", "before", 10, 3)
        entry = await credit(session, who, STATIN, 0.5, at(4))
        if n == 5:
            await credit(session, who, STATIN, 0.5, at(4), reverses=entry)  # net zero for L[5]
    for who in L[:5]:
        cycle(session, who, STATIN, at(3), completed=at(4) if who in L[:3] else None)
    # a cycle from a library search: completed, but not opened from a card
    cycle(session, L[5], STATIN, at(3), completed=at(5), from_card=False)
    for who in L[:3]:
        tally(session, who, STATIN, f"{YEAR}-05", "after", 10, 8)
    # not in the report: a recall card, a card of the year before, last year's practice
    await card(session, L[0], STATIN, at(6), purpose="recall")
    await card(session, L[0], STATIN, at(12, year=YEAR - 1))
    tally(session, L[0], STATIN, f"{YEAR - 1}-12", "before", 50, 0)
    await credit(session, L[0], STATIN, 9.0, at(12, 31, YEAR - 1))


async def _other_items(session: AsyncSession) -> None:
    for who in L[:3]:
        await card(session, who, NSAID, at(7))  # 3 learners: hidden
    for who in L[6:9]:
        tally(session, who, NSAID, f"{YEAR}-02", "before", 5, 2)  # 3 learners
    for who in L[9:11]:
        tally(session, who, SCREENING, f"{YEAR}-02", "before", 4, 1)  # 2 learners


async def _report(sessions: Sessions) -> OutcomesReport:
    async with transaction(sessions) as session:
        await _statin_year(session)
        await _other_items(session)
    async with sessions() as session:
        return await outcomes_report(session, library(), YEAR)


async def test_each_cell_counts_what_it_says(sessions: Sessions) -> None:
    report = await _report(sessions)
    statin = next(row for row in report.items if row.item_id == STATIN)
    cells = statin.cells
    assert statin.title == "Statins in diabetes"
    assert (cells["cards_shown"].values, cells["cards_shown"].learners) == ((12,), 6)
    assert (cells["opened_from_card"].values, cells["opened_from_card"].learners) == ((5,), 5)
    # 3 from a card + 1 from a library search: 4 learners, hidden
    assert cells["cycles_completed"].hidden is Hidden.FEW
    # six claims of 0.5, one reversed: 2.5 credits from the 5 learners who kept theirs
    assert (cells["credits_claimed"].values, cells["credits_claimed"].learners) == ((2.5,), 5)
    assert (cells["accepted"].values, cells["accepted"].learners) == ((5,), 5)
    assert (cells["practice_before"].values, cells["practice_before"].learners) == ((60, 18), 6)
    assert cells["practice_after"].hidden is Hidden.FEW  # 3 learners


async def test_an_override_total_is_hidden_when_one_reason_is(sessions: Sessions) -> None:
    report = await _report(sessions)
    statin = next(row for row in report.items if row.item_id == STATIN)
    reasons = dict(statin.reasons)
    assert (reasons["too-many-alerts"].values, reasons["too-many-alerts"].learners) == ((5,), 5)
    assert reasons["patient-declined"].hidden is Hidden.FEW
    # 6 overridden cards next to 5 for one reason would tell the other reason's single card
    assert statin.cells["overridden"].hidden is Hidden.COMPLEMENT


async def test_all_items_hide_a_total_with_one_hidden_item_only(sessions: Sessions) -> None:
    report = await _report(sessions)
    total = report.total.cells
    # cards: statin 12 (6 learners) + nsaid 3 (3 learners, hidden): 15 would give the 3 away
    assert total["cards_shown"].hidden is Hidden.COMPLEMENT
    # practice before: statin 60/18 (6) + nsaid 15/6 (3, hidden) + screening 8/2 (2, hidden):
    # what subtraction leaves describes 5 learners, so the total is published
    assert (total["practice_before"].values, total["practice_before"].learners) == ((83, 26), 11)
    nsaid = next(row for row in report.items if row.item_id == NSAID)
    assert nsaid.title == NSAID  # not in the library: its id stands in
    assert nsaid.cells["cards_shown"].hidden is Hidden.FEW
    assert (nsaid.cells["credits_claimed"].values, nsaid.cells["credits_claimed"].learners) == (
        (0,),
        0,
    )  # zero is zero


async def test_rows_are_in_title_order_and_quiet_items_are_left_out(sessions: Sessions) -> None:
    report = await _report(sessions)
    assert [row.item_id for row in report.items] == [SCREENING, NSAID, STATIN]
    async with sessions() as session:
        empty = await outcomes_report(session, library(), YEAR + 1)
    assert empty.items == ()
    assert empty.total.cells["cards_shown"].values == (0,)


async def test_json_marks_suppressed_cells_null(sessions: Sessions) -> None:
    document = json.loads(to_json(await _report(sessions)))
    assert document["period"] == YEAR
    assert document["minimum_learners"] == 5
    statin = next(item for item in document["items"] if item["item_id"] == STATIN)
    assert statin["cards_shown"] == {"value": 12, "learners": 6, "suppressed": False}
    assert statin["credits_claimed"] == {"value": 2.5, "learners": 5, "suppressed": False}
    assert statin["overridden"]["value"] is None
    assert statin["overridden"]["suppressed"] is True
    assert statin["practice_after"] == {
        "opportunities": None,
        "concordant": None,
        "learners": None,
        "suppressed": True,
        "why": "fewer than 5 learners: hidden to protect privacy",
    }
    declined = next(r for r in statin["override_reasons"] if r["code"] == "patient-declined")
    assert declined["value"] is None
    assert declined["suppressed"] is True
    assert document["all_items"]["practice_before"]["opportunities"] == 83


async def test_csv_and_table_show_the_marks(sessions: Sessions) -> None:
    report = await _report(sessions)
    rows = {row["item_id"]: row for row in csv.DictReader(io.StringIO(to_csv(report)))}
    statin = rows[STATIN]
    assert (statin["cards_shown"], statin["cards_shown_learners"]) == ("12", "6")
    assert statin["cycles_completed"] == "<5"
    assert statin["overridden"] == "hidden"
    assert statin["practice_before_opportunities"] == "60"
    assert statin["practice_after_concordant"] == "<5"
    assert statin["override_reasons"] == "patient-declined: <5; too-many-alerts: 5"
    assert rows[""]["title"] == "All items"
    table = to_table(report)
    assert "Statins in diabetes (statin-diabetes)" in table
    assert "18 of 60 as recommended (30%), 6 learners" in table
    assert "fewer than 5 learners: hidden to protect privacy" in table


async def test_no_learner_key_leaves_the_report(sessions: Sessions) -> None:
    report = await _report(sessions)
    for text in (to_json(report), to_csv(report), to_table(report)):
        assert "lrn_" not in text
