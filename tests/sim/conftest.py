"""Fixtures of the simulator tests: the simulator alone, with a fake Bedside JWKS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import ECKey

from ehr_simulator.app import create_sim_app
from ehr_simulator.state import SimConfig, new_key

BEDSIDE = "https://bedside.test"
EHR = "https://ehr.test"


@pytest.fixture
def bedside_key() -> ECKey:
    return new_key()


@pytest.fixture
def sim_app(bedside_key: ECKey) -> FastAPI:
    def jwks(request: httpx.Request) -> httpx.Response:
        assert request.url == BEDSIDE + "/.well-known/jwks.json"
        return httpx.Response(200, json={"keys": [bedside_key.as_dict(private=False)]})

    config = SimConfig(base_url=EHR, bedside_url=BEDSIDE, client_auth="private_key_jwt")
    return create_sim_app(config, httpx.AsyncClient(transport=httpx.MockTransport(jwks)))


@pytest.fixture
async def ehr(sim_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sim_app)
    async with httpx.AsyncClient(transport=transport, base_url=EHR) as client:
        yield client
