"""The profile's learning goals and renewal dates: a fieldset of topic checkboxes (at most 5,
as the page says), a renewal date per license and per board id (a real date, at most 10
years ahead), both saved, shown again, and carried by the learner API."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest

from service.cards.library import ContentLibrary
from smart_app import learning
from tests.e2e.world import World, csrf_of, sign_in
from tests.smart_app.content import make_case, make_guideline

BASE = "https://bedside.test"
TOPICS = {
    "hypertension": "High blood pressure",
    "lipids": "Cholesterol and cardiovascular risk",
    "diabetes": "Diabetes and prediabetes",
    "kidney": "Chronic kidney disease",
    "immunization": "Vaccines",
    "respiratory": "Asthma and COPD",
    "pregnancy": "Pregnancy and prenatal care",
}


@pytest.fixture(autouse=True)
def _test_library(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test library with a topic vocabulary of its own."""
    library = ContentLibrary([make_guideline(), make_case()], topics=TOPICS)

    def load(*_args: Any, **_kwargs: Any) -> ContentLibrary:
        return library

    monkeypatch.setattr("service.cards.library.load_library", load)


async def _save(world: World, **fields: str) -> Any:
    csrf = await csrf_of(world)
    return await world.browser.post(BASE + "/app/profile", data={"csrf": csrf, **fields})


async def _me(world: World) -> dict[str, Any]:
    me: dict[str, Any] = (await world.browser.get(BASE + "/api/learner/me")).json()
    return me


async def test_goals_are_a_fieldset_of_topics_that_says_at_most_five(basic_world: World) -> None:
    world = basic_world
    await sign_in(world)
    page = (await world.browser.get(BASE + "/app/profile")).text
    start = page.index('<fieldset id="learning_goals"')
    fieldset = page[start : page.index("</fieldset>", start)]
    assert "<legend>Learning goals</legend>" in fieldset
    assert "Choose up to 5 topics" in fieldset
    for topic, label in TOPICS.items():
        box = f'<input type="checkbox" id="goal-{topic}" name="goal_{topic}" value="yes" >'
        assert box in fieldset, topic
        assert f'<label for="goal-{topic}">{label}</label>' in fieldset
    assert "You have no goals yet." in fieldset


async def test_goals_are_saved_shown_and_read_by_the_api(basic_world: World) -> None:
    world = basic_world
    await sign_in(world)
    saved = await _save(world, goal_kidney="yes", goal_diabetes="yes", goal_unknown="yes")
    assert saved.status_code == 303, saved.text
    assert (await _me(world))["learning_goals"] == ["diabetes", "kidney"]  # the list's order
    page = (await world.browser.get(BASE + "/app/profile")).text
    assert 'id="goal-diabetes" name="goal_diabetes" value="yes" checked>' in page
    assert 'id="goal-lipids" name="goal_lipids" value="yes" >' in page
    assert "Your goals now: Diabetes and prediabetes, Chronic kidney disease." in page
    cleared = await _save(world)  # no box ticked: no goals
    assert cleared.status_code == 303
    assert (await _me(world))["learning_goals"] == []


async def test_six_goals_come_back_with_a_message_and_nothing_saved(basic_world: World) -> None:
    world = basic_world
    await sign_in(world)
    six = {f"goal_{topic}": "yes" for topic in list(TOPICS)[:6]}
    response = await _save(world, given_name="Ann", **six)
    assert response.status_code == 400
    page = response.text
    assert 'id="learning_goals-error">Choose at most 5 learning goals.' in page
    assert '<a href="#learning_goals">Learning goals: Choose at most 5' in page
    assert page.count('value="yes" checked>') == 6  # what was ticked is kept
    me = await _me(world)
    assert (me["learning_goals"], me["given_name"]) == ([], None)


async def test_the_api_carries_goals_and_refuses_unknown_or_too_many(basic_world: World) -> None:
    world = basic_world
    await sign_in(world)
    headers = {"X-CSRF-Token": await csrf_of(world)}
    me = BASE + "/api/learner/me"
    put = await world.browser.put(me, headers=headers, json={"learning_goals": ["lipids"]})
    assert put.status_code == 200, put.text
    assert put.json()["learning_goals"] == ["lipids"]
    for refused in (["lipids", "no-such-topic"], list(TOPICS)[:6], ["Lipids!"]):
        response = await world.browser.put(me, headers=headers, json={"learning_goals": refused})
        assert response.status_code == 400, refused
    other = await world.browser.put(me, headers=headers, json={"specialty": "cardiology"})
    assert other.status_code == 200
    assert other.json()["learning_goals"] == ["lipids"]  # left out: unchanged


def _in_a_year() -> date:
    return learning.now().date() + timedelta(days=365)


async def test_renewal_dates_are_saved_per_license_and_board_and_shown(
    basic_world: World,
) -> None:
    world = basic_world
    await sign_in(world)
    license_date, board_date = _in_a_year(), _in_a_year() + timedelta(days=30)
    saved = await _save(
        world,
        license_state_0="tx",
        license_number_0="X1",
        license_renews_0=license_date.isoformat(),
        license_state_1="FL",
        license_number_1="ME2",
        board_0="ABIM",
        board_id_0="123456",
        board_renews_0=board_date.isoformat(),
    )
    assert saved.status_code == 303, saved.text
    me = await _me(world)
    assert me["state_licenses"] == [
        {"state": "TX", "number": "X1", "renews_on": license_date.isoformat()},
        {"state": "FL", "number": "ME2"},
    ]
    assert me["board_ids"] == [
        {"board": "ABIM", "id": "123456", "renews_on": board_date.isoformat()}
    ]
    page = (await world.browser.get(BASE + "/app/profile")).text
    field = re.search(
        r'<input type="date" id="license_renews_0" name="license_renews_0"'
        r' value="([^"]*)"',
        page,
    )
    assert field
    assert field[1] == license_date.isoformat()
    assert '<label for="license_renews_0">Renewal date 1</label>' in page
    assert '<label for="board_renews_0">Board due date 1</label>' in page
    assert f'name="board_renews_0" value="{board_date.isoformat()}"' in page
    assert 'name="license_renews_1" value=""' in page


async def test_a_renewal_date_that_is_not_real_or_too_far_ahead_is_refused(
    basic_world: World,
) -> None:
    world = basic_world
    await sign_in(world)
    far = learning.now().date() + timedelta(days=11 * 366)
    response = await _save(
        world,
        license_state_0="TX",
        license_number_0="X1",
        license_renews_0="2027-02-30",
        license_state_1="FL",
        license_number_1="ME2",
        license_renews_1=far.isoformat(),
        board_0="ABIM",
        board_id_0="1",
        board_renews_0="31/12/2027",
    )
    assert response.status_code == 400
    page = response.text
    assert 'id="license_renews_0-error">Give a real date as year-month-day' in page
    assert 'id="license_renews_1-error">A renewal date is at most 10 years ahead' in page
    assert 'id="board_renews_0-error">Give a real date as year-month-day' in page
    assert "Renewal date 1: Give a real date" in page
    assert 'value="2027-02-30"' in page  # what was typed is kept
    assert (await _me(world))["state_licenses"] == []
    headers = {"X-CSRF-Token": await csrf_of(world)}
    api = await world.browser.put(
        BASE + "/api/learner/me",
        headers=headers,
        json={"state_licenses": [{"state": "TX", "number": "X1", "renews_on": far.isoformat()}]},
    )
    assert api.status_code == 400


async def test_a_renewal_date_alone_asks_for_its_license(basic_world: World) -> None:
    world = basic_world
    await sign_in(world)
    response = await _save(world, license_renews_0=_in_a_year().isoformat())
    assert response.status_code == 400
    assert 'id="license_state_0-error"' in response.text
