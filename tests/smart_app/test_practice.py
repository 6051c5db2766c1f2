"""The learner's own practice counts: `GET /api/learner/practice` (session cookie or bearer; a
learner sees only their own), and the home page's panel (an SVG per measure drawn from the
counts, "n of N" in words, a table for screen readers, and honest wording)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
from fastapi import FastAPI

from service.credit.models import LearningCycle
from service.db.engine import transaction
from service.memory.models import PracticeTally
from service.memory.practice import MeasurePractice, Tally
from smart_app import practice
from smart_app.web import templates
from tests.e2e.world import World, csrf_of, learner_of, sign_in

BASE = "https://bedside.test"
API = BASE + "/api/learner/practice"
CAUTION = "Small numbers: a change here is an association, not proof that learning caused it."


def _serve_practice(app: FastAPI) -> None:
    """Serve the practice API as the app will once it includes `smart_app.practice.router`."""
    paths = {getattr(route, "path", None) for route in app.router.routes}
    if "/api/learner/practice" not in paths:
        app.include_router(practice.router)


def _tally(learner: str, item: str, month: str, phase: str, counts: tuple[int, int]) -> Any:
    return PracticeTally(
        learner=learner,
        measure_id=item,
        item_id=item,
        month=month,
        phase=phase,
        opportunities=counts[0],
        concordant=counts[1],
        updated_at=datetime.now(UTC),
    )


def _completed(learner: str, item: str, at: datetime) -> LearningCycle:
    return LearningCycle(
        id=uuid.uuid4(),
        learner=learner,
        item_id=item,
        item_version="1",
        item_type="guideline",
        title=item,
        credit_format="poc",
        source_citation="A source",
        status="complete",
        started_at=at,
        updated_at=at,
        completed_at=at,
    )


async def _store(world: World, *rows: Any) -> None:
    async with transaction(world.runtime.sessions) as session:
        session.add_all(rows)


async def test_a_learner_sees_their_own_counts_and_no_one_elses(basic_world: World) -> None:
    world = basic_world
    _serve_practice(world.bedside)
    mine, theirs = learner_of(world), learner_of(world, "someone-else")
    learned = datetime(2026, 2, 14, 9, tzinfo=UTC)
    await _store(
        world,
        _tally(mine, "test-guideline", "2026-01", "before", (4, 1)),
        _tally(mine, "test-guideline", "2026-02", "before", (2, 1)),
        _tally(mine, "test-guideline", "2026-03", "after", (5, 4)),
        _tally(mine, "test-case", "2026-03", "before", (1, 0)),
        _tally(theirs, "test-views", "2026-03", "after", (7, 7)),
        _completed(mine, "test-guideline", learned),
        _completed(theirs, "test-views", learned),
    )
    await sign_in(world)
    response = await world.browser.get(API)
    assert response.status_code == 200, response.text
    body = response.json()
    assert CAUTION in body["note"]
    assert body["measures"] == [
        {  # sorted by title: "A two-minute screening case" first
            "item_id": "test-case",
            "title": "A two-minute screening case",
            "before": {"opportunities": 1, "concordant": 0},
            "after": {"opportunities": 0, "concordant": 0},
            "learned_on": None,
        },
        {
            "item_id": "test-guideline",
            "title": "Screening for prediabetes",
            "before": {"opportunities": 6, "concordant": 2},
            "after": {"opportunities": 5, "concordant": 4},
            "learned_on": "2026-02-14",
        },
    ]
    world.browser.cookies.clear()
    await sign_in(world, practitioner="someone-else")
    other = (await world.browser.get(API)).json()["measures"]
    assert [(m["item_id"], m["after"], m["learned_on"]) for m in other] == [
        ("test-views", {"opportunities": 7, "concordant": 7}, "2026-02-14")
    ]


async def test_the_practice_api_takes_a_bearer_token_and_refuses_strangers(
    basic_world: World,
) -> None:
    world = basic_world
    _serve_practice(world.bedside)
    assert (await world.browser.get(API)).status_code == 401
    await sign_in(world)
    csrf = await csrf_of(world)
    token = (
        await world.browser.post(BASE + "/api/learner/token", headers={"X-CSRF-Token": csrf})
    ).json()["access_token"]
    async with httpx.AsyncClient(transport=world.browser._transport) as tool:  # no cookies
        auth = {"Authorization": f"Bearer {token}"}
        answer = await tool.get(API, headers=auth)
        assert answer.status_code == 200
        assert answer.json()["measures"] == []
        forged = await tool.get(API, headers={"Authorization": "Bearer bls_forged"})
        assert forged.status_code == 401


def _measure(before: tuple[int, int], after: tuple[int, int], **kw: Any) -> MeasurePractice:
    values: dict[str, Any] = {
        "item_id": "naloxone",
        "title": "Naloxone offered with an opioid",
        "learned_on": date(2026, 2, 14),
    }
    values.update(kw)
    return MeasurePractice(before=Tally(*before), after=Tally(*after), **values)


def test_bars_are_drawn_from_the_counts() -> None:
    panel = practice.practice_panel([_measure((4, 1), (4, 3))])
    assert panel is not None
    before, after = panel.measures[0].bars
    # a quarter and three quarters of the 0%-100% span, both from the 0% line
    span = panel.full_x - panel.zero_x
    assert (before.percent, before.width, before.text) == (25, span / 4, "1 of 4 (25%)")
    assert (after.percent, after.width, after.text) == (75, span * 3 / 4, "3 of 4 (75%)")
    assert before.x == after.x == panel.zero_x


def test_a_phase_without_opportunities_is_an_empty_state_not_a_zero_bar() -> None:
    panel = practice.practice_panel([_measure((3, 0), (0, 0), learned_on=None)])
    assert panel is not None
    before, after = panel.measures[0].bars
    assert (before.percent, before.width, before.text) == (0, 0.0, "0 of 3 (0%)")
    assert (after.percent, after.width, after.text) == (None, 0.0, "none yet")


def test_no_measures_no_panel() -> None:
    assert practice.practice_panel([]) is None


def _rendered(measures: list[MeasurePractice]) -> str:
    panel = practice.practice_panel(measures)
    return templates().get_template("practice_panel.html").render(practice_panel=panel)


def test_the_panel_shows_an_svg_with_counts_in_words_and_a_table() -> None:
    html = _rendered(
        [
            _measure((4, 1), (4, 3)),
            _measure((2, 2), (0, 0), item_id="statin", title="Statin", learned_on=None),
        ]
    )
    assert CAUTION in html
    figures = html.split("<figure")[1:]
    assert len(figures) == 2
    first = figures[0]
    svg = first[first.index("<svg") : first.index("</svg>")]
    assert 'aria-hidden="true"' in svg
    assert re.findall(r'<rect class="bar"[^>]*width="([\d.]+)"', svg) == ["31.0", "93.0"]
    assert "1 of 4 (25%)" in svg
    assert "3 of 4 (75%)" in svg
    assert "learned on 14 Feb 2026" in first
    table = first[first.index("<table>") : first.index("</table>")]
    assert "<caption>Naloxone offered with an opioid:" in table
    rows = re.findall(r"<tr><th scope=\"row\">([^<]+)</th><td>(\d+)</td><td>(\d+)</td>", table)
    assert rows == [("Before learning", "4", "1"), ("After learning", "4", "3")]
    second = figures[1]
    assert "not learned yet" in second
    assert re.findall(r'<rect class="bar"', second) == ['<rect class="bar"']  # 2 of 2 only
    assert "none yet" in second


async def test_the_home_shows_the_panel_only_for_a_learner_with_counts(basic_world: World) -> None:
    world = basic_world
    await sign_in(world)
    plain = (await world.browser.get(BASE + "/app/")).text
    assert "Your practice before and after learning" not in plain  # nothing counted yet
    await _store(world, _tally(learner_of(world), "test-guideline", "2026-03", "before", (4, 3)))
    page = (await world.browser.get(BASE + "/app/")).text
    section = page[page.index('<section aria-labelledby="practice-h"') :]
    section = section[: section.index("</section>")]
    assert "Screening for prediabetes" in section
    assert "3 of 4 (75%)" in section
    assert CAUTION in section
    assert page.index("Your credits") < page.index("Your practice before and after learning")
