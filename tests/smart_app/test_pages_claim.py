"""The reflect page: a refused claim keeps the cycle and says how to fix it, a claimed cycle
shows its credit instead of the form, and the form says what it refuses instead of cutting
or reverting what was typed."""

from __future__ import annotations

from tests.e2e.world import World, card_context, csrf_of, sign_in

BASE = "https://bedside.test"
REFLECTION = {"question": "Should my patient be screened?", "application": "confirmed-plan"}


async def _cycle(world: World, item_id: str = "test-guideline") -> tuple[str, str, str]:
    """(cycle page path, cycle id, CSRF token) of a cycle started from a card."""
    path = (await sign_in(world, card_context(world, item_id))).headers["location"]
    return path, path.rsplit("/", 1)[1], await csrf_of(world)


async def test_refused_claim_keeps_the_cycle_and_leads_to_the_profile_and_back(
    basic_world: World,
) -> None:
    world = basic_world
    path, cycle_id, csrf = await _cycle(world)
    refused = await world.browser.post(
        BASE + path + "/reflect", data={"csrf": csrf, **REFLECTION, "action": "claim"}
    )
    assert refused.status_code == 422, refused.text
    assert "profession" in refused.text
    assert f'href="/app/profile?cycle={cycle_id}"' in refused.text
    assert "Should my patient be screened?" in refused.text  # what was typed is kept
    home = await world.browser.get(BASE + "/app/")
    assert "Nothing pending" not in home.text
    assert f'href="/app/cycles/{cycle_id}/reflect"' in home.text  # still to finish
    profile = await world.browser.get(BASE + f"/app/profile?cycle={cycle_id}")
    assert profile.status_code == 200
    assert f'href="/app/cycles/{cycle_id}/reflect"' in profile.text  # the way back
    assert f'name="cycle" value="{cycle_id}"' in profile.text
    saved = await world.browser.post(
        BASE + "/app/profile", data={"csrf": csrf, "cycle": cycle_id, "profession": "physician-md"}
    )
    assert saved.headers["location"] == f"/app/cycles/{cycle_id}/reflect?notice=ready"
    back = await world.browser.get(BASE + saved.headers["location"])
    assert "you can claim your credit now" in back.text
    claimed = await world.browser.post(
        BASE + path + "/reflect", data={"csrf": csrf, **REFLECTION, "action": "claim"}
    )
    assert claimed.headers["location"] == "/app/?notice=claimed"


async def test_profession_given_on_the_reflect_form_lets_the_claim_through(
    basic_world: World,
) -> None:
    world = basic_world
    path, _, csrf = await _cycle(world)
    page = await world.browser.get(BASE + path + "/reflect")
    assert 'name="profession"' in page.text  # asked where it is needed, not only after a refusal
    claimed = await world.browser.post(
        BASE + path + "/reflect",
        data={"csrf": csrf, **REFLECTION, "profession": "nurse-practitioner", "action": "claim"},
    )
    assert claimed.headers["location"] == "/app/?notice=claimed", claimed.text
    page = await world.browser.get(BASE + "/app/profile")
    assert '<option value="nurse-practitioner" selected>' in page.text


async def test_another_learners_cycle_gives_no_way_back(basic_world: World) -> None:
    world = basic_world
    _, cycle_id, _ = await _cycle(world)
    world.browser.cookies.clear()
    await sign_in(world, practitioner="someone-else")
    profile = await world.browser.get(BASE + f"/app/profile?cycle={cycle_id}")
    assert profile.status_code == 200
    assert cycle_id not in profile.text


async def _profession(world: World, csrf: str, profession: str = "other") -> None:
    """Set the profession through the learner API (the pages' own ways are tested above)."""
    headers = {"X-CSRF-Token": csrf}
    me = await world.browser.put(
        BASE + "/api/learner/me", json={"profession": profession}, headers=headers
    )
    assert me.status_code == 200, me.text


async def _claim(world: World, path: str, csrf: str) -> None:
    await _profession(world, csrf)
    claimed = await world.browser.post(
        BASE + path + "/reflect", data={"csrf": csrf, **REFLECTION, "action": "claim"}
    )
    assert claimed.headers["location"] == "/app/?notice=claimed", claimed.text


async def test_a_claimed_cycle_shows_its_credit_not_the_form(basic_world: World) -> None:
    world = basic_world
    path, _, csrf = await _cycle(world)
    await _claim(world, path, csrf)
    entry = (await world.browser.get(BASE + "/api/learner/transcript")).json()["entries"][0]
    page = await world.browser.get(BASE + path + "/reflect")
    assert page.status_code == 200
    assert "<textarea" not in page.text
    assert 'value="claim"' not in page.text
    assert "Credit claimed" in page.text
    assert f"{entry['amount']:.2f} {entry['credit_label']}" in page.text
    assert f'href="/api/learner/entries/{entry["id"]}/certificate.pdf"' in page.text
    again = await world.browser.post(
        BASE + path + "/reflect", data={"csrf": csrf, **REFLECTION, "action": "claim"}
    )
    assert again.status_code == 303  # no dead end: back to the claimed state
    assert again.headers["location"] == path + "/reflect"
    learn = await world.browser.get(BASE + path)
    assert "Reflect and claim credit" not in learn.text
    assert "See your credit and certificate" in learn.text


async def test_an_emptied_question_is_an_error_shown_on_the_form(basic_world: World) -> None:
    world = basic_world
    path, cycle_id, csrf = await _cycle(world)
    response = await world.browser.post(
        BASE + path + "/reflect",
        data={
            "csrf": csrf,
            "question": "  ",
            "application": "other",
            "application_text": "Kept as typed.",
            "action": "later",
        },
    )
    assert response.status_code == 400
    assert 'id="question-error"' in response.text
    assert "Write your clinical question" in response.text
    assert 'aria-invalid="true"' in response.text
    assert "Kept as typed." in response.text
    assert 'id="app-other" name="application" value="other" checked' in response.text
    cycle = (await world.browser.get(f"{BASE}/api/learner/cycles/{cycle_id}")).json()
    assert cycle["question"] == "Which adults should be screened?"  # nothing half-saved
    assert cycle["application"] is None


async def test_over_long_text_is_refused_with_a_message_never_cut(basic_world: World) -> None:
    world = basic_world
    path, cycle_id, csrf = await _cycle(world)
    page = await world.browser.get(BASE + path + "/reflect")
    assert "up to 2,000 characters" in page.text
    assert 'maxlength="2000"' in page.text
    long = "Is screening useful? " * 100  # 2,100 characters
    response = await world.browser.post(
        BASE + path + "/reflect",
        data={"csrf": csrf, "question": long, "application": "confirmed-plan", "action": "later"},
    )
    assert response.status_code == 400
    assert "2,099 characters long and the limit is 2,000" in response.text
    assert long.strip() in response.text  # all of it, to shorten
    cycle = (await world.browser.get(f"{BASE}/api/learner/cycles/{cycle_id}")).json()
    assert cycle["question"] == "Which adults should be screened?"


async def test_line_breaks_count_as_the_browser_counts_them(basic_world: World) -> None:
    world = basic_world
    path, cycle_id, csrf = await _cycle(world)
    text = "a\r\n" * 999 + "a"  # 1,999 characters in the textarea, 2,997 bytes sent
    response = await world.browser.post(
        BASE + path + "/reflect",
        data={"csrf": csrf, "question": text, "application": "confirmed-plan", "action": "later"},
    )
    assert response.status_code == 303, response.text
    cycle = (await world.browser.get(f"{BASE}/api/learner/cycles/{cycle_id}")).json()
    assert len(cycle["question"]) == 1999


async def test_a_case_not_passed_leads_back_to_the_case(basic_world: World) -> None:
    world = basic_world
    path, cycle_id, csrf = await _cycle(world, "test-case")
    await _profession(world, csrf)
    await world.browser.post(
        BASE + path + "/answers", data={"csrf": csrf, "q_q1": "b", "q_q2": "b"}
    )
    reflect = await world.browser.get(BASE + path + "/reflect")
    assert 'value="claim"' not in reflect.text  # no claim to offer yet
    assert f'href="/app/cycles/{cycle_id}#case-h"' in reflect.text
    refused = await world.browser.post(
        BASE + path + "/reflect", data={"csrf": csrf, **REFLECTION, "action": "claim"}
    )
    assert refused.status_code == 422
    assert f'href="/app/cycles/{cycle_id}#case-h"' in refused.text


async def test_a_missing_library_item_is_said_as_such(basic_world: World) -> None:
    world = basic_world
    await sign_in(world, card_context(world, "test-guideline"))
    csrf = await csrf_of(world)
    page = await world.browser.post(BASE + "/app/library/no-such-item/learn", data={"csrf": csrf})
    assert page.status_code == 404
    assert "no longer in the library" in page.text
    assert "learning cycle was not found" not in page.text
