"""Fixtures of the reliability suite: the app wired to a misbehaving loopback FHIR server and
an EHR whose keys that server publishes, and a figures sink for docs/reliability.md."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.app import create_app
from service.hooks.prefetch import CircuitBreaker
from service.settings import Settings
from tests.hooks.jwt_factory import FakeEhr
from tests.reliability.fake_fhir import FakeFhirServer

DEADLINE = 1.5  # the default BEDSIDE_FETCH_DEADLINE_SECONDS
SLACK = 1.0  # CI machines are noisy: asserted bound = deadline + 100 ms + SLACK
PV = "bedside-patient-view"
ISSUER = "https://ehr.reliability.test"


HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The long runs of this directory (`slow`) run only when asked for: `-m slow` (or any
    marker expression naming slow) or BEDSIDE_RUN_SLOW=1. A plain `pytest` is the CI set."""
    asked = "slow" in (config.getoption("markexpr") or "") or os.environ.get("BEDSIDE_RUN_SLOW")
    if asked:
        return
    skip = pytest.mark.skip(reason="long reliability run: pytest -m slow tests/reliability")
    for item in items:
        if item.get_closest_marker("slow") and HERE in Path(str(item.path)).parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def figures() -> Iterator[dict[str, float]]:
    """Measured seconds by case; written to $BEDSIDE_RELIABILITY_FIGURES (JSON) when set."""
    collected: dict[str, float] = {}
    yield collected
    target = os.environ.get("BEDSIDE_RELIABILITY_FIGURES")
    if target and collected:
        path = Path(target)
        previous = json.loads(path.read_text()) if path.exists() else {}
        previous.update({k: round(v, 4) for k, v in collected.items()})
        path.write_text(json.dumps(previous, indent=1, sort_keys=True))


@pytest.fixture
def reliability_settings(settings: Settings) -> Settings:
    """The test settings, evaluating the synthetic patients as of 2021-04-01."""
    return settings.model_copy(
        update={
            "evaluation_date": date(2021, 4, 1),
            "fetch_deadline_seconds": DEADLINE,
            "rate_limit_per_minute": 0,  # thousands of calls a minute; the limit has its own test
        }
    )


class AppUnderTest:
    """The real app, an EHR registered with a loopback FHIR base, and that server."""

    def __init__(
        self, http: httpx.AsyncClient, ehr: FakeEhr, server: FakeFhirServer, app: Any
    ) -> None:
        self.http = http
        self.ehr = ehr
        self.server = server
        self.app = app
        self._monkeypatch = pytest.MonkeyPatch()

    def url(self, service_id: str = PV) -> str:
        return f"{self.app.state.runtime.settings.public_url}/cds-services/{service_id}"

    def fresh_breaker(self, threshold: int = 5) -> CircuitBreaker:
        """A new hook-path circuit breaker (the worker's lives as long as the worker)."""
        breaker = CircuitBreaker(threshold=threshold)
        self.app.state.runtime.hooks.breaker = breaker
        return breaker

    def undo(self) -> None:
        self._monkeypatch.undo()

    def body(self, prefetch: dict[str, Any]) -> dict[str, Any]:
        return {
            "hook": "patient-view",
            "hookInstance": str(uuid.uuid4()),
            "fhirServer": self.server.base,
            "fhirAuthorization": {
                "access_token": "fhir-access-token-canary-77",
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "patient/*.read",
                "subject": "bedside",
            },
            "context": {"userId": "Practitioner/pr-1", "patientId": "p1"},
            "prefetch": prefetch,
        }

    async def post(self, body: Any, service_id: str = PV) -> httpx.Response:
        return await self.http.post(
            f"/cds-services/{service_id}",
            content=json.dumps(body),
            headers={
                "Authorization": self.ehr.bearer(self.url(service_id)),
                "Content-Type": "application/json",
            },
        )

    async def call_missing_prefetch(self) -> tuple[httpx.Response, float]:
        """A hook call whose every prefetch key must be fetched: (response, seconds)."""
        started = time.perf_counter()
        response = await self.post(self.body({}))
        return response, time.perf_counter() - started

    async def call_full_prefetch(self) -> httpx.Response:
        empty = {"resourceType": "Bundle", "type": "searchset", "entry": []}
        patient = {"resourceType": "Patient", "id": "p1", "birthDate": "1970-01-01"}
        prefetch = {
            "patient": patient,
            "conditions": empty,
            "medications": empty,
            "observations": empty,
            "procedures": empty,
        }
        return await self.post(self.body(prefetch))


@asynccontextmanager
async def running_app(
    settings: Settings, ehr: FakeEhr | None = None
) -> AsyncIterator[AppUnderTest]:
    """The app, with an EHR whose JWKS and FHIR base are a FakeFhirServer on loopback."""
    server = FakeFhirServer()
    await server.start()
    ehr = ehr or FakeEhr(issuer=ISSUER)
    ehr.jwks_url, ehr.fhir_base = server.jwks_url, server.base
    server.jwks = ehr.jwks()
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            await ehr.register(app.state.runtime.sessions)
            # raise_app_exceptions=False: an unhandled exception shows as the 500 a client sees
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(
                transport=transport, base_url=settings.public_url, timeout=30
            ) as http:
                under_test = AppUnderTest(http, ehr, server, app)
                try:
                    yield under_test
                finally:
                    under_test.undo()
    finally:
        await server.stop()


@pytest.fixture
async def app_with_fhir(reliability_settings: Settings) -> AsyncIterator[AppUnderTest]:
    """The app, with an EHR whose JWKS and FHIR base are a FakeFhirServer on loopback."""
    async with running_app(reliability_settings) as under_test:
        yield under_test


async def make_outbox_due(settings: Settings) -> None:
    """Skip the LRS retry backoff: every unsent xAPI statement becomes due now."""
    from sqlalchemy import update

    from service.credit.models import XapiOutboxItem
    from service.db.base import utcnow
    from service.db.engine import make_engine, make_sessionmaker, transaction

    engine = make_engine(settings.resolved_database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            await session.execute(
                update(XapiOutboxItem)
                .where(XapiOutboxItem.sent_at.is_(None))
                .values(next_attempt_at=utcnow())
            )
    finally:
        await engine.dispose()
