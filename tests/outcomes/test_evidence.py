"""The outcomes evidence file: per activity and consenting learner (names from the profile,
never the learner key), a baseline before learning and a re-measurement after, with the
learning date; only the year's cohort (first completion in the period); unnamed consenting
learners left out and counted; no suppression."""

from __future__ import annotations

import csv
import io

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db.engine import transaction
from service.outcomes.evidence import EVIDENCE_COLUMNS, outcomes_evidence, to_csv
from tests.outcomes.factories import (
    NSAID,
    STATIN,
    YEAR,
    at,
    cycle,
    learner,
    library,
    profile,
    tally,
)

Sessions = async_sessionmaker[AsyncSession]
GRACE, ALAN, NOBODY, SHY, LAST_YEAR = (learner(n) for n in range(1, 6))


async def _cohort(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        profile(session, GRACE, given="Grace", family="Hopper")
        profile(session, ALAN, given="Alan", family="=Turing")  # a formula-looking name
        profile(session, NOBODY, given=None, family=None)  # consents, but gave no name
        profile(session, SHY, given="Shy", family="Person", consent=False)
        profile(session, LAST_YEAR, given="Early", family="Bird")
        # Grace learned in March: baseline Jan-Feb, re-measured Apr-May
        cycle(session, GRACE, STATIN, at(3), completed=at(3, 10))
        cycle(session, GRACE, STATIN, at(9), completed=at(9, 20))  # again: the first counts
        tally(session, GRACE, STATIN, f"{YEAR}-01", "before", 6, 2)
        tally(session, GRACE, STATIN, f"{YEAR}-02", "before", 4, 1)
        tally(session, GRACE, STATIN, f"{YEAR}-04", "after", 5, 4)
        tally(session, GRACE, STATIN, f"{YEAR}-05", "after", 3, 3)
        tally(session, GRACE, NSAID, f"{YEAR}-02", "before", 9, 9)  # never learned NSAID
        # Alan learned in June, nothing counted after yet
        cycle(session, ALAN, STATIN, at(6), completed=at(6, 2), status="claimed")
        tally(session, ALAN, STATIN, f"{YEAR - 1}-11", "before", 2, 0)
        cycle(session, NOBODY, STATIN, at(5), completed=at(5, 5))
        cycle(session, SHY, STATIN, at(5), completed=at(5, 5))
        tally(session, SHY, STATIN, f"{YEAR}-07", "after", 10, 10)
        cycle(session, LAST_YEAR, STATIN, at(11, year=YEAR - 1), completed=at(11, 3, YEAR - 1))
        cycle(session, GRACE, NSAID, at(8))  # pending: not learned


async def _rows(sessions: Sessions, item: str | None = None) -> tuple[list[dict[str, str]], int]:
    async with sessions() as session:
        evidence = await outcomes_evidence(session, library(), YEAR, item)
    text = to_csv(evidence)
    assert text.splitlines()[0] == ",".join(EVIDENCE_COLUMNS)
    assert "lrn_" not in text
    return list(csv.DictReader(io.StringIO(text))), evidence.left_out


async def test_baseline_and_remeasurement_of_the_years_consenting_cohort(
    sessions: Sessions,
) -> None:
    await _cohort(sessions)
    rows, left_out = await _rows(sessions)
    # by activity, then family name as typed ("=" sorts before letters)
    assert [(r["given_name"], r["family_name"]) for r in rows] == [
        ("Alan", "'=Turing"),  # quoted, so a spreadsheet does not run it
        ("Grace", "Hopper"),
    ]
    alan, grace = rows
    assert grace == {
        "item_id": STATIN,
        "activity_title": "Statins in diabetes",
        "measure_title": "",
        "given_name": "Grace",
        "family_name": "Hopper",
        "learned_on": f"{YEAR}-03-10",
        "baseline_months": f"{YEAR}-01 to {YEAR}-02",
        "baseline_opportunities": "10",
        "baseline_concordant": "3",
        "baseline_rate": "0.30",
        "remeasurement_months": f"{YEAR}-04 to {YEAR}-05",
        "remeasurement_opportunities": "8",
        "remeasurement_concordant": "7",
        "remeasurement_rate": "0.88",
    }
    assert alan["learned_on"] == f"{YEAR}-06-02"
    assert alan["baseline_months"] == f"{YEAR - 1}-11"
    assert (alan["remeasurement_opportunities"], alan["remeasurement_rate"]) == ("0", "")
    assert left_out == 1  # consented, no name


async def test_one_item_only(sessions: Sessions) -> None:
    await _cohort(sessions)
    rows, _ = await _rows(sessions, NSAID)
    assert rows == []  # Grace's NSAID cycle is pending: she has not learned it
    rows, _ = await _rows(sessions, STATIN)
    assert len(rows) == 2


async def test_last_years_cohort_is_in_last_years_file(sessions: Sessions) -> None:
    await _cohort(sessions)
    async with sessions() as session:
        evidence = await outcomes_evidence(session, library(), YEAR - 1)
    assert [(r.given_name, r.learned_on.isoformat()) for r in evidence.rows] == [
        ("Early", f"{YEAR - 1}-11-03")
    ]
