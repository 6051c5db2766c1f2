"""The EHR launch and the callback against the simulator, happy path and refusals."""

from __future__ import annotations

from ehr_simulator.state import register_launch
from tests.e2e.world import World, query_of


def _launch_id(world: World, app_context: str | None = None) -> str:
    practitioner = world.config.patients.practitioners()[0]["id"]
    patient = world.config.patients.patients()[0]["id"]
    return register_launch(
        world.sim.state, patient=patient, practitioner=practitioner, app_context=app_context
    )


async def test_launch_without_app_context_lands_on_my_learning(world: World) -> None:
    redirect = await world.start_launch(_launch_id(world))
    assert redirect.status_code == 302
    params = query_of(redirect.headers["location"])
    assert params["scope"] == "launch openid fhirUser"
    assert params["code_challenge_method"] == "S256"
    assert params["aud"] == world.config.fhir_base
    assert params["redirect_uri"] == "https://bedside.test/app/callback"
    assert len(params["state"]) >= 22
    assert params["nonce"]
    callback = await world.authorize(redirect)
    assert callback.headers["location"].startswith("https://bedside.test/app/callback?")
    done = await world.browser.get(callback.headers["location"])
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/app/"
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "Secure" in cookie
    assert "SameSite=none" in cookie
    assert "Path=/" in cookie


async def test_unknown_iss_is_refused_before_any_network_call(basic_world: World) -> None:
    calls: list[str] = []
    original = basic_world.runtime.http.send

    async def spy(request, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(str(request.url))
        return await original(request, **kwargs)

    basic_world.runtime.http.send = spy  # type: ignore[method-assign]
    response = await basic_world.start_launch("x", iss="https://evil.example/fhir")
    assert response.status_code == 400
    assert "not registered" in response.text
    assert calls == []


async def test_standalone_login_lists_registered_ehrs_and_asks_no_launch(
    basic_world: World,
) -> None:
    page = await basic_world.browser.get("https://bedside.test/app/login")
    assert page.status_code == 200
    import re

    choice = re.search(r'href="(/app/login\?ehr=[^"]+)"', page.text)
    assert choice
    redirect = await basic_world.browser.get("https://bedside.test" + choice.group(1))
    params = query_of(redirect.headers["location"])
    assert params["scope"] == "openid fhirUser"
    assert "launch" not in params
    assert params["prompt"] == "login"  # the EHR asks who signs in (its sign-in page)
    callback = await basic_world.authorize(redirect)
    done = await basic_world.browser.get(callback.headers["location"])
    assert done.headers["location"] == "/app/"


async def test_standalone_login_refuses_unknown_choice(basic_world: World) -> None:
    response = await basic_world.browser.get("https://bedside.test/app/login?ehr=nope")
    assert response.status_code == 400


async def test_launch_without_launch_parameter_is_refused(basic_world: World) -> None:
    response = await basic_world.browser.get(
        "https://bedside.test/app/launch", params={"iss": basic_world.config.fhir_base}
    )
    assert response.status_code == 400
