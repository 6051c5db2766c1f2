"""The learner's requirements: the API and the home's section (progress bars with text, and
the items that count toward a missing topic), dated by the renewal date given in the profile
form, and moved by a claim."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from smart_app import learning
from tests.e2e.world import World, card_context, csrf_of, sign_in

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


async def test_a_renewal_date_from_the_form_shows_progress_and_a_claim_moves_it(
    basic_world: World,
) -> None:
    """Texas: 48 credits in the 24 months before the license's renewal; the profile form's
    renewal date dates the cycle, and a claimed credit counts toward it at once."""
    world = basic_world
    path = (await sign_in(world, card_context(world, "test-guideline"))).headers["location"]
    csrf = await csrf_of(world)
    renews = learning.now().date() + timedelta(days=200)
    saved = await world.browser.post(
        BASE + "/app/profile",
        data={
            "csrf": csrf,
            "profession": "physician-md",
            "license_state_0": "TX",
            "license_number_0": "X1",
            "license_renews_0": renews.isoformat(),
        },
    )
    assert saved.status_code == 303, saved.text

    async def texas() -> tuple[dict[str, Any], str]:
        body = (await world.browser.get(BASE + "/api/learner/requirements")).json()
        page = (await world.browser.get(BASE + "/app/")).text
        section = page[page.index('id="requirements-h"') : page.index('id="search-h"')]
        return {r["id"]: r for r in body["requirements"]}["tx-tmb-physician"], section

    before, section = await texas()
    assert (before["earned"], before["remaining"], before["due"]) == (0, 48, renews.isoformat())
    assert f"Due {renews:%d %b %Y}" in section
    assert "0 of 48 credits: 48 to go" in section
    claimed = await world.browser.post(
        BASE + path + "/reflect",
        data={"csrf": csrf, "question": "Q?", "application": "confirmed-plan", "action": "claim"},
    )
    assert claimed.status_code == 303, claimed.text
    after, section = await texas()
    assert (after["earned"], after["remaining"]) == (0.5, 47.5)
    assert "0.5 of 48 credits: 47.5 to go" in section
