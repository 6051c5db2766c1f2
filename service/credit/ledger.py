"""The ledger repository: append-only entries and the exactly-once insert.

Exactly-once rests on the database: UNIQUE (learner, idempotency_key), UNIQUE
(claim_cycle_id) and UNIQUE (reverses_id). `insert_once` tries the insert inside a
savepoint; on a unique violation (a concurrent or earlier duplicate) the savepoint is rolled
back and the caller re-reads the stored entry and returns its stored response. On
PostgreSQL, READ COMMITTED makes the re-read see the winner's committed row.
"""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.credit.engine import LedgerFact
from service.credit.models import LearnerProfile, LedgerEntry


def fingerprint(*parts: str) -> str:
    """A digest of what a request asks for; the same key with another body is refused."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


async def by_key(session: AsyncSession, learner: str, key: str) -> LedgerEntry | None:
    """The entry a learner's idempotency key already produced, if any."""
    query = select(LedgerEntry).where(
        LedgerEntry.learner == learner, LedgerEntry.idempotency_key == key
    )
    return (await session.scalars(query)).one_or_none()


async def claim_of_cycle(session: AsyncSession, cycle_id: uuid.UUID) -> LedgerEntry | None:
    """The claim entry of a cycle, if it was claimed."""
    query = select(LedgerEntry).where(LedgerEntry.claim_cycle_id == cycle_id)
    return (await session.scalars(query)).one_or_none()


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
    """The learner's ledger as the rules engine sees it (reversals negative)."""
    return [
        LedgerFact(e.credit_type, e.amount, e.earned_at.date())
        for e in await entries(session, learner)
    ]


async def lock_learner(session: AsyncSession, learner: str) -> LearnerProfile | None:
    """Lock the learner's profile row for this transaction, serialising one learner's claims
    so that caps hold under concurrency (FOR UPDATE on PostgreSQL; SQLite has one writer)."""
    query = select(LearnerProfile).where(LearnerProfile.learner == learner).with_for_update()
    return (await session.scalars(query)).one_or_none()


async def insert_once(session: AsyncSession, entry: LedgerEntry) -> bool:
    """Insert an entry inside a savepoint; False when a unique constraint says it exists."""
    try:
        async with session.begin_nested():
            session.add(entry)
            await session.flush()
    except IntegrityError:
        return False
    return True
