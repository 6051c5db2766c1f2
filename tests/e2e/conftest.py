"""End-to-end fixtures: Bedside with its bundled content library and the EHR simulator, both
in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from service.settings import Settings
from tests.e2e.world import World, make_world


@pytest.fixture(params=["client_secret_basic", "private_key_jwt"])
async def world(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[World]:
    async with make_world(settings, request.param) as built:
        yield built
