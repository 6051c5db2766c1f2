"""Command-line jobs of the outcomes package, each one unit of work on its own engine: the
education leads' credentials, the report, the evidence file and the practice statements."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from service.db.base import utcnow
from service.db.engine import make_engine, make_sessionmaker, transaction
from service.outcomes import credentials
from service.outcomes.credentials import LeadView
from service.outcomes.evidence import Evidence
from service.outcomes.exports import CLI_ACTOR, export_evidence, export_report
from service.outcomes.report import Items, OutcomesReport
from service.outcomes.statements import publish_closed_months
from service.settings import Settings


@asynccontextmanager
async def unit_of_work(settings: Settings) -> AsyncIterator[AsyncSession]:
    """One transaction on an engine of its own, disposed of afterwards."""
    engine = make_engine(settings.resolved_database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            yield session
    finally:
        await engine.dispose()


def library_of(settings: Settings) -> Items:
    """The content library the service would load (titles of the items)."""
    from service.cards.library import load_library

    return load_library(settings.content_dir, cache_dir=settings.data_dir / "cache")


async def add_lead(settings: Settings, name: str) -> tuple[LeadView, str]:
    async with unit_of_work(settings) as session:
        return await credentials.add_lead(session, name, actor=CLI_ACTOR, now=utcnow())


async def list_leads(settings: Settings) -> list[LeadView]:
    async with unit_of_work(settings) as session:
        return await credentials.list_leads(session)


async def revoke_lead(settings: Settings, lead_id: uuid.UUID) -> LeadView | None:
    async with unit_of_work(settings) as session:
        return await credentials.revoke_lead(session, lead_id, actor=CLI_ACTOR, now=utcnow())


async def report(settings: Settings, library: Items, year: int, fmt: str) -> OutcomesReport:
    async with unit_of_work(settings) as session:
        return await export_report(session, library, year, fmt=fmt, actor=CLI_ACTOR, now=utcnow())


async def evidence(settings: Settings, library: Items, year: int, item_id: str | None) -> Evidence:
    async with unit_of_work(settings) as session:
        return await export_evidence(
            session, library, year, item_id=item_id, actor=CLI_ACTOR, now=utcnow()
        )


async def publish(settings: Settings, library: Items) -> int:
    """Queue the statements of every closed, unpublished month (in batches)."""
    engine = make_engine(settings.resolved_database_url)
    sessions = make_sessionmaker(engine)
    total = 0
    try:
        while True:
            async with transaction(sessions) as session:
                groups = await publish_closed_months(session, library, utcnow())
            total += groups
            if groups == 0:
                return total
    finally:
        await engine.dispose()
