"""A case's learn page: each explanation said once, the best answer beside its own option, no
"Reflect and claim" before the case is answered (or passed), and a way back to the case."""

from __future__ import annotations

import re
from typing import Any

import pytest

from service.cards.library import ContentLibrary
from smart_app.markdown import without_verdict
from tests.e2e.world import World, card_context, csrf_of, sign_in
from tests.smart_app.content import make_case

BASE = "https://bedside.test"


def _option(option_id: str, text: str, explanation: str, correct: bool = False) -> dict[str, Any]:
    return {"id": option_id, "text": text, "correct": correct, "explanation": explanation}


@pytest.fixture(autouse=True)
def _test_library(monkeypatch: pytest.MonkeyPatch) -> None:
    """A case whose explanations open with a verdict, as the bundled cases' do."""
    case = make_case().case
    assert case is not None
    question = {
        "id": "q1",
        "stem": "How often?",
        "options": [
            _option("a", "Every month", "No. Far too often."),
            _option("b", "Every 3 years", "Right. The interval is 3 years when normal.", True),
            _option("c", "Never", "No. Screening is recommended."),
        ],
    }
    item = make_case(case={**case.model_dump(), "questions": [question], "passing_score": 1.0})
    library = ContentLibrary([item])

    def load(*_args: Any, **_kwargs: Any) -> ContentLibrary:
        return library

    monkeypatch.setattr("service.cards.library.load_library", load)


async def test_no_reflect_and_claim_before_the_case_is_answered(basic_world: World) -> None:
    world = basic_world
    path = (await sign_in(world, card_context(world, "test-case"))).headers["location"]
    learn = await world.browser.get(BASE + path)
    assert path + "/reflect" not in learn.text
    assert "Answer the questions of the case above" in learn.text
    home = await world.browser.get(BASE + "/app/")
    assert "Answer the case" in home.text
    assert path + "/reflect" not in home.text


async def test_feedback_says_each_thing_once_with_the_best_answer_by_its_option(
    basic_world: World,
) -> None:
    world = basic_world
    path = (await sign_in(world, card_context(world, "test-case"))).headers["location"]
    csrf = await csrf_of(world)
    await world.browser.post(BASE + path + "/answers", data={"csrf": csrf, "q_q1": "a"})
    page = (await world.browser.get(BASE + path)).text
    text = re.sub(r"<[^>]+>", "", page)
    assert "Not quite. Far too often." in text
    assert "No." not in text
    assert "The best answer. The interval is 3 years when normal." in text
    assert "Right." not in text
    # the best answer sits under its own option, not under the last one
    best, option_c = text.index("The best answer."), text.index("Never")
    assert text.index("Every 3 years") < best < option_c
    # failed: the message leads back to the case, and no claim is offered yet
    assert 'href="#case-h"' in page[page.index('id="feedback"') :]
    assert path + "/reflect" not in page
    home = await world.browser.get(BASE + "/app/")
    assert "Answer the case again" in home.text


async def test_a_right_answer_says_correct_once(basic_world: World) -> None:
    world = basic_world
    path = (await sign_in(world, card_context(world, "test-case"))).headers["location"]
    csrf = await csrf_of(world)
    await world.browser.post(BASE + path + "/answers", data={"csrf": csrf, "q_q1": "b"})
    page = (await world.browser.get(BASE + path)).text
    text = re.sub(r"<[^>]+>", "", page)
    assert "Correct. The interval is 3 years when normal." in text
    assert "Correct. Right." not in text
    assert "The best answer" not in text
    assert "You passed." in text
    assert path + "/reflect" in page


def test_explanations_lose_the_verdict_the_page_already_states() -> None:
    assert without_verdict("Right. The interval is 3 years.") == "The interval is 3 years."
    assert without_verdict("No. Far too often.") == "Far too often."
    assert without_verdict("Correct: yes") == "Yes"
    assert without_verdict("No single test is enough.") == "No single test is enough."
    assert without_verdict("Screening is due.") == "Screening is due."
