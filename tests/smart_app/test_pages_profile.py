"""The profile: asked for the profession at first sign-in (one step, with the reason), a page
of its own that says what is needed for what, a bad form shown again with what was typed and
plain messages, and a new API token shown at the top of a page of its own."""

from __future__ import annotations

import re

from tests.e2e.world import World, card_context, csrf_of, sign_in

BASE = "https://bedside.test"


async def test_first_sign_in_asks_the_profession_in_one_step(basic_world: World) -> None:
    world = basic_world
    path = (await sign_in(world, card_context(world, "test-guideline"))).headers["location"]
    cycle_id = path.rsplit("/", 1)[1]
    for page in (await world.browser.get(BASE + path), await world.browser.get(BASE + "/app/")):
        assert 'action="/app/profession"' in page.text
        assert "Your credit depends on it" in page.text
    csrf = await csrf_of(world)
    saved = await world.browser.post(
        BASE + "/app/profession",
        data={"csrf": csrf, "profession": "physician-do", "cycle": cycle_id},
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == path  # back where it was asked
    learn = await world.browser.get(BASE + path)
    assert 'action="/app/profession"' not in learn.text
    me = (await world.browser.get(BASE + "/api/learner/me")).json()
    assert me["profession"] == "physician-do"


async def test_profile_page_says_what_is_needed_for_what(basic_world: World) -> None:
    world = basic_world
    await sign_in(world)
    home = await world.browser.get(BASE + "/app/")
    assert 'href="/app/profile"' in home.text
    assert 'action="/app/profile"' not in home.text  # the profile has a page of its own
    page = await world.browser.get(BASE + "/app/profile")
    assert page.status_code == 200
    assert "Everything here is optional" not in page.text
    assert "To claim any credit: your profession." in page.text
    assert "Only if Bedside should report your credit for you" in page.text


async def test_a_bad_profile_form_comes_back_with_what_was_typed_and_plain_messages(
    basic_world: World,
) -> None:
    world = basic_world
    await sign_in(world)
    csrf = await csrf_of(world)
    form = {
        "csrf": csrf,
        "given_name": "Ann",
        "family_name": "Lee",
        "profession": "physician-md",
        "npi": "123",
        "license_state_0": "Massachusetts",
        "license_number_0": "MD-1",
        "birth_month": "4",
        "birth_day": "31",
    }
    response = await world.browser.post(BASE + "/app/profile", data=form)
    assert response.status_code == 400
    page = response.text
    assert "<h1>Your profile</h1>" in page
    assert "birth_day" not in re.sub(r'(id|name|for|href|aria-describedby)="[^"]*"', "", page)
    assert "Sign in to Bedside" not in page
    assert "Sign out" in page
    for value in ("Ann", "Lee", "Massachusetts", "MD-1", "123", "31"):
        assert f'value="{value}"' in page, value
    assert '<option value="physician-md" selected>' in page
    assert 'id="npi-error">An NPI is' in page
    assert "April has no day 31." in page
    assert "State 1: Use the state&#39;s two-letter code" in page
    assert 'id="license_state_0" name="license_state_0"' in page
    me = (await world.browser.get(BASE + "/api/learner/me")).json()
    assert me["given_name"] is None  # nothing half-saved


async def test_given_and_family_names_are_saved(basic_world: World) -> None:
    world = basic_world
    await sign_in(world)
    csrf = await csrf_of(world)
    response = await world.browser.post(
        BASE + "/app/profile",
        data={"csrf": csrf, "given_name": "Maria", "family_name": "de la Cruz"},
    )
    assert response.status_code == 303, response.text
    me = (await world.browser.get(BASE + "/api/learner/me")).json()
    assert (me["given_name"], me["family_name"]) == ("Maria", "de la Cruz")
    page = await world.browser.get(BASE + "/app/profile")
    assert 'value="de la Cruz"' in page.text


async def test_a_new_token_is_shown_at_the_top_of_its_own_page(basic_world: World) -> None:
    world = basic_world
    await sign_in(world, card_context(world, "test-guideline"))
    csrf = await csrf_of(world)
    response = await world.browser.post(BASE + "/app/token", data={"csrf": csrf})
    assert response.status_code == 200
    page = response.text
    token = re.search(r'id="token"[^>]*value="([^"]+)"', page)
    assert token
    main = page[page.index("<main") :]
    assert main.index('id="token"') < main.index("</h1>") + 400  # right under the heading
    assert "To finish" not in page
    assert 'href="/app/"' in main  # and a way on
    me = await world.browser.get(
        BASE + "/api/learner/me", headers={"Authorization": "Bearer " + token.group(1)}
    )
    assert me.status_code == 200
