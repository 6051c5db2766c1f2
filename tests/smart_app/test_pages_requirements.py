"""The learner's requirements: the API and the home's section (progress bars with text, and
the items that count toward a missing topic)."""

from __future__ import annotations

from tests.e2e.world import World, csrf_of, sign_in

BASE = "https://bedside.test"


async def test_requirements_follow_the_profile(basic_world: World) -> None:
    world = basic_world
    await sign_in(world)
    csrf = await csrf_of(world)
    empty = await world.browser.get(BASE + "/api/learner/requirements")
    assert empty.status_code == 200
    me = await world.browser.put(
        BASE + "/api/learner/me",
        json={
            "profession": "physician-md",
            "state_licenses": [{"state": "tx", "number": "X1", "renews_on": "2027-05-31"}],
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert me.status_code == 200, me.text
    assert me.json()["state_licenses"][0]["renews_on"] == "2027-05-31"
    body = (await world.browser.get(BASE + "/api/learner/requirements")).json()
    by_id = {r["id"]: r for r in body["requirements"]}
    assert set(by_id) == {"tx-tmb-physician", "dea-mate-training"}
    texas = by_id["tx-tmb-physician"]
    assert (texas["earned"], texas["required"], texas["remaining"]) == (0, 48, 48)
    page = (await world.browser.get(BASE + "/app/")).text
    section = page[page.index('id="requirements-h"') : page.index('id="search-h"')]
    assert '<progress id="req-tx-tmb-physician"' in section
    assert "0 of 48 credits: 48 to go" in section
