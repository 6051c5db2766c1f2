"""From a card's appContext to a claimed credit, through the pages (guideline and case)."""

from __future__ import annotations

import pytest

from tests.e2e.world import World, card_context, csrf_of, sign_in

BASE = "https://bedside.test"


async def _profile(world: World, csrf: str) -> None:
    response = await world.browser.post(
        BASE + "/app/profile",
        data={
            "csrf": csrf,
            "given_name": "Test",
            "family_name": "Doctor",
            "profession": "physician-md",
            "npi": "1234567893",
            "birth_month": "4",
            "birth_day": "12",
            "consent_to_report": "yes",
        },
    )
    assert response.status_code == 303, response.text


async def _reflect_and_claim(world: World, cycle_url: str, csrf: str) -> None:
    page = await world.browser.get(BASE + cycle_url + "/reflect")
    assert page.status_code == 200
    assert "Which adults should be screened?" in page.text  # pre-filled question
    assert "patient names" in page.text  # the reminder about identifiers
    response = await world.browser.post(
        BASE + cycle_url + "/reflect",
        data={
            "csrf": csrf,
            "question": "Should my patient be screened?",
            "application": "changed-management",
            "application_text": "Ordered the test.",
            "action": "claim",
        },
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/app/?notice=claimed"


async def test_guideline_card_to_claimed_credit(world: World) -> None:
    done = await sign_in(world, card_context(world, "test-guideline"))
    cycle_url = done.headers["location"]
    assert cycle_url.startswith("/app/cycles/")
    learn = await world.browser.get(BASE + cycle_url)
    assert learn.status_code == 200
    assert "<strong>every 3 years</strong>" in learn.text
    assert "Grade of evidence: B" in learn.text
    assert "disclosures" in learn.text
    assert "frame-ancestors 'self' https://ehr.test" in learn.headers["content-security-policy"]
    assert "x-frame-options" not in learn.headers
    csrf = await csrf_of(world)
    await _profile(world, csrf)
    await _reflect_and_claim(world, cycle_url, csrf)
    home = await world.browser.get(BASE + "/app/")
    assert "Screening for prediabetes" in home.text
    assert "0.50" in home.text
    assert "Nothing pending" in home.text


async def test_case_scored_with_feedback_then_claimed(basic_world: World) -> None:
    world = basic_world
    done = await sign_in(world, card_context(world, "test-case"))
    cycle_url = done.headers["location"]
    csrf = await csrf_of(world)
    answered = await world.browser.post(
        BASE + cycle_url + "/answers", data={"csrf": csrf, "q_q1": "a", "q_q2": "b"}
    )
    assert answered.status_code == 303
    learn = await world.browser.get(BASE + cycle_url)
    assert "1 of 2 correctly (50%)" in learn.text
    assert "You passed." in learn.text
    assert "Far too often." in learn.text
    assert "The best answer.</strong> The interval is 3 years when normal." in learn.text
    await _profile(world, csrf)
    await _reflect_and_claim(world, cycle_url, csrf)


async def test_finish_later_keeps_cycle_pending(basic_world: World) -> None:
    world = basic_world
    cycle_url = (await sign_in(world, card_context(world, "test-guideline"))).headers["location"]
    csrf = await csrf_of(world)
    response = await world.browser.post(
        BASE + cycle_url + "/reflect", data={"csrf": csrf, "question": "Q?", "action": "later"}
    )
    assert response.headers["location"] == "/app/?notice=saved"
    home = await world.browser.get(BASE + "/app/")
    assert "To finish" in home.text
    assert "Screening for prediabetes" in home.text


@pytest.mark.parametrize("csrf", ["", "wrong"])
async def test_forms_need_the_session_csrf_token(basic_world: World, csrf: str) -> None:
    world = basic_world
    cycle_url = (await sign_in(world, card_context(world, "test-guideline"))).headers["location"]
    response = await world.browser.post(
        BASE + cycle_url + "/reflect", data={"csrf": csrf, "action": "claim"}
    )
    assert response.status_code == 403


async def test_search_the_library_and_learn_without_a_card(basic_world: World) -> None:
    world = basic_world
    await sign_in(world)
    page = await world.browser.get(BASE + "/app/", params={"q": "screening prediabetes"})
    assert "Screening for prediabetes" in page.text
    csrf = await csrf_of(world)
    started = await world.browser.post(
        BASE + "/app/library/test-guideline/learn", data={"csrf": csrf}
    )
    assert started.status_code == 303
    assert started.headers["location"].startswith("/app/cycles/")
    missing = await world.browser.post(BASE + "/app/library/nope/learn", data={"csrf": csrf})
    assert missing.status_code == 404
    assert "Back to My learning" in missing.text  # signed in: no "Sign in" dead end
    assert "Sign in to Bedside" not in missing.text


async def test_profile_form_keeps_licenses_boards_and_specialty(world: World) -> None:
    await sign_in(world, card_context(world, "test-guideline"))
    csrf = await csrf_of(world)
    form = {
        "csrf": csrf,
        "profession": "physician-do",
        "specialty": "family-medicine",
        "license_state_0": "ma",
        "license_number_0": "MD-12345",
        "license_state_1": "",
        "license_number_1": "",
        "board_0": "abfm",
        "board_id_0": "998877",
    }
    response = await world.browser.post(BASE + "/app/profile", data=form)
    assert response.status_code == 303, response.text
    me = (await world.browser.get(BASE + "/api/learner/me")).json()
    assert me["specialty"] == "family-medicine"
    assert me["state_licenses"] == [{"state": "MA", "number": "MD-12345"}]
    assert me["board_ids"] == [{"board": "ABFM", "id": "998877"}]
    page = await world.browser.get(BASE + "/app/profile")
    assert 'value="MD-12345"' in page.text
    bad = await world.browser.post(
        BASE + "/app/profile", data={**form, "license_state_0": "Massachusetts"}
    )
    assert bad.status_code == 400


async def test_divergent_authorities_side_by_side_with_objectives_and_disclosures(
    basic_world: World,
) -> None:
    world = basic_world
    cycle_url = (await sign_in(world, card_context(world, "test-views"))).headers["location"]
    page = (await world.browser.get(BASE + cycle_url)).text
    assert "you will be able to" in page
    assert "Explain to parents where the CDC and AAP schedules differ." in page
    views = page[page.index('class="perspectives"') :]
    cdc, aap = views.index("<h3>CDC (2026)</h3>"), views.index("<h3>AAP (2026)</h3>")
    assert cdc < views.index("Birth dose by shared decision.") < aap
    assert views.index("Every newborn within 24 hours.") > aap
    assert "American Academy of Pediatrics, 2026; checked 01 Dec 2026" in views
    assert "(edition 2026)" in page
    assert "Checked against this edition on 01 Dec 2026." in page
    assert "Review note: The AAP policy statement table was not readable." in page
    # who controls the content, with disclosures, before the learner starts (ACCME)
    rules = world.runtime.credit_rules
    assert rules.planners[0].name in page
    assert rules.statements.accreditation[:40] in page
