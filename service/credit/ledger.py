"""The ledger repository: append-only entries and the exactly-once insert.

Exactly-once rests on the database: UNIQUE (learner, idempotency_key), UNIQUE
(claim_cycle_id) and UNIQUE (reverses_id). `insert_once` is one `INSERT ... ON CONFLICT DO
NOTHING RETURNING id` (PostgreSQL and SQLite): when a concurrent or earlier duplicate holds
one of those keys it inserts nothing and returns False, and the caller re-reads the stored
entry and returns its stored response. On PostgreSQL the insert waits for a concurrent
uncommitted duplicate, and READ COMMITTED makes the re-read see the winner's committed row.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from functools import cache
from typing import cast

from sqlalchemy import Insert, Select, Table, and_, bindparam, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from service.credit.engine import LedgerFact
from service.credit.models import LearnerProfile, LearningCycle, LedgerEntry

_LEDGER = cast(Table, LedgerEntry.__table__)  # a mapped class's table is a Table


def _locked_profile(lock: bool) -> type[LearnerProfile]:
    """The learner's profile as a CTE, its row locked FOR UPDATE with `lock` on PostgreSQL (a
    CTE: FOR UPDATE cannot apply to the nullable side of an outer join). SQLite has one
    writer and no row locks."""
    profile = select(LearnerProfile).where(LearnerProfile.learner == bindparam("learner"))
    return aliased(LearnerProfile, (profile.with_for_update() if lock else profile).cte("profile"))


_KEY_MATCHES = and_(
    LedgerEntry.learner == bindparam("learner"), LedgerEntry.idempotency_key == bindparam("key")
)


def claim_context_query(
    *, lock: bool = True
) -> Select[LearningCycle, str, str, dict[str, object], LearnerProfile]:
    """A cycle, what the learner's idempotency key already produced, and the learner's
    profile (its row locked with `lock`), in one query; no row when the cycle is unknown."""
    learner = _locked_profile(lock)
    return (
        select(
            LearningCycle, LedgerEntry.kind, LedgerEntry.fingerprint, LedgerEntry.response, learner
        )
        .select_from(LearningCycle)
        .outerjoin(LedgerEntry, _KEY_MATCHES)
        .outerjoin(learner, true())
        .where(LearningCycle.id == bindparam("cycle_id"))
    )


# The claim path's statements are built once with bound parameters: building one per call
# (coercing each value, then computing its cache key) cost more CPU than running it.
_CLAIM_CONTEXT = claim_context_query()
_FACTS = select(LedgerEntry.credit_type, LedgerEntry.amount, LedgerEntry.earned_at).where(
    LedgerEntry.learner == bindparam("learner")
)


@cache
def _insert_ignoring_duplicates(dialect: str) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id in the session's dialect, built once.
    The dialect module is imported here: PostgreSQL's costs a SQLite worker ~2.3 MB."""
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(_LEDGER).on_conflict_do_nothing().returning(_LEDGER.c.id)
    from sqlalchemy.dialects import postgresql

    return postgresql.insert(_LEDGER).on_conflict_do_nothing().returning(_LEDGER.c.id)


@dataclass(frozen=True)
class StoredRequest:
    """What an idempotency key already produced: enough to replay or refuse a retry."""

    kind: str
    fingerprint: str
    response: dict[str, object]


def fingerprint(*parts: str) -> str:
    """A digest of what a request asks for; the same key with another body is refused."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


async def by_key(session: AsyncSession, learner: str, key: str) -> StoredRequest | None:
    """What a learner's idempotency key already produced, if anything (no full entry)."""
    query = select(LedgerEntry.kind, LedgerEntry.fingerprint, LedgerEntry.response).where(
        LedgerEntry.learner == learner, LedgerEntry.idempotency_key == key
    )
    row = (await session.execute(query)).one_or_none()
    return None if row is None else StoredRequest(row.kind, row.fingerprint, row.response)


@dataclass(frozen=True)
class ClaimContext:
    """What a claim starts from: the cycle (whoever's it is; None when unknown), the stored
    answer of the learner's idempotency key, and the learner's profile (now locked)."""

    cycle: LearningCycle | None
    stored: StoredRequest | None
    profile: LearnerProfile | None


def _stored(kind: str | None, print_: str, response: dict[str, object]) -> StoredRequest | None:
    return None if kind is None else StoredRequest(kind, print_, response)


async def claim_context(
    session: AsyncSession,
    learner: str,
    cycle_id: uuid.UUID,
    key: str,
) -> ClaimContext:
    """One query: the cycle, the key's stored answer, and the learner's profile, whose row it
    locks for the transaction when the cycle exists. The lock serialises one learner's claims
    so that the ledger facts read after it are complete and caps hold under concurrency; the
    cycle and the key come from the query's snapshot, which may predate the lock (a stale
    read ends in the insert's conflict path)."""
    params = {"learner": learner, "key": key, "cycle_id": cycle_id}
    row = (await session.execute(_CLAIM_CONTEXT, params)).one_or_none()
    if row is None:
        return ClaimContext(None, None, None)
    cycle, kind, print_, response, profile = row
    return ClaimContext(cycle, _stored(kind, print_, response), profile)


async def claim_response(session: AsyncSession, cycle_id: uuid.UUID) -> dict[str, object] | None:
    """The stored response of a cycle's claim, if it was claimed."""
    query = select(LedgerEntry.response).where(LedgerEntry.claim_cycle_id == cycle_id)
    response: dict[str, object] | None = (await session.execute(query)).scalar_one_or_none()
    return response


async def reversal_of(session: AsyncSession, entry_id: uuid.UUID) -> LedgerEntry | None:
    """The reversal of an entry, if it was reversed."""
    query = select(LedgerEntry).where(LedgerEntry.reverses_id == entry_id)
    return (await session.scalars(query)).one_or_none()


async def get(session: AsyncSession, entry_id: uuid.UUID) -> LedgerEntry | None:
    """One entry by id."""
    return await session.get(LedgerEntry, entry_id)


async def entries(session: AsyncSession, learner: str | None = None) -> list[LedgerEntry]:
    """Entries in the order they were written, of one learner or of all."""
    # a claim sorts before its reversal when both carry the same time
    query = select(LedgerEntry).order_by(LedgerEntry.created_at, LedgerEntry.kind, LedgerEntry.id)
    if learner is not None:
        query = query.where(LedgerEntry.learner == learner)
    return list((await session.scalars(query)).all())


async def facts(session: AsyncSession, learner: str) -> list[LedgerFact]:
    """The learner's ledger as the rules engine sees it (reversals negative): only the three
    columns the engine reads, never the stored responses."""
    rows = (await session.execute(_FACTS, {"learner": learner})).all()
    return [
        LedgerFact(credit_type, amount, earned_at.date()) for credit_type, amount, earned_at in rows
    ]


async def insert_once(session: AsyncSession, entry: LedgerEntry) -> bool:
    """Insert an entry (not added to the session); False when a unique constraint says it
    exists already. One statement: no savepoint, no flush; unset columns take their defaults
    (the values are execution parameters, so the INSERT names the columns given)."""
    values = {
        column.key: value
        for column in _LEDGER.columns
        if (value := getattr(entry, column.key)) is not None
    }
    dialect = "sqlite" if session.get_bind().dialect.name == "sqlite" else "postgresql"
    statement = _insert_ignoring_duplicates(dialect)
    return (await session.execute(statement, values)).first() is not None
