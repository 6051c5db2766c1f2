"""Two workers pushing the xAPI outbox at once on PostgreSQL: the due batch is picked
`FOR UPDATE SKIP LOCKED`, so no statement is POSTed twice, even while a slow LRS keeps the
first worker's batch (and its row locks) open."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit import outbox
from service.credit.jobs import drain_outbox
from service.credit.models import XapiOutboxItem
from service.db.base import utcnow
from service.db.engine import make_engine, make_sessionmaker, transaction
from service.settings import Settings
from tests.reliability.fake_fhir import FakeFhirServer, fake_fhir_server

pytestmark = pytest.mark.postgres
Sessions = async_sessionmaker[AsyncSession]
STATEMENTS = 60  # more than one batch (50)
ROUNDS = 3


@pytest.fixture
async def workers(postgres_url: str) -> AsyncIterator[tuple[Sessions, Sessions]]:
    """Two workers' engines on the same database."""
    engines = [make_engine(postgres_url), make_engine(postgres_url)]
    yield make_sessionmaker(engines[0]), make_sessionmaker(engines[1])
    for engine in engines:
        await engine.dispose()


async def _enqueue(sessions: Sessions, count: int) -> set[str]:
    ids = {uuid.uuid4() for _ in range(count)}
    async with transaction(sessions) as session:
        for index, event_id in enumerate(sorted(ids)):
            await outbox.enqueue(
                session,
                learner="learner-key",
                event={"verb": "launched", "item_id": f"item-{index}", "title": "t"},
                event_id=event_id,
                at=utcnow(),
            )
    return {str(event_id) for event_id in ids}


def _posted_ids(lrs: FakeFhirServer) -> Counter[str]:
    posted: Counter[str] = Counter()
    for path, body in lrs.bodies:
        assert path == "/lrs/statements"
        posted.update(statement["id"] for statement in orjson.loads(body))
    return posted


async def test_two_workers_never_post_the_same_statement(
    settings: Settings, workers: tuple[Sessions, Sessions]
) -> None:
    first, second = workers
    async with fake_fhir_server("slow:300") as lrs:  # both workers pick while a push is open
        configured = settings.model_copy(update={"lrs_url": f"http://127.0.0.1:{lrs.port}/lrs"})
        expected: set[str] = set()
        for _ in range(ROUNDS):
            expected |= await _enqueue(first, STATEMENTS)
            async with (
                httpx.AsyncClient(timeout=10.0) as one,  # each worker has its own client
                httpx.AsyncClient(timeout=10.0) as other,
            ):
                results = await asyncio.wait_for(
                    asyncio.gather(
                        drain_outbox(configured, first, one),
                        drain_outbox(configured, second, other),
                    ),
                    30,
                )
            assert sum(sent for sent, _ in results) == STATEMENTS
            assert all(failed == 0 for _, failed in results)
        posted = _posted_ids(lrs)
    assert set(posted) == expected
    assert posted.most_common(1)[0][1] == 1, "a statement was POSTed twice"
    async with transaction(first) as session:
        rows = (await session.scalars(select(XapiOutboxItem))).all()
    assert len(rows) == ROUNDS * STATEMENTS
    assert all(row.sent_at is not None and row.attempts == 1 for row in rows)
