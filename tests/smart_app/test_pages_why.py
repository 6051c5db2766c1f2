"""The learn page's one line on why a card was shown: "Why this card: ...", muted, right under
the title, from the code the card's signed appContext carried (kept on the cycle at launch);
never for a cycle the learner started from the library."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from service.cards.library import ContentLibrary
from smart_app import learning
from tests.e2e.world import World, csrf_of, learner_of, sign_in
from tests.smart_app.content import make_case, make_guideline

BASE = "https://bedside.test"


@pytest.fixture(autouse=True)
def _test_library(monkeypatch: pytest.MonkeyPatch) -> None:
    library = ContentLibrary(
        [make_guideline(topics=["diabetes"]), make_case(topics=["diabetes"])],
        topics={"diabetes": "Diabetes and prediabetes", "kidney": "Chronic kidney disease"},
    )

    def load(*_args: Any, **_kwargs: Any) -> ContentLibrary:
        return library

    monkeypatch.setattr("service.cards.library.load_library", load)


async def _learn_page(world: World, why: str | None, card: str = "card-1") -> str:
    context = world.runtime.app_context.sign(
        card_uuid=card,
        item_id="test-guideline",
        hook="patient-view",
        learner=learner_of(world),
        why=why,
    )
    path = (await sign_in(world, context)).headers["location"]
    assert path.startswith("/app/cycles/"), path
    return (await world.browser.get(BASE + path)).text


def _why(page: str) -> str | None:
    found = re.search(r'<p class="meta" id="why">Why this card: ([^<]*)</p>', page)
    return found[1] if found else None


async def test_a_goal_says_so_under_the_title(basic_world: World) -> None:
    page = await _learn_page(basic_world, "goal:diabetes")
    assert _why(page) == "You asked to focus on Diabetes and prediabetes."
    title = page.index("<h1>Screening for prediabetes</h1>")
    assert title < page.index('id="why"') < page.index("What the guideline says")


async def test_a_miss_says_how_long_ago(basic_world: World) -> None:
    missed = learning.now().date() - timedelta(days=9)
    page = await _learn_page(basic_world, f"missed:{missed.isoformat()}")
    assert _why(page) == "You missed a question on this 9 days ago."


async def test_a_card_without_a_reason_or_with_a_garbled_one_matches_the_record(
    basic_world: World,
) -> None:
    world = basic_world
    assert _why(await _learn_page(world, None)) == "It matches this patient&#39;s record."
    world.browser.cookies.clear()
    garbled = await _learn_page(world, "goal:<script>", card="card-2")
    assert _why(garbled) == "It matches this patient&#39;s record."
    assert "<script>" not in garbled


async def test_a_cycle_from_the_library_has_no_why_line(basic_world: World) -> None:
    world = basic_world
    await sign_in(world)
    started = await world.browser.post(
        BASE + "/app/library/test-case/learn", data={"csrf": await csrf_of(world)}
    )
    page = (await world.browser.get(BASE + started.headers["location"])).text
    assert "<h1>A two-minute screening case</h1>" in page
    assert "Why this card" not in page
