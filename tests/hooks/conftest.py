"""Fixtures for the CDS Hooks endpoint tests: a registered fake EHR and the running app,
evaluating patients as of 2021-04-01 (the Synthea patients' last encounters)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import httpx
import pytest
import respx

from service.app import create_app
from service.settings import Settings
from tests.hooks.jwt_factory import FakeEhr

FHIR_BASE = "https://ehr.example.org/fhir"


class HookClient:
    """The app's HTTP client plus the EHR that signs its calls."""

    def __init__(self, http: httpx.AsyncClient, ehr: FakeEhr, app: Any, public_url: str) -> None:
        self.http = http
        self.ehr = ehr
        self.app = app
        self.public_url = public_url

    def url(self, service_id: str, feedback: bool = False) -> str:
        return f"{self.public_url}/cds-services/{service_id}" + ("/feedback" if feedback else "")

    async def call(
        self, service_id: str, body: Any, *, token: str | None = None, **headers: str
    ) -> httpx.Response:
        auth = token if token is not None else self.ehr.bearer(self.url(service_id))
        return await self.http.post(
            f"/cds-services/{service_id}", json=body, headers={"Authorization": auth, **headers}
        )

    async def feedback(self, service_id: str, body: Any) -> httpx.Response:
        auth = self.ehr.bearer(self.url(service_id, feedback=True))
        return await self.http.post(
            f"/cds-services/{service_id}/feedback", json=body, headers={"Authorization": auth}
        )

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"evaluation_date": date(2021, 4, 1)})


@asynccontextmanager
async def running_hooks(settings: Settings) -> AsyncIterator[HookClient]:
    """The app with `settings`, its lifespan running and a registered fake EHR."""
    ehr = FakeEhr(issuer="https://ehr.example.org", fhir_base=FHIR_BASE)
    app = create_app(settings)
    with respx.mock(assert_all_called=False) as router:
        ehr.serve_jwks(router)
        async with app.router.lifespan_context(app):
            await ehr.register(app.state.runtime.sessions)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as http:
                yield HookClient(http, ehr, app, settings.public_url)


@pytest.fixture
async def hooks(hook_settings: Settings) -> AsyncIterator[HookClient]:
    async with running_hooks(hook_settings) as client:
        yield client
