"""The learner home at a glance: cycles to finish first (nearest deadline first), totals by
year and credit type, a chart of credits per month (SVG, with a table for screen readers),
and its one adapter over the credit service."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from smart_app import learning
from tests.e2e.world import World, card_context, csrf_of, sign_in

BASE = "https://bedside.test"


async def test_home_shows_totals_and_a_chart_with_a_table(basic_world: World) -> None:
    world = basic_world
    path = (await sign_in(world, card_context(world, "test-guideline"))).headers["location"]
    csrf = await csrf_of(world)
    me = await world.browser.put(
        BASE + "/api/learner/me",
        json={"profession": "physician-md"},
        headers={"X-CSRF-Token": csrf},
    )
    assert me.status_code == 200
    claimed = await world.browser.post(
        BASE + path + "/reflect",
        data={"csrf": csrf, "question": "Q?", "application": "confirmed-plan", "action": "claim"},
    )
    assert claimed.status_code == 303, claimed.text
    page = (await world.browser.get(BASE + "/app/")).text
    assert "<caption>Credits by year and type</caption>" in page
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert 'aria-hidden="true"' in svg
    bars = re.findall(r'<rect class="bar"[^>]*height="([\d.]+)"', svg)
    assert bars == ["85.0"]  # one month with credit, the tallest
    table = page[page.index("<caption>Credits per month") :]
    this_month = learning.now().date().strftime("%B %Y")
    assert f"<td>{this_month}</td><td>0.50</td>" in table
    assert table.count("<tr><td>") == 12


async def test_cycles_to_finish_come_first_nearest_deadline_first(
    basic_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = basic_world
    await sign_in(world)
    csrf = await csrf_of(world)
    earlier = datetime.now(UTC) - timedelta(days=40)
    with monkeypatch.context() as patch:
        patch.setattr("smart_app.learning.now", lambda: earlier)
        await world.browser.post(BASE + "/app/library/test-views/learn", data={"csrf": csrf})
    await world.browser.post(BASE + "/app/library/test-guideline/learn", data={"csrf": csrf})
    page = (await world.browser.get(BASE + "/app/")).text
    assert page.index("To finish") < page.index("Your credits")
    older, newer = page.index("Hepatitis B vaccine at birth"), page.index("Screening for prediabe")
    assert older < newer  # started first, so its claim window closes first
    deadline = (earlier + timedelta(days=world.runtime.credit_rules.claim_window_days)).date()
    assert f"Claim by {deadline:%d %b %Y}" in page
