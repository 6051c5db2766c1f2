"""Fixtures of the outcomes tests: a session factory on the test database, and the real
application with the education router (and a small content library)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.app import create_app
from service.db.engine import make_engine, make_sessionmaker
from service.outcomes.routes import router
from service.outcomes.web import EducationLeadDep
from service.settings import Settings
from tests.outcomes.factories import library


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def client(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """Bedside with the education pages (included here until service/app.py does), and a
    probe route guarded by EducationLeadDep alone."""
    test_library = library()

    def load(*_args: Any, **_kwargs: Any) -> Any:
        return test_library

    monkeypatch.setattr("service.cards.library.load_library", load)
    app = create_app(settings)
    if not any(getattr(r, "path", "") == "/education/" for r in app.routes):
        app.include_router(router)

    @app.get("/test/lead")
    async def probe(lead: EducationLeadDep) -> dict[str, str]:
        return {"name": lead.name}

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as http:
            yield http
