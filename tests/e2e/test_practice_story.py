"""The naloxone story (issue 19), through real hook calls and the API: a clinician prescribes
oxycodone without naloxone and gets the naloxone card, learns from it and claims the credit,
prescribes again with naloxone; the learner's practice counts and the education lead's report
show the change, and the counts hold nothing about the patient."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator

import pytest

from ehr_simulator.outcomes import _COHORT, COHORT_MEASURE, seed_demo_outcomes
from service.settings import Settings
from tests.e2e.test_demo_flow import BEDSIDE, EHR, _cards, _open_card, _patient
from tests.e2e.test_demo_flow import _reflect_claim_and_check as reflect_and_claim
from tests.e2e.world import World, make_world

NALOXONE = "cdc-opioid-naloxone"


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with make_world(settings, "client_secret_basic") as built:
        yield built


def _naloxone_link(world: World, chart_cards: list[tuple[str, str]]) -> str | None:
    item = world.runtime.content.get(NALOXONE)
    assert item is not None
    return next((link for summary, link in chart_cards if summary == item.summary), None)


async def test_learning_about_naloxone_shows_in_practice(world: World) -> None:
    patient = _patient(world, "Delbert")
    # 1. oxycodone alone: the naloxone card is offered (CDC 2022, Recommendation 8)
    first = await world.browser.post(f"{EHR}/chart/{patient}/prescribe")
    link = _naloxone_link(world, _cards(first))
    assert link is not None, "an opioid signed without naloxone gets the naloxone card"
    # 2. the clinician learns from it and claims the credit
    path = await _open_card(world, link)
    item = world.runtime.content.get(NALOXONE)
    assert item is not None
    await reflect_and_claim(world, path, item.title)
    # 3. oxycodone with naloxone nasal spray: no naloxone card any more
    second = await world.browser.post(f"{EHR}/chart/{patient}/prescribe", data={"naloxone": "1"})
    assert second.status_code == 200
    assert "naloxone" in html.unescape(second.text)
    assert _naloxone_link(world, _cards(second)) is None
    await world.runtime.memory.practice.flush()

    # the learner sees before 0 of 1, after 1 of 1, and when they learned
    practice = (await world.browser.get(BEDSIDE + "/api/learner/practice")).json()
    measure = next(m for m in practice["measures"] if m["item_id"] == NALOXONE)
    assert measure["before"] == {"opportunities": 1, "concordant": 0}
    assert measure["after"] == {"opportunities": 1, "concordant": 1}
    assert measure["learned_on"] == world.runtime.clock().date().isoformat()
    home = html.unescape((await world.browser.get(BEDSIDE + "/app/")).text)
    assert "0 of 1 (0%)" in home
    assert "1 of 1 (100%)" in home
    assert "association, not proof" in home

    # the education lead sees the cohort's counts and this clinician's on top of them
    token = await seed_demo_outcomes(world.runtime.sessions, world.runtime.clock())
    year = world.runtime.clock().year
    report = await world.browser.get(
        f"{BEDSIDE}/education/report.json",
        params={"period": year},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert report.status_code == 200, report.text
    assert COHORT_MEASURE == NALOXONE
    cohort_before = [sum(phases[0][i] for phases in _COHORT) for i in (0, 1)]
    cohort_after = [sum(phases[1][i] for phases in _COHORT) for i in (0, 1)]
    row = next(r for r in report.json()["items"] if r["item_id"] == NALOXONE)
    assert row["practice_before"] == {
        "opportunities": cohort_before[0] + 1,
        "concordant": cohort_before[1],
        "learners": len(_COHORT) + 1,
        "suppressed": False,
    }
    assert row["practice_after"] == {
        "opportunities": cohort_after[0] + 1,
        "concordant": cohort_after[1] + 1,
        "learners": len(_COHORT) + 1,
        "suppressed": False,
    }
    # one clinician's cards, launches and credits describe one learner: hidden
    assert row["cycles_completed"]["suppressed"] is True
