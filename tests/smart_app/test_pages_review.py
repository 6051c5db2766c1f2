"""The review queue in the app: a question missed in a case comes back (FSRS: the next day),
the home shows "N to review", the review page asks it in 30 seconds and grades it, and the
learner API lists and answers due questions (another learner's id is 404)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import httpx
import pytest

from smart_app import learning
from tests.e2e.world import World, card_context, csrf_of, sign_in

BASE = "https://bedside.test"
API = BASE + "/api/learner"


async def _missed_q1(world: World) -> None:
    """Answer the test case with its first question wrong."""
    path = (await sign_in(world, card_context(world, "test-case"))).headers["location"]
    csrf = await csrf_of(world)
    answered = await world.browser.post(
        BASE + path + "/answers", data={"csrf": csrf, "q_q1": "b", "q_q2": "a"}
    )
    assert answered.status_code == 303


def _days_later(monkeypatch: pytest.MonkeyPatch, days: int) -> None:
    later = learning.now() + timedelta(days=days)
    monkeypatch.setattr(learning, "now", lambda: later)


async def test_a_missed_question_comes_back_on_the_home_and_its_page(
    basic_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = basic_world
    await _missed_q1(world)
    assert "to review" not in (await world.browser.get(BASE + "/app/")).text  # due tomorrow
    _days_later(monkeypatch, 2)
    home = (await world.browser.get(BASE + "/app/")).text
    found = re.search(r'href="(/app/reviews/[0-9a-f-]+)">1 to review<', home)
    assert found, home
    page = await world.browser.get(BASE + found[1])
    assert page.status_code == 200
    assert "What do you recommend?" in page.text
    assert "Screen now" in page.text
    assert "How often?" not in page.text  # just the question: q2 was right
    forged = await world.browser.post(BASE + found[1], data={"choice": "a"})
    assert forged.status_code == 403
    csrf = await csrf_of(world)
    empty = await world.browser.post(BASE + found[1], data={"csrf": csrf})
    assert empty.status_code == 400
    assert "Choose one of the answers." in empty.text
    graded = await world.browser.post(BASE + found[1], data={"csrf": csrf, "choice": "a"})
    assert graded.status_code == 200
    assert "Correct." in graded.text
    assert 'id="next-due"' in graded.text
    assert 'href="/app/"' in graded.text
    assert "to review" not in (await world.browser.get(BASE + "/app/")).text


async def test_the_learner_api_lists_and_answers_due_questions(
    basic_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = basic_world
    await _missed_q1(world)
    csrf = await csrf_of(world)
    token = (await world.browser.post(API + "/token", headers={"X-CSRF-Token": csrf})).json()
    auth = {"Authorization": "Bearer " + token["access_token"]}
    async with httpx.AsyncClient(transport=world.browser._transport) as tool:  # no cookies
        assert (await tool.get(API + "/reviews/due", headers=auth)).json() == []
        _days_later(monkeypatch, 2)
        (due,) = (await tool.get(API + "/reviews/due", headers=auth)).json()
        assert due["item_title"] == "A two-minute screening case"
        assert due["question"] == "What do you recommend?"
        assert [o["id"] for o in due["options"]] == ["a", "b"]
        answer = f"{API}/reviews/{due['id']}/answer"
        assert (await tool.post(answer, headers=auth, json={"choice": "z"})).status_code == 400
        assert (await tool.post(answer, headers=auth, json={})).status_code == 400
        graded = await tool.post(answer, headers=auth, json={"choice": "b"})
        assert graded.status_code == 200, graded.text
        body = graded.json()
        assert body["correct"] is False
        assert body["best_answer"] == {"id": "a", "text": "Screen now"}
        assert body["explanation"] == "Screening is recommended at his age."
        assert datetime.fromisoformat(body["next_due"]) > learning.now()
        assert (await tool.get(API + "/reviews/due", headers=auth)).json() == []
    world.browser.cookies.clear()
    await sign_in(world, practitioner="someone-else")
    other = await world.browser.post(
        answer, headers={"X-CSRF-Token": await csrf_of(world)}, json={"choice": "a"}
    )
    assert other.status_code == 404
    assert (await world.browser.get(BASE + f"/app/reviews/{due['id']}")).status_code == 404
