"""Practice statements: a closed month of one learner's counts on one measure becomes one
`experienced` statement (both phases as a result extension, month and measure as context
extensions), queued once with a statement id derived from learner, measure and month, and
pushed like every other outbox row. The expected statement is a literal, as in
test_xapi_compat.py: a change of format must show up here."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit import outbox
from service.credit.exports.xapi import build_statement
from service.credit.jobs import push_periodically
from service.credit.models import XapiOutboxItem
from service.db.engine import transaction
from service.memory.models import PracticeTally
from service.outcomes.statements import practice_publisher, publish_closed_months
from service.settings import Settings
from tests.outcomes.factories import NSAID, STATIN, learner, library, tally

Sessions = async_sessionmaker[AsyncSession]
PUBLIC = "https://bedside.test"
LRS = "https://lrs.example/xapi"
ADA, BEN = learner(1), learner(2)


def _statement_of_ada_in_april() -> dict[str, Any]:
    """What the LRS receives for Ada's April on the statin measure, spelt out."""
    return {
        "id": str(
            uuid.uuid5(
                uuid.UUID("4f0f8a52-6a0e-4c47-9a77-5b0d3f0c1e21"),
                f"{ADA}\x1fpractice\x1f{STATIN}\x1f2026-04",
            )
        ),
        "version": "1.0.3",
        "actor": {"objectType": "Agent", "account": {"homePage": PUBLIC, "name": ADA}},
        "verb": {
            "id": "http://adlnet.gov/expapi/verbs/experienced",
            "display": {"en-US": "experienced"},
        },
        "object": {
            "objectType": "Activity",
            "id": f"{PUBLIC}/activities/{STATIN}",
            "definition": {
                "name": {"en-US": "Statins in diabetes"},
                "type": "http://adlnet.gov/expapi/activities/lesson",
            },
        },
        "context": {
            "platform": "Bedside",
            "language": "en-US",
            "extensions": {
                "https://w3id.org/bedside/xapi/month": "2026-04",
                "https://w3id.org/bedside/xapi/measure": STATIN,
            },
        },
        "timestamp": "2026-04-01T00:00:00+00:00",
        "result": {
            "extensions": {
                "https://w3id.org/bedside/xapi/practice": {
                    "before": {"opportunities": 6, "concordant": 2},
                    "after": {"opportunities": 3, "concordant": 3},
                }
            }
        },
    }


async def _months(sessions: Sessions) -> None:
    """Ada: April (both phases) and May on statins; Ben: April on NSAIDs (an item that left
    the library); June is the current month."""
    async with transaction(sessions) as session:
        tally(session, ADA, STATIN, "2026-04", "before", 6, 2)
        tally(session, ADA, STATIN, "2026-04", "after", 3, 3)
        tally(session, ADA, STATIN, "2026-05", "after", 4, 1)
        tally(session, BEN, NSAID, "2026-04", "before", 2, 0)
        tally(session, ADA, STATIN, "2026-06", "after", 1, 1)


async def _publish(sessions: Sessions, now: datetime) -> int:
    async with transaction(sessions) as session:
        return await publish_closed_months(session, library(), now)


async def _queued(sessions: Sessions) -> list[dict[str, Any]]:
    async with sessions() as session:
        rows = (await session.scalars(select(XapiOutboxItem))).all()
    return sorted((row.event for row in rows), key=lambda e: (e["learner"], e["month"]))


async def test_a_closed_month_becomes_one_statement_per_learner_and_measure(
    sessions: Sessions,
) -> None:
    await _months(sessions)
    # 1 June, 00:30 UTC: May has just ended, but late batches may still land in it
    assert await _publish(sessions, datetime(2026, 6, 1, 0, 30, tzinfo=UTC)) == 2
    events = await _queued(sessions)
    assert [(e["learner"], e["item_id"], e["month"]) for e in events] == [
        (ADA, STATIN, "2026-04"),
        (BEN, NSAID, "2026-04"),
    ]
    ada = next(e for e in events if e["learner"] == ADA)
    assert json.dumps(build_statement(ada, PUBLIC)) == json.dumps(_statement_of_ada_in_april())
    ben = build_statement(next(e for e in events if e["learner"] == BEN), PUBLIC)
    assert ben["object"]["definition"]["name"] == {"en-US": NSAID}
    assert ben["result"]["extensions"]["https://w3id.org/bedside/xapi/practice"] == {
        "before": {"opportunities": 2, "concordant": 0},
        "after": {"opportunities": 0, "concordant": 0},
    }
    # a day later May is closed too; June never is before July
    assert await _publish(sessions, datetime(2026, 6, 2, 1, 0, tzinfo=UTC)) == 1
    assert [e["month"] for e in await _queued(sessions)] == ["2026-04", "2026-05", "2026-04"]
    assert await _publish(sessions, datetime(2026, 6, 30, 23, 0, tzinfo=UTC)) == 0


async def test_published_months_are_not_queued_again(sessions: Sessions) -> None:
    await _months(sessions)
    now = datetime(2026, 6, 2, tzinfo=UTC)
    await _publish(sessions, now)
    async with sessions() as session:
        published = await session.scalar(
            select(func.count()).where(PracticeTally.published_at.is_not(None))
        )
    assert published == 4  # every row of April and May, not June's
    assert await _publish(sessions, now + timedelta(days=3)) == 0
    assert len(await _queued(sessions)) == 3


async def test_a_retry_never_duplicates_a_statement(sessions: Sessions) -> None:
    await _months(sessions)
    now = datetime(2026, 6, 2, tzinfo=UTC)
    await _publish(sessions, now)
    first = await _queued(sessions)
    # as if the marks were lost after the statements were queued (a crash, another worker)
    async with transaction(sessions) as session:
        await session.execute(update(PracticeTally).values(published_at=None))
    await _publish(sessions, now)
    assert await _queued(sessions) == first
    assert {e["id"] for e in first} == {
        str(outbox.practice_statement_id(who, item, month))
        for who, item, month in (
            (ADA, STATIN, "2026-04"),
            (ADA, STATIN, "2026-05"),
            (BEN, NSAID, "2026-04"),
        )
    }


async def test_a_batch_never_splits_a_month_of_one_learner(sessions: Sessions) -> None:
    await _months(sessions)
    now = datetime(2026, 6, 2, tzinfo=UTC)
    async with transaction(sessions) as session:
        assert await publish_closed_months(session, library(), now, limit=1) == 1
    events = await _queued(sessions)
    assert len(events) == 1
    counts = events[0]["result"]["extensions"]["https://w3id.org/bedside/xapi/practice"]
    assert counts == {
        "before": {"opportunities": 6, "concordant": 2},
        "after": {"opportunities": 3, "concordant": 3},
    }


async def test_the_outbox_job_publishes_and_pushes_practice(
    sessions: Sessions, settings: Settings
) -> None:
    async with transaction(sessions) as session:  # months long closed, whenever this runs
        tally(session, ADA, STATIN, "2024-01", "before", 5, 1)
        tally(session, BEN, STATIN, "2024-02", "after", 7, 7)
    seen: list[dict[str, Any]] = []

    def lrs(request: httpx.Request) -> httpx.Response:
        seen.extend(json.loads(request.content))
        return httpx.Response(200, json=[])

    lrs_settings = settings.model_copy(update={"lrs_url": LRS})
    async with httpx.AsyncClient(transport=httpx.MockTransport(lrs)) as http:
        job = asyncio.create_task(
            push_periodically(
                lrs_settings,
                sessions,
                http,
                interval_seconds=0.05,
                producers=(practice_publisher(library()),),
            )
        )
        try:
            for _ in range(600):  # up to 30 s on a busy machine
                if len(seen) >= 2:
                    break
                await asyncio.sleep(0.05)
        finally:
            job.cancel()
            await asyncio.gather(job, return_exceptions=True)  # done before the engine goes
    assert sorted((s["actor"]["account"]["name"], s["verb"]["display"]["en-US"]) for s in seen) == [
        (ADA, "experienced"),
        (BEN, "experienced"),
    ]
    assert {s["context"]["extensions"]["https://w3id.org/bedside/xapi/month"] for s in seen} == {
        "2024-01",
        "2024-02",
    }


async def test_the_producer_looks_again_only_when_a_month_closes(sessions: Sessions) -> None:
    publish = practice_publisher(library())
    june, july = datetime(2026, 6, 20, tzinfo=UTC), datetime(2026, 7, 5, tzinfo=UTC)
    async with transaction(sessions) as session:
        assert await publish(session, june) == 0  # nothing yet: remembered until July
    await _months(sessions)
    async with transaction(sessions) as session:
        assert await publish(session, june) == 0
    async with transaction(sessions) as session:
        assert await publish(session, july) == 4  # Ada: April, May, June; Ben: April
    assert len(await _queued(sessions)) == 4
