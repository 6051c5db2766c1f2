"""Fixtures of the SMART app tests: Bedside (with a two-item test library) and the EHR
simulator, wired in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from service.cards.library import ContentLibrary
from service.settings import Settings
from tests.e2e.world import World, make_world
from tests.smart_app.content import make_case, make_divergent, make_guideline


@pytest.fixture(autouse=True)
def _test_library(monkeypatch: pytest.MonkeyPatch) -> None:
    library = ContentLibrary([make_guideline(), make_case(), make_divergent()])

    def load(*_args: Any, **_kwargs: Any) -> ContentLibrary:
        return library

    monkeypatch.setattr("service.cards.library.load_library", load)


@pytest.fixture(params=["client_secret_basic", "private_key_jwt"])
async def world(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[World]:
    async with make_world(settings, request.param) as built:
        yield built


@pytest.fixture
async def basic_world(settings: Settings) -> AsyncIterator[World]:
    async with make_world(settings, "client_secret_basic") as built:
        yield built
