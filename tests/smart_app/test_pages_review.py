"""The review queue in the app: a question missed in a case, or answered right but ticked "I'm
not sure", comes back (FSRS: the next day or so), the home shows "N to review", the review
page says why it is there, asks it in 30 seconds and grades it, two right answers in a row
master it (it leaves the queue), and the learner API takes unsure marks, lists and answers
due questions (another learner's id is 404)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from smart_app import learning, views
from tests.e2e.world import World, card_context, csrf_of, learner_of, sign_in

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


async def _case_page(world: World) -> tuple[str, str]:
    path = (await sign_in(world, card_context(world, "test-case"))).headers["location"]
    return path, (await world.browser.get(BASE + path)).text


async def test_each_case_question_has_an_unsure_box_with_its_own_label(
    basic_world: World,
) -> None:
    _path, page = await _case_page(basic_world)
    for question in ("q1", "q2"):
        box = re.search(
            rf'<input type="checkbox" id="unsure-{question}" name="unsure_{question}"'
            r' value="yes"[^>]*>',
            page,
        )
        assert box, page
        assert f'<label for="unsure-{question}">I\'m not sure' in page
    assert page.index('id="unsure-q1"') < page.index("How often?") < page.index('id="unsure-q2"')
    assert "<script" not in page


async def test_a_right_answer_marked_unsure_comes_back_and_says_why(
    basic_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = basic_world
    path, _page = await _case_page(world)
    csrf = await csrf_of(world)
    queued = learning.now().date()
    answered = await world.browser.post(
        BASE + path + "/answers",
        data={"csrf": csrf, "q_q1": "a", "q_q2": "a", "unsure_q2": "yes"},
    )
    assert answered.status_code == 303
    learn = await world.browser.get(BASE + path)
    assert "You answered 2 of 2 correctly" in learn.text  # unsure never changes the score
    _days_later(monkeypatch, 2)
    home = (await world.browser.get(BASE + "/app/")).text
    found = re.search(r'href="(/app/reviews/[0-9a-f-]+)">1 to review<', home)
    assert found, home
    page = (await world.browser.get(BASE + found[1])).text
    assert "How often?" in page  # the unsure one; q1 was sure and right
    assert "What do you recommend?" not in page
    assert f"You marked this unsure on {queued.day} {queued:%b}" in page


async def test_a_missed_question_says_when_it_was_missed(
    basic_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = basic_world
    queued = learning.now().date()
    await _missed_q1(world)
    _days_later(monkeypatch, 2)
    (due,) = (await world.browser.get(API + "/reviews/due")).json()
    assert (due["reason"], due["good_streak"]) == ("missed", 0)
    page = (await world.browser.get(f"{BASE}/app/reviews/{due['id']}")).text
    assert f"You missed this on {queued.day} {queued:%b}" in page


async def test_two_right_answers_master_a_question_and_it_leaves_the_queue(
    basic_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = basic_world
    await _missed_q1(world)
    _days_later(monkeypatch, 2)
    home = (await world.browser.get(BASE + "/app/")).text
    found = re.search(r'href="(/app/reviews/[0-9a-f-]+)">1 to review<', home)
    assert found, home
    csrf = await csrf_of(world)
    first = (await world.browser.post(BASE + found[1], data={"csrf": csrf, "choice": "a"})).text
    assert "Correct." in first
    assert 'id="mastered"' not in first
    assert "answer it well once more and it leaves your queue" in first
    due_on = re.search(r'id="next-due">(\d{2} \w{3} \d{4})<', first)
    assert due_on, first
    next_due = datetime.strptime(due_on[1], "%d %b %Y").replace(tzinfo=UTC)
    assert next_due.date() > learning.now().date()  # its next due date moved out
    # posted again at once: the same feedback, counted once
    again = (await world.browser.post(BASE + found[1], data={"csrf": csrf, "choice": "a"})).text
    assert 'id="mastered"' not in again
    later = next_due + timedelta(days=1)
    monkeypatch.setattr(learning, "now", lambda: later)
    home = (await world.browser.get(BASE + "/app/")).text
    assert f'href="{found[1]}">1 to review<' in home
    second = (await world.browser.post(BASE + found[1], data={"csrf": csrf, "choice": "a"})).text
    assert "Mastered: this question leaves your queue." in second
    assert 'id="next-due"' not in second
    far = later + timedelta(days=400)
    monkeypatch.setattr(learning, "now", lambda: far)
    assert "to review" not in (await world.browser.get(BASE + "/app/")).text
    assert (await world.browser.get(API + "/reviews/due")).json() == []


async def test_the_api_takes_unsure_marks_and_says_when_a_question_is_mastered(
    basic_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = basic_world
    path = (await sign_in(world, card_context(world, "test-case"))).headers["location"]
    cycle = f"{API}/cycles/{path.rsplit('/', 1)[1]}"
    headers = {"X-CSRF-Token": await csrf_of(world)}
    alone = await world.browser.patch(cycle, headers=headers, json={"unsure": ["q1"]})
    assert alone.status_code == 400  # unsure marks go with the answers they mark
    too_long = await world.browser.patch(
        cycle, headers=headers, json={"case_answers": {"q1": "a"}, "unsure": ["q" * 21]}
    )
    assert too_long.status_code == 400
    patched = await world.browser.patch(
        cycle,
        headers=headers,
        json={"case_answers": {"q1": "a", "q2": "b"}, "unsure": ["q1", "q2", "q9"]},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["case_score"] == 0.5
    _days_later(monkeypatch, 3)
    due = {r["question_id"]: r for r in (await world.browser.get(API + "/reviews/due")).json()}
    assert {q: r["reason"] for q, r in due.items()} == {"q1": "unsure", "q2": "missed"}
    answer = f"{API}/reviews/{due['q1']['id']}/answer"
    first = (await world.browser.post(answer, headers=headers, json={"choice": "a"})).json()
    assert (first["correct"], first["good_streak"], first["mastered"]) == (True, 1, False)
    at = datetime.fromisoformat(first["next_due"])
    monkeypatch.setattr(learning, "now", lambda: at)
    second = (await world.browser.post(answer, headers=headers, json={"choice": "a"})).json()
    assert (second["correct"], second["good_streak"], second["mastered"]) == (True, 2, True)
    left = [r["question_id"] for r in (await world.browser.get(API + "/reviews/due")).json()]
    assert left == ["q2"]


async def test_the_home_gets_the_exact_count_for_n_to_review(
    basic_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`review_count`: exact up to 50, then "50+" (the cap itself: tests/reviews)."""
    world = basic_world
    await _missed_q1(world)
    async with world.runtime.sessions() as db:
        assert (await views.home(world.runtime, db, learner_of(world), query=""))[
            "review_count"
        ] == "0"
        _days_later(monkeypatch, 2)
        context = await views.home(world.runtime, db, learner_of(world), query="")
    assert context["review_count"] == "1"
