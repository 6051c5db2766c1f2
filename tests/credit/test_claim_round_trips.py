"""A claim's writes and its round trips: the cycle update, the audit event and the outbox row
go out together (one statement on PostgreSQL), and the loaded cycle agrees with the database
afterwards. Runs on SQLite, and on PostgreSQL when the suite targets it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.credit import audit, outbox, records
from service.credit import service as credit
from service.credit.models import AuditEvent, LearningCycle, LedgerEntry, XapiOutboxItem
from service.credit.rules import CreditRules
from service.db.engine import make_engine, make_sessionmaker, transaction
from service.errors import NotFound
from tests.credit.factories import NOW, ready_cycle

Sessions = async_sessionmaker[AsyncSession]
LEARNER = "learner-round-trips"


@contextmanager
def _statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements the engine sends (BEGIN and COMMIT are not statements here)."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def _count(sessions: Sessions, model: Any, **where: Any) -> int:
    async with sessions() as session:
        query = select(func.count()).select_from(model).filter_by(**where)
        return int((await session.execute(query)).scalar_one())


async def test_a_claim_sends_four_statements_on_postgresql_and_six_on_sqlite(
    database_url: str, rules: CreditRules
) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        cycle_id = await ready_cycle(sessions, LEARNER)
        with _statements(engine) as sent:
            async with transaction(sessions) as session:
                await credit.claim(
                    session, LEARNER, cycle_id, idempotency_key="k1", rules=rules, now=NOW
                )
        # cycle+key+lock, facts, the entry, then the cycle/audit/outbox writes (one on
        # PostgreSQL, as CTEs; three on SQLite)
        postgres = engine.dialect.name == "postgresql"
        assert len(sent) == (4 if postgres else 6), sent
        assert "FOR UPDATE" in sent[0] if postgres else "FOR UPDATE" not in sent[0]
    finally:
        await engine.dispose()


async def test_a_claim_reads_its_cycle_once(database_url: str, rules: CreditRules) -> None:
    """The claim's first query reads the cycle, the key and the profile (locking the profile
    on PostgreSQL): the caller (the SMART app's claim endpoint) does not read the cycle first,
    and nothing reads it again."""
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        cycle_id = await ready_cycle(sessions, LEARNER)
        with _statements(engine) as sent:
            async with transaction(sessions) as session:
                result = await credit.claim(
                    session, LEARNER, cycle_id, idempotency_key="k1", rules=rules, now=NOW
                )
        assert result.entry.cycle_id == cycle_id
        reads = [s for s in sent if "FROM learning_cycle" in s]
        assert len(reads) == 1, sent
        postgres = engine.dialect.name == "postgresql"
        assert "FOR UPDATE" in reads[0] if postgres else "FOR UPDATE" not in reads[0]
    finally:
        await engine.dispose()


async def test_another_learners_cycle_is_not_found_whatever_the_key(
    sessions: Sessions, rules: CreditRules
) -> None:
    mine = await ready_cycle(sessions, LEARNER)
    theirs = await ready_cycle(sessions, "another-learner")
    async with transaction(sessions) as session:
        await credit.claim(session, LEARNER, mine, idempotency_key="k1", rules=rules, now=NOW)
    for key in ("k1", "k2"):  # a key of mine already used, and a fresh one
        async with transaction(sessions) as session:
            with pytest.raises(NotFound):
                await credit.claim(
                    session, LEARNER, theirs, idempotency_key=key, rules=rules, now=NOW
                )


async def test_a_claim_writes_the_cycle_the_audit_event_and_the_outbox_row(
    sessions: Sessions, rules: CreditRules
) -> None:
    cycle_id = await ready_cycle(sessions, LEARNER)
    async with transaction(sessions) as session:
        held = await session.get(LearningCycle, cycle_id)  # the object the claim will load
        assert held is not None
        result = await credit.claim(
            session, LEARNER, cycle_id, idempotency_key="k1", rules=rules, now=NOW
        )
        # the loaded cycle already says claimed, in the same unit of work
        assert (held.status, held.claimed_at) == ("claimed", NOW)
        assert (await credit.get_cycle(session, LEARNER, cycle_id)).status == "claimed"
    async with sessions() as session:
        cycle = await session.get(LearningCycle, cycle_id)
        assert cycle is not None
        assert (cycle.status, cycle.claimed_at) == ("claimed", NOW)
        events = await audit.events(session, LEARNER)
        claimed = [e for e in events if e.action == "credit.claimed"]
        assert len(claimed) == 1
        assert claimed[0].subject == str(result.entry.id)
        assert claimed[0].details == {
            "cycle": str(cycle_id),
            "credit_type": result.entry.credit_type,
            "amount": result.entry.amount,
        }
        earned = [e for e in await records.xapi_events(session, LEARNER) if e["verb"] == "earned"]
        assert len(earned) == 1
        assert earned[0]["cycle_id"] == str(cycle_id)
        assert earned[0]["id"] == str(outbox.statement_id(LEARNER, "earned", str(result.entry.id)))


async def test_a_retry_writes_nothing_more(sessions: Sessions, rules: CreditRules) -> None:
    cycle_id = await ready_cycle(sessions, LEARNER)
    for _ in range(3):
        async with transaction(sessions) as session:
            await credit.claim(
                session, LEARNER, cycle_id, idempotency_key="k1", rules=rules, now=NOW
            )
    assert await _count(sessions, LedgerEntry, learner=LEARNER) == 1
    assert await _count(sessions, AuditEvent, learner=LEARNER, action="credit.claimed") == 1
    earned = [
        e
        for e in await _learner_events(sessions)
        if e["verb"] == "earned"  # completion events come from the cycle, not the claim
    ]
    assert len(earned) == 1


async def _learner_events(sessions: Sessions) -> list[dict[str, object]]:
    async with sessions() as session:
        return await records.xapi_events(session, LEARNER)


async def test_a_failing_write_rolls_back_the_whole_claim(
    sessions: Sessions, rules: CreditRules, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batched writes are one unit with the entry: a clashing outbox row (its statement
    id already taken) leaves no entry, no claimed cycle and no audit event behind."""
    cycle_id = await ready_cycle(sessions, LEARNER)
    taken = uuid.uuid4()
    async with transaction(sessions) as session:
        row = outbox.row(learner=LEARNER, event={"verb": "earned"}, event_id=taken, at=NOW)
        session.add(XapiOutboxItem(**row))
    monkeypatch.setattr(outbox, "statement_id", lambda *_parts: taken)
    with pytest.raises(IntegrityError):
        async with transaction(sessions) as session:
            await credit.claim(
                session, LEARNER, cycle_id, idempotency_key="k1", rules=rules, now=NOW
            )
    assert await _count(sessions, LedgerEntry, learner=LEARNER) == 0
    assert await _count(sessions, AuditEvent, learner=LEARNER, action="credit.claimed") == 0
    async with sessions() as session:
        cycle = await session.get(LearningCycle, cycle_id)
        assert cycle is not None
        assert cycle.status != "claimed"


@pytest.mark.postgres
async def test_a_claim_after_its_pooled_connection_was_killed_succeeds(
    postgres_url: str, rules: CreditRules
) -> None:
    engine = make_engine(postgres_url, pool_size=1)
    sessions = make_sessionmaker(engine)
    try:
        cycle_id = await ready_cycle(sessions, LEARNER)
        async with sessions() as session:
            pid = (await session.execute(select(func.pg_backend_pid()))).scalar_one()
        admin = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
            while await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid=$1", pid):
                await asyncio.sleep(0.01)
        finally:
            await admin.close()
        await asyncio.sleep(0.1)  # the pause between two requests: the EOF is read meanwhile
        async with transaction(sessions) as session:
            result = await credit.claim(
                session, LEARNER, cycle_id, idempotency_key="k1", rules=rules, now=NOW
            )
        assert result.entry.cycle_id == cycle_id
        assert await _count(sessions, LedgerEntry, learner=LEARNER) == 1
    finally:
        await engine.dispose()
