"""Bedside and the EHR simulator in one process, wired through an httpx router transport:
URLs of https://bedside.test go to Bedside, https://ehr.test to the simulator. The `browser`
client keeps cookies like a browser and never follows redirects by itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
from fastapi import FastAPI

from ehr_simulator.app import create_sim_app
from ehr_simulator.registration import register_simulator
from ehr_simulator.state import ClientAuth, SimConfig, SimState
from service.app import create_app
from service.runtime import Runtime
from service.settings import Settings

EHR_URL = "https://ehr.test"


class RouterTransport(httpx.AsyncBaseTransport):
    """Send each request to the in-process app that owns its host."""

    def __init__(self, apps: dict[str, FastAPI]) -> None:
        self._transports = {host: httpx.ASGITransport(app=app) for host, app in apps.items()}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self._transports.get(request.url.host)
        if transport is None:
            raise httpx.ConnectError(f"no route to {request.url.host}", request=request)
        return await transport.handle_async_request(request)


@dataclass
class World:
    bedside: FastAPI
    sim: FastAPI
    config: SimConfig
    browser: httpx.AsyncClient
    http: httpx.AsyncClient

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.bedside.state.runtime
        return runtime

    @property
    def sim_state(self) -> SimState:
        state: SimState = self.sim.state.sim
        return state

    async def follow(self, response: httpx.Response, limit: int = 10) -> httpx.Response:
        """Follow redirects across both apps, as a browser would."""
        for _ in range(limit):
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            target = urljoin(str(response.request.url), response.headers["location"])
            response = await self.browser.get(target)
        return response

    async def start_launch(self, launch: str, iss: str | None = None) -> httpx.Response:
        """GET /app/launch; returns the redirect to the EHR's authorize endpoint."""
        params = {"iss": iss or self.config.fhir_base, "launch": launch}
        return await self.browser.get("https://bedside.test/app/launch", params=params)

    async def authorize(
        self, redirect: httpx.Response, practitioner: str | None = None
    ) -> httpx.Response:
        """Let the EHR approve; returns its redirect back to /app/callback. A standalone
        sign-in (prompt=login) passes the EHR's sign-in page: as `practitioner`, or the
        first clinician listed."""
        assert redirect.status_code == 302, redirect.text
        answer = await self.browser.get(redirect.headers["location"])
        if answer.status_code == 200 and "sign-in-as" in answer.text:
            import re

            links = re.findall(r'class="sign-in-as" href="([^"]+)"', answer.text)
            wanted = [link for link in links if practitioner and f"={practitioner}" in link]
            chosen = (wanted or links)[0].replace("&amp;", "&")
            answer = await self.browser.get(EHR_URL + chosen)
        return answer


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def route_client(client: httpx.AsyncClient, transport: httpx.AsyncBaseTransport) -> None:
    """Point an existing client (shared by several of Bedside's adapters) at the router, so
    that Bedside's outgoing calls reach the simulator in-process."""
    client._transport = transport
    client._mounts = {}


@asynccontextmanager
async def make_world(settings: Settings, client_auth: ClientAuth) -> AsyncIterator[World]:
    bedside = create_app(settings)
    config = SimConfig(base_url=EHR_URL, bedside_url=settings.public_url, client_auth=client_auth)
    apps: dict[str, FastAPI] = {"bedside.test": bedside}
    transport = RouterTransport(apps)
    http = httpx.AsyncClient(transport=transport)
    sim = create_sim_app(config, http)
    apps["ehr.test"] = sim
    transport._transports["ehr.test"] = httpx.ASGITransport(app=sim)
    async with bedside.router.lifespan_context(bedside):
        runtime: Runtime = bedside.state.runtime
        route_client(runtime.http, transport)
        await register_simulator(runtime, config)
        async with httpx.AsyncClient(transport=transport) as browser:
            yield World(bedside=bedside, sim=sim, config=config, browser=browser, http=http)
    await http.aclose()


def practitioner_id(world: World) -> str:
    return str(world.config.patients.practitioners()[0]["id"])


def learner_of(world: World, practitioner: str | None = None) -> str:
    from service.identity import learner_key

    user = f"Practitioner/{practitioner or practitioner_id(world)}"
    return learner_key(world.runtime.secret, world.config.issuer, None, user)


def card_context(
    world: World,
    item_id: str,
    *,
    card_uuid: str = "card-1",
    learner: str | None = None,
    now: float | None = None,
) -> str:
    """An appContext as the hook service signs it into a card's smart link."""
    return world.runtime.app_context.sign(
        card_uuid=card_uuid,
        item_id=item_id,
        hook="patient-view",
        learner=learner or learner_of(world),
        now=now,
    )


async def sign_in(
    world: World, app_context: str | None = None, practitioner: str | None = None
) -> httpx.Response:
    """EHR launch -> authorize -> callback; returns the callback's response."""
    from ehr_simulator.state import register_launch

    patient = world.config.patients.patients()[0]["id"]
    launch = register_launch(
        world.sim.state,
        patient=patient,
        practitioner=practitioner or practitioner_id(world),
        app_context=app_context,
    )
    callback = await world.authorize(await world.start_launch(launch))
    return await world.browser.get(callback.headers["location"])


async def csrf_of(world: World) -> str:
    """The CSRF token of the browser's session (read from a page's form)."""
    import re

    page = await world.browser.get("https://bedside.test/app/")
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, page.text[:500]
    return match.group(1)
