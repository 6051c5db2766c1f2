"""Issue 18's SMART client hardening, against the EHR simulator: launch cookies (fresh per
launch, `__Host-` names, forgotten at sign-out), `no-store` on the callback's redirect, the
authorization response's `iss` (RFC 9207), PKCE S256 in discovery, and a standalone sign-in
that makes the EHR authenticate the user again."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson
import pytest

from ehr_simulator.state import register_launch
from service.settings import Settings
from smart_app.launch import launchable_registrations
from smart_app.session import SESSION_COOKIE, SessionStore, launch_cookie_name
from tests.e2e.world import World, make_world, practitioner_id, query_of, sign_in

BASE = "https://bedside.test"


def _launch(world: World) -> str:
    patient = world.config.patients.patients()[0]["id"]
    return register_launch(
        world.sim.state, patient=patient, practitioner=practitioner_id(world), app_context=None
    )


def _launch_cookies(response: httpx.Response) -> list[str]:
    cookies = response.headers.get_list("set-cookie")
    return [c for c in cookies if "bedside_launch" in c.split("=")[0]]


async def _pending_callback(world: World) -> str:
    """A launch the EHR approved whose callback the browser has not reached yet."""
    redirect = await world.start_launch(_launch(world))
    return str((await world.authorize(redirect)).headers["location"])


async def _signed_in(world: World) -> bool:
    store = SessionStore(world.runtime.state, world.runtime.settings)
    return await store.get(world.browser.cookies.get(SESSION_COOKIE)) is not None


async def _patch_discovery(world: World, **changes: object) -> None:
    url = world.config.fhir_base + "/.well-known/smart-configuration"
    document = (await world.http.get(url)).json()
    document.update(changes)
    document = {k: v for k, v in document.items() if v is not None}
    await world.runtime.state.set("app:discovery:" + url, orjson.dumps(document), 300)


async def test_a_planted_launch_cookie_is_never_reused(basic_world: World) -> None:
    world = basic_world
    world.browser.cookies.set("bedside_launch", "planted-by-attacker", domain="bedside.test")
    first = await world.start_launch(_launch(world))
    second = await world.start_launch(_launch(world))
    [cookie] = _launch_cookies(first)
    name, _, rest = cookie.partition("=")
    value = rest.split(";")[0]
    assert name.startswith("__Host-bedside_launch_")
    assert value not in ("planted-by-attacker", "")
    assert value not in _launch_cookies(second)[0]  # fresh at every launch
    flags = cookie.lower()
    assert "path=/;" in flags + ";"
    assert "secure" in flags
    assert "domain" not in flags
    assert name == launch_cookie_name(
        world.runtime.settings, query_of(first.headers["location"])["state"]
    )


async def test_two_charts_launched_in_one_browser_each_complete(basic_world: World) -> None:
    first = await _pending_callback(basic_world)
    second = await _pending_callback(basic_world)
    assert (await basic_world.browser.get(second)).status_code == 303
    done = await basic_world.browser.get(first)
    assert done.status_code == 303
    assert any("Max-Age=0" in c or "max-age=0" in c.lower() for c in _launch_cookies(done))


@pytest.fixture
async def http_demo_world(settings: Settings) -> AsyncIterator[World]:
    async with make_world(
        settings.model_copy(update={"cookie_secure": False}), "client_secret_basic"
    ) as built:
        yield built


async def test_plain_http_demo_keeps_plain_cookie_names(
    http_demo_world: World, settings: Settings
) -> None:
    redirect = await http_demo_world.start_launch(_launch(http_demo_world))
    [cookie] = _launch_cookies(redirect)
    assert cookie.startswith("bedside_launch_")
    assert "secure" not in cookie.lower()
    done = await http_demo_world.browser.get(
        (await http_demo_world.authorize(redirect)).headers["location"]
    )
    assert done.status_code == 303
    plain_http = settings.model_copy(update={"public_url": "http://127.0.0.1:8000"})
    assert not launch_cookie_name(plain_http, "s").startswith("__Host-")


async def test_the_callbacks_redirect_is_not_cached(world: World) -> None:
    done = await sign_in(world)
    assert done.status_code == 303
    assert done.headers["cache-control"] == "no-store"


async def test_a_response_from_another_issuer_is_refused(basic_world: World) -> None:
    url = await _pending_callback(basic_world)
    response = await basic_world.browser.get(url + "&iss=https%3A%2F%2Fattacker.test")
    assert response.status_code == 400
    assert "another issuer" in response.text
    assert not await _signed_in(basic_world)


async def test_a_promised_response_issuer_must_be_there(basic_world: World) -> None:
    await _patch_discovery(basic_world, authorization_response_iss_parameter_supported=True)
    url = await _pending_callback(basic_world)  # the simulator sends no iss
    response = await basic_world.browser.get(url)
    assert response.status_code == 400
    assert "names no issuer" in response.text
    right = await _pending_callback(basic_world)
    done = await basic_world.browser.get(right + "&iss=" + basic_world.config.issuer)
    assert done.status_code == 303


async def test_an_ehr_without_s256_is_refused(basic_world: World) -> None:
    await _patch_discovery(basic_world, code_challenge_methods_supported=["plain"])
    response = await basic_world.start_launch(_launch(basic_world))
    assert response.status_code == 400
    assert "PKCE with S256" in response.text
    await _patch_discovery(basic_world, code_challenge_methods_supported=None)
    assert (await basic_world.start_launch(_launch(basic_world))).status_code == 302


async def test_sign_out_forgets_launches_under_way(basic_world: World) -> None:
    """A launch approved before signing out (an EHR page in the history) must not sign the
    next person at this browser in."""
    world = basic_world
    assert (await sign_in(world)).status_code == 303
    pending = await _pending_callback(world)
    store = SessionStore(world.runtime.state, world.runtime.settings)
    session = await store.get(world.browser.cookies.get(SESSION_COOKIE))
    assert session is not None
    out = await world.browser.post(BASE + "/app/logout", data={"csrf": session.csrf})
    assert out.status_code == 200
    assert _launch_cookies(out)  # cleared
    response = await world.browser.get(pending)
    assert response.status_code == 400
    assert not await _signed_in(world)


async def test_a_standalone_sign_in_asks_the_ehr_to_authenticate_again(
    basic_world: World,
) -> None:
    [registration] = await launchable_registrations(basic_world.runtime.registry)
    standalone = await basic_world.browser.get(
        BASE + "/app/login", params={"ehr": str(registration.id)}
    )
    assert query_of(standalone.headers["location"])["prompt"] == "login"
    in_chart = await basic_world.start_launch(_launch(basic_world))
    assert "prompt" not in query_of(in_chart.headers["location"])  # the EHR's user, in context
