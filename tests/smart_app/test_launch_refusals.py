"""What the launch and the callback refuse: state, code, redirect URI, id_token, appContext,
open redirects. None of them ends in a 500 or a signed-in session."""

from __future__ import annotations

import time

import pytest

from ehr_simulator.state import register_launch
from tests.e2e.world import World, card_context, learner_of, practitioner_id, query_of, sign_in

BASE = "https://bedside.test"


def _launch(world: World, app_context: str | None = None) -> str:
    patient = world.config.patients.patients()[0]["id"]
    return register_launch(
        world.sim.state,
        patient=patient,
        practitioner=practitioner_id(world),
        app_context=app_context,
    )


async def _callback_url(world: World) -> str:
    redirect = await world.authorize(await world.start_launch(_launch(world)))
    return str(redirect.headers["location"])


def _signed_in(response: object) -> bool:
    return "bedside_session=" in str(getattr(response, "headers", {}).get("set-cookie", ""))


async def test_missing_state_is_refused(basic_world: World) -> None:
    url = await _callback_url(basic_world)
    code = query_of(url)["code"]
    response = await basic_world.browser.get(BASE + "/app/callback", params={"code": code})
    assert response.status_code == 400
    assert not _signed_in(response)
    assert "expired or was already used" in response.text


async def test_bad_state_is_refused(basic_world: World) -> None:
    url = await _callback_url(basic_world)
    response = await basic_world.browser.get(
        BASE + "/app/callback", params={"code": query_of(url)["code"], "state": "forged"}
    )
    assert response.status_code == 400
    assert not _signed_in(response)


async def test_replayed_state_is_refused(basic_world: World) -> None:
    url = await _callback_url(basic_world)
    first = await basic_world.browser.get(url)
    assert first.status_code == 303
    again = await basic_world.browser.get(url)
    assert again.status_code == 400
    assert not _signed_in(again)


async def test_state_from_another_browser_is_refused(basic_world: World) -> None:
    url = await _callback_url(basic_world)
    basic_world.browser.cookies.clear()  # the attacker's browser has no launch cookie
    response = await basic_world.browser.get(url)
    assert response.status_code == 400
    assert not _signed_in(response)


async def test_code_replay_is_refused_by_the_ehr(basic_world: World) -> None:
    url = await _callback_url(basic_world)
    code = query_of(url)["code"]
    assert (await basic_world.browser.get(url)).status_code == 303
    # A second launch in the same browser gets a fresh state; replay the old code with it.
    fresh = await _callback_url(basic_world)
    replay = await basic_world.browser.get(
        BASE + "/app/callback", params={"code": code, "state": query_of(fresh)["state"]}
    )
    assert replay.status_code == 400
    assert "refused the authorization code" in replay.text


async def test_wrong_redirect_uri_is_refused_by_the_ehr(basic_world: World) -> None:
    redirect = await basic_world.start_launch(_launch(basic_world))
    location = redirect.headers["location"].replace(
        "bedside.test%2Fapp%2Fcallback", "evil.example%2Fapp%2Fcallback"
    )
    response = await basic_world.browser.get(location)
    assert response.status_code == 400
    assert "location" not in response.headers


async def test_ehr_error_response_is_shown_as_a_page(basic_world: World) -> None:
    response = await basic_world.browser.get(
        BASE + "/app/callback", params={"error": "access_denied", "state": "x"}
    )
    assert response.status_code == 400
    assert "did not authorise" in response.text


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"iss": "https://other-ehr.test"}, "issued by someone else"),
        ({"aud": "another-app"}, "not meant for this app"),
        ({"nonce": "replayed-nonce"}, "does not belong to this sign-in"),
        ({"exp": 1_000_000}, "has expired"),
        ({"fhirUser": ""}, "no fhirUser"),
    ],
)
async def test_id_token_claims_are_checked(
    basic_world: World, fault: dict[str, object], message: str
) -> None:
    basic_world.sim_state.id_token_faults.update(fault)
    response = await sign_in(basic_world)
    assert response.status_code == 400
    assert message in response.text
    assert not _signed_in(response)


async def test_unsigned_id_token_is_refused(basic_world: World) -> None:
    basic_world.sim_state.unsigned_id_token = True
    response = await sign_in(basic_world)
    assert response.status_code == 400
    assert "signature is not valid" in response.text


async def test_id_token_signed_by_another_key_is_refused(basic_world: World) -> None:
    from ehr_simulator.state import new_key

    basic_world.sim_state.id_token_key = new_key()  # not in the EHR's published key set
    response = await sign_in(basic_world)
    assert response.status_code == 400
    assert "signature is not valid" in response.text
    assert not _signed_in(response)


@pytest.mark.parametrize("notice", ["invalid", "expired"])
async def test_tampered_or_expired_app_context_lands_on_my_learning(
    basic_world: World, notice: str
) -> None:
    if notice == "invalid":
        token = card_context(basic_world, "test-guideline")
        app_context = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    else:
        app_context = card_context(basic_world, "test-guideline", now=time.time() - 30 * 86400)
    response = await sign_in(basic_world, app_context)
    assert response.status_code == 303
    assert _signed_in(response)
    assert response.headers["location"] == f"/app/?notice={notice}"
    page = await basic_world.browser.get(BASE + response.headers["location"])
    assert page.status_code == 200
    assert ("could not be verified" if notice == "invalid" else "has expired") in page.text


async def test_app_context_of_another_clinician_starts_no_cycle(basic_world: World) -> None:
    other = learner_of(basic_world, "someone-else")
    response = await sign_in(
        basic_world, card_context(basic_world, "test-guideline", learner=other)
    )
    assert response.headers["location"] == "/app/?notice=invalid"


@pytest.mark.parametrize(
    "payload",
    ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"],
)
async def test_no_open_redirect(basic_world: World, payload: str) -> None:
    url = await _callback_url(basic_world)
    for name in ("next", "redirect", "return_to", "url"):
        url += f"&{name}={payload}"
    response = await basic_world.browser.get(url)
    assert response.status_code == 303
    assert response.headers["location"] == "/app/"
    notice = await basic_world.browser.get(BASE + "/app/", params={"notice": payload})
    assert "evil" not in notice.text


async def test_another_learners_cycle_is_not_found(basic_world: World) -> None:
    world = basic_world
    mine = (await sign_in(world, card_context(world, "test-guideline"))).headers["location"]
    world.browser.cookies.clear()
    other = world.config.patients.practitioners()[-1]["id"]
    if other == practitioner_id(world):
        other = "other-practitioner"
    await sign_in(world, practitioner=other)
    for path in (mine, mine + "/reflect"):
        response = await world.browser.get(BASE + path)
        assert response.status_code == 404
        assert "not found in your account" in response.text


async def test_pages_need_a_session(basic_world: World) -> None:
    response = await basic_world.browser.get(BASE + "/app/")
    assert response.status_code == 401
    assert "Open Bedside again from the EHR" in response.text  # a page, not JSON


async def test_logout_ends_the_session(basic_world: World) -> None:
    import re

    await sign_in(basic_world)
    page = await basic_world.browser.get(BASE + "/app/")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    out = await basic_world.browser.post(BASE + "/app/logout", data={"csrf": csrf.group(1)})
    assert out.status_code == 200
    assert "signed out" in out.text
    assert (await basic_world.browser.get(BASE + "/app/")).status_code == 401


async def test_plain_http_token_endpoint_of_an_https_ehr_is_refused(basic_world: World) -> None:
    import orjson

    url = basic_world.config.fhir_base + "/.well-known/smart-configuration"
    document = (await basic_world.http.get(url)).json()
    document["token_endpoint"] = "http://ehr.test/token"
    await basic_world.runtime.state.set("app:discovery:" + url, orjson.dumps(document), 300)
    response = await basic_world.start_launch(_launch(basic_world))
    assert response.status_code == 400
    assert "token_endpoint" in response.text
