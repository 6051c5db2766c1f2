"""The xAPI outbox: learning events written in the same transaction as the ledger, pushed to
a Learning Record Store later with retries and exponential backoff.

A down LRS loses nothing: a failed push only moves `next_attempt_at` forward. The POST runs
under an overall deadline besides the client's per-read timeouts (an LRS trickling one byte at
a time trips no per-read timeout); running out of it is a failed push like any other. On
PostgreSQL the due batch is locked `FOR UPDATE SKIP LOCKED` until the push's transaction ends,
so workers pushing at the same time never POST the same rows. The LRS is an injectable
`httpx.AsyncClient`, so tests use `httpx.MockTransport`.

The outbox owns its event format (`cycle_event`, `completion_result`, `credit_result`,
`practice_event`): the facts of a learning event (verb, item, cycle and, for a completion or
a claim, the statement's `result` and the cycle's `documentation`: clinical question, source,
application to practice; rows written before it have none and render as they did). Writers
record events; the xAPI renderer (`service/credit/exports/xapi.py`) turns them into
statements when they are pushed or exported. Rows already stored render as they always did,
so the format only ever gains keys.

A practice event (`experienced`) is one learner's counts on one practice measure in one
closed month, both phases together; the outcomes package writes it (`enqueue_once`: its
statement id is derived from learner, measure and month, so writing it twice is a no-op).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
from sqlalchemy import Insert, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.credit.exports.xapi import XAPI_VERSION, build_statement
from service.credit.models import LearningCycle, XapiOutboxItem
from service.outbound import OutboundError, fetch

_NAMESPACE = uuid.UUID("4f0f8a52-6a0e-4c47-9a77-5b0d3f0c1e21")
_VERB_ORDER = {"launched": 0, "answered": 1, "completed": 2, "earned": 3, "experienced": 4}
MAX_BACKOFF = timedelta(hours=6)
BASE_BACKOFF = timedelta(seconds=30)
PUSH_DEADLINE_SECONDS = 30.0  # one batch's POST, connect to last byte; read at call time
MAX_ANSWER_BYTES = 1024 * 1024  # the LRS answers with the statement ids


# The `result` extension of an `earned` event: the credit type, amount and activity
CREDIT_EXTENSION = "https://w3id.org/bedside/xapi/credit"


# The `result` extension of an `experienced` (practice) event: the month's counts per phase
PRACTICE_EXTENSION = "https://w3id.org/bedside/xapi/practice"


# the verbs whose events carry what the learner documented for the cycle
DOCUMENTED_VERBS = frozenset({"completed", "earned"})


def documentation(cycle: LearningCycle) -> dict[str, object]:
    """What the learner documented for a cycle (the keys given): `question`, `source`,
    `application` (its code) and `applicationText` (the learner's own words)."""
    documented = {
        "question": cycle.question,
        "source": cycle.source_citation,
        "application": cycle.application,
        "applicationText": cycle.application_text,
    }
    return {key: value for key, value in documented.items() if value}


def cycle_event(
    cycle: LearningCycle, verb: str, result: dict[str, object] | None = None
) -> dict[str, object]:
    """A learning event about a cycle: the verb, the item and the cycle (and a `result`);
    a completion or a claim also carries the cycle's `documentation`."""
    event: dict[str, object] = {
        "verb": verb,
        "item_id": cycle.item_id,
        "title": cycle.title,
        "item_type": cycle.item_type,
        "cycle_id": str(cycle.id),
    }
    if result:
        event["result"] = result
    if verb in DOCUMENTED_VERBS and (documented := documentation(cycle)):
        event["documentation"] = documented
    return event


def completion_result(score: float | None) -> dict[str, object]:
    """The `result` of a `completed` event: completion, and a case's scaled score."""
    result: dict[str, object] = {"completion": True}
    if score is not None:
        result |= {"success": True, "score": {"scaled": score}}
    return result


def credit_result(credit_type: str, amount: float, activity_id: str) -> dict[str, object]:
    """The `result` of an `earned` event: completion and the credit as an extension."""
    return {
        "completion": True,
        "success": True,
        "extensions": {
            CREDIT_EXTENSION: {"creditType": credit_type, "amount": amount, "activity": activity_id}
        },
    }


def statement_id(*parts: str) -> uuid.UUID:
    """A deterministic statement id: the same event always gets the same id."""
    return uuid.uuid5(_NAMESPACE, "\x1f".join(parts))


def practice_event(
    *,
    item_id: str,
    title: str,
    item_type: str,
    month: str,
    before: tuple[int, int],
    after: tuple[int, int],
) -> dict[str, object]:
    """A month of one learner's practice on one measure (the measure id is the item id):
    `before` and `after` are (opportunities, concordant) counted before and after the
    learner completed a cycle on the item."""

    def counts(pair: tuple[int, int]) -> dict[str, int]:
        return {"opportunities": pair[0], "concordant": pair[1]}

    return {
        "verb": "experienced",
        "item_id": item_id,
        "title": title,
        "item_type": item_type,
        "measure_id": item_id,
        "month": month,
        "result": {
            "extensions": {PRACTICE_EXTENSION: {"before": counts(before), "after": counts(after)}}
        },
    }


def practice_statement_id(learner: str, measure_id: str, month: str) -> uuid.UUID:
    """The statement id of a learner's month on a measure: a retry never duplicates it."""
    return statement_id(learner, "practice", measure_id, month)


def row(
    *,
    learner: str,
    event: dict[str, object],
    event_id: uuid.UUID,
    at: datetime,
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    """One pending outbox item's values, by column, every column (the id too): due at once,
    never attempted. What `enqueue` writes, and what a caller batching its writes inserts.
    The statement's timestamp is `occurred_at` when the event happened before it was
    written (a month's practice), else `at`."""
    stamp = (occurred_at or at).isoformat()
    payload = {**event, "id": str(event_id), "learner": learner, "timestamp": stamp}
    return {
        "id": uuid.uuid4(),
        "statement_id": event_id,
        "learner": learner,
        "event": payload,
        "attempts": 0,
        "next_attempt_at": at,
        "sent_at": None,
        "last_error": None,
        "created_at": at,
    }


async def enqueue(
    session: AsyncSession,
    *,
    learner: str,
    event: dict[str, object],
    event_id: uuid.UUID,
    at: datetime,
) -> None:
    """Add one learning event to the outbox (part of the caller's unit of work)."""
    session.add(XapiOutboxItem(**row(learner=learner, event=event, event_id=event_id, at=at)))
    await session.flush()


async def enqueue_once(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert outbox rows (`row` values) whose statement id is not there yet; a row whose
    statement is already queued or sent is skipped (one statement, one INSERT ... ON
    CONFLICT DO NOTHING for the batch)."""
    if not rows:
        return
    table = cast(Table, XapiOutboxItem.__table__)  # a mapped class's table is a Table
    statement: Insert
    if session.get_bind().dialect.name == "sqlite":
        from sqlalchemy.dialects import sqlite

        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=["statement_id"])
    else:
        from sqlalchemy.dialects import postgresql

        statement = postgresql.insert(table).on_conflict_do_nothing(index_elements=["statement_id"])
    await session.execute(statement, list(rows))


def in_learning_order(rows: Sequence[XapiOutboxItem]) -> list[XapiOutboxItem]:
    """Events of one moment (e.g. a claim right after completion) keep the learning order."""
    return sorted(rows, key=lambda r: (r.created_at, _VERB_ORDER.get(str(r.event["verb"]), 9)))


@dataclass(frozen=True)
class PushReport:
    """What one push round did."""

    sent: int
    failed: int
    pending: int


def backoff(attempts: int) -> timedelta:
    """Delay before the next attempt after `attempts` failures (30 s doubling, max 6 h)."""
    delay: timedelta = BASE_BACKOFF * (2 ** max(attempts - 1, 0))
    return min(delay, MAX_BACKOFF)


async def _due(session: AsyncSession, now: datetime, limit: int) -> list[XapiOutboxItem]:
    query = (
        select(XapiOutboxItem)
        .where(XapiOutboxItem.sent_at.is_(None), XapiOutboxItem.next_attempt_at <= now)
        .order_by(XapiOutboxItem.created_at, XapiOutboxItem.id)
        .limit(limit)
        # Rows another worker is pushing stay locked until its transaction ends: skip them
        # (PostgreSQL; SQLite has one writer and ignores it).
        .with_for_update(skip_locked=True)
    )
    return in_learning_order((await session.scalars(query)).all())


async def push_due(
    session: AsyncSession,
    *,
    http: httpx.AsyncClient,
    lrs_url: str,
    auth: httpx.Auth | None,
    public_url: str,
    now: datetime,
    limit: int = 50,
) -> PushReport:
    """POST the due statements to the LRS as one batch; mark them sent or schedule a retry."""
    rows = await _due(session, now, limit)
    if not rows:
        return PushReport(0, 0, 0)
    statements = [build_statement(row.event, public_url) for row in rows]
    error = await _post_statements(http, lrs_url, auth, statements)
    for row in rows:
        row.attempts += 1
        if error is None:
            row.sent_at = now
            row.last_error = None
        else:
            row.last_error = error
            row.next_attempt_at = now + backoff(row.attempts)
    await session.flush()
    failed = 0 if error is None else len(rows)
    return PushReport(sent=len(rows) - failed, failed=failed, pending=failed)


async def _post_statements(
    http: httpx.AsyncClient, lrs_url: str, auth: httpx.Auth | None, statements: list[dict[str, Any]]
) -> str | None:
    """POST one batch under the push deadline: None when delivered, else why not."""
    try:
        await fetch(
            http,
            "POST",
            lrs_url.rstrip("/") + "/statements",
            json=statements,
            auth=auth,
            headers={"X-Experience-API-Version": XAPI_VERSION},
            deadline=PUSH_DEADLINE_SECONDS,
            max_bytes=MAX_ANSWER_BYTES,
            # 409: the LRS already holds these statement ids (an earlier push got through).
            accept=(200, 204, 409),
        )
    except OutboundError as exc:
        if exc.reason == "deadline":
            return f"LRS unreachable: no answer within {PUSH_DEADLINE_SECONDS:g} s"
        if exc.reason == "unreachable":
            return f"LRS unreachable: {exc.detail}"
        if exc.status is not None and exc.reason.startswith("status_"):
            return f"LRS answered HTTP {exc.status}"
        return f"LRS answer unusable: {exc.reason}"
    return None
