"""Claims and reversals: the only writers of the ledger, exactly once.

A claim's fingerprint is (cycle id, learner). The same idempotency key with the same
fingerprint returns the stored response; with another fingerprint it is 422. A cycle has at
most one claim whatever the key; an entry at most one reversal.

How a claim stays exactly-once: one query reads the cycle and the learner's idempotency key
and locks the learner's profile row (serialising the learner's claims, so that the ledger
facts read next are complete and caps hold); a retry of a committed claim is answered from
its key there. That query is the claim's only read of the cycle: it also answers "not
yours" (404, before any key is looked at), so a caller need not read the cycle first. The
insert is
`INSERT ... ON CONFLICT DO NOTHING` against the ledger's unique constraints, which are the
real guarantee: when it inserts nothing, or when the engine refuses, the request already on
record (the same key, else the cycle's claim) answers instead, or 422 for a reused key. The
claim's outbox row holds the `earned` event's facts (`outbox.cycle_event`); its xAPI
statement is rendered when it is pushed or exported.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from service.credit import audit, ledger, outbox
from service.credit.cycles import cycle_facts
from service.credit.engine import ClaimDecision, evaluate_claim
from service.credit.errors import ClaimRefused
from service.credit.models import (
    AuditEvent,
    LearnerProfile,
    LearningCycle,
    LedgerEntry,
    XapiOutboxItem,
)
from service.credit.records import entry_view
from service.credit.rules import CreditRules
from service.credit.schemas import ClaimResult, LedgerEntryView
from service.db.engine import Write, bound_insert, bound_values, write_together
from service.errors import Conflict, NotFound, Unprocessable

# A recorded claim's writes besides its entry, built once (a mapped class's table is a Table)
_CYCLES = cast(Table, LearningCycle.__table__)
_MARK_CLAIMED = (
    update(_CYCLES)
    .where(_CYCLES.c.id == bindparam("cycle_id"))
    .values(status="claimed", claimed_at=bindparam("claimed_at", type_=_CYCLES.c.claimed_at.type))
)
_INSERT_AUDIT = bound_insert(cast(Table, AuditEvent.__table__), "audit_")
_INSERT_OUTBOX = bound_insert(cast(Table, XapiOutboxItem.__table__), "outbox_")


def default_idempotency_key(cycle_id: uuid.UUID) -> str:
    """The key used when the client sends no Idempotency-Key header: one per cycle."""
    return f"cycle:{cycle_id}"


def _replayed(stored: ledger.StoredRequest, print_: str) -> ClaimResult:
    """The stored response for a retry; 422 when the key served a different request."""
    if stored.fingerprint != print_ or stored.kind != "claim":
        raise Unprocessable("This idempotency key was already used for a different request.")
    return ClaimResult.model_validate(stored.response)


async def _replay(
    session: AsyncSession, learner_key: str, key: str, print_: str
) -> ClaimResult | None:
    stored = await ledger.by_key(session, learner_key, key)
    return None if stored is None else _replayed(stored, print_)


async def _claimable(
    session: AsyncSession, learner_key: str, cycle_id: uuid.UUID, key: str, print_: str
) -> tuple[LearningCycle, LearnerProfile | None] | ClaimResult:
    """The learner's cycle and profile (its row now locked), or the stored answer when the
    key was used already (one query). NotFound for another learner's cycle whatever the key,
    and for an unknown id the key never claimed."""
    found = await ledger.claim_context(session, learner_key, cycle_id, key)
    cycle = found.cycle
    if cycle is not None and cycle.learner != learner_key:
        raise NotFound("learning cycle not found")
    if found.stored is not None:
        return _replayed(found.stored, print_)
    if cycle is None and (replayed := await _replay(session, learner_key, key, print_)):
        return replayed  # a stored claim of a cycle since pruned
    if cycle is None:
        raise NotFound("learning cycle not found")
    return cycle, found.profile


async def _settled(
    session: AsyncSession, learner_key: str, key: str, print_: str, cycle_id: uuid.UUID
) -> ClaimResult | None:
    """The answer already on record: the key's stored response (422 when the key served
    another request), else the stored response of the cycle's claim, else None."""
    if (stored := await _replay(session, learner_key, key, print_)) is not None:
        return stored
    response = await ledger.claim_response(session, cycle_id)
    return None if response is None else ClaimResult.model_validate(response)


async def _decide(
    session: AsyncSession,
    cycle: LearningCycle,
    profile: LearnerProfile | None,
    rules: CreditRules,
    now: datetime,
) -> ClaimDecision:
    """The engine's decision on the cycle; a claimed cycle is refused before caps are
    counted, so it needs no ledger facts."""
    facts = [] if cycle.status == "claimed" else await ledger.facts(session, cycle.learner)
    profession = profile.profession if profile is not None else None
    return evaluate_claim(cycle_facts(cycle), profession, facts, rules, now)


def _claim_entry(
    cycle: LearningCycle,
    decision: ClaimDecision,
    key: str,
    print_: str,
    now: datetime,
    rules: CreditRules,
) -> tuple[LedgerEntry, ClaimResult]:
    credit_type, activity = decision.credit_type, decision.activity
    assert credit_type is not None
    assert activity is not None
    assert decision.earned_at is not None
    entry = LedgerEntry(
        id=uuid.uuid4(),
        learner=cycle.learner,
        kind="claim",
        idempotency_key=key,
        fingerprint=print_,
        claim_cycle_id=cycle.id,
        credit_type=credit_type.id,
        amount=decision.amount,
        activity_id=activity.id,
        activity_title=activity.title,
        item_id=cycle.item_id,
        topic=cycle.title,
        earned_at=decision.earned_at,
        created_at=now,
    )
    result = ClaimResult(
        entry=entry_view(entry, rules, cycle.credit_format),
        idempotency_key=key,
        certificate="participation" if credit_type.is_participation else "credit",
        credit_statement=credit_type.designation_for(
            rules.activities.format_of(activity.id), decision.amount
        ),
        notes=list(decision.notes),
    )
    entry.response = result.model_dump(mode="json")
    return entry, result


def _claim_writes(cycle: LearningCycle, entry: LedgerEntry, now: datetime) -> list[Write]:
    """What a recorded claim writes besides its entry: the cycle marked claimed, the audit
    event and the xAPI outbox row (independent rows, so they can go out together)."""
    audit_row = audit.row(
        actor=cycle.learner,
        action="credit.claimed",
        at=now,
        learner=cycle.learner,
        subject=str(entry.id),
        details={"cycle": str(cycle.id), "credit_type": entry.credit_type, "amount": entry.amount},
    )
    credit = outbox.credit_result(entry.credit_type, entry.amount, entry.activity_id)
    outbox_row = outbox.row(
        learner=cycle.learner,
        event=outbox.cycle_event(cycle, "earned", credit),
        event_id=outbox.statement_id(cycle.learner, "earned", str(entry.id)),
        at=now,
    )
    return [
        (_MARK_CLAIMED, {"cycle_id": cycle.id, "claimed_at": now}),
        (_INSERT_AUDIT, bound_values("audit_", audit_row)),
        (_INSERT_OUTBOX, bound_values("outbox_", outbox_row)),
    ]


async def _record_claim(
    session: AsyncSession, cycle: LearningCycle, entry: LedgerEntry, now: datetime
) -> None:
    """Mark the cycle claimed and add the audit and outbox rows, in one round trip on
    PostgreSQL (the claim's entry is already inserted, in the same transaction)."""
    await write_together(session, _claim_writes(cycle, entry, now))
    # the loaded cycle now says what the database says, without a second UPDATE at flush
    set_committed_value(cycle, "status", "claimed")
    set_committed_value(cycle, "claimed_at", now)


async def claim(
    session: AsyncSession,
    learner_key: str,
    cycle_id: uuid.UUID,
    *,
    idempotency_key: str,
    rules: CreditRules,
    now: datetime,
) -> ClaimResult:
    """Claim credit for a cycle, exactly once; retries get the stored response."""
    print_ = ledger.fingerprint("claim", str(cycle_id), learner_key)
    claimable = await _claimable(session, learner_key, cycle_id, idempotency_key, print_)
    if isinstance(claimable, ClaimResult):
        return claimable  # a retry of a committed claim: no write
    # the learner's claims are serialised from here, so the facts read next are complete and
    # caps hold; the cycle may predate the lock: a stale read ends in the conflict path below
    cycle, profile = claimable
    decision = await _decide(session, cycle, profile, rules, now)
    if decision.allowed:
        entry, result = _claim_entry(cycle, decision, idempotency_key, print_, now, rules)
        if await ledger.insert_once(session, entry):
            await _record_claim(session, cycle, entry, now)
            return result
    # refused, or the insert lost a race: a request already on record answers as it did
    if done := await _settled(session, learner_key, idempotency_key, print_, cycle_id):
        return done
    if decision.allowed:
        raise Conflict("The claim could not be recorded; please try again.")
    raise ClaimRefused(decision.refusals)


def _reversal(original: LedgerEntry, reason: str, now: datetime) -> LedgerEntry:
    """The negative twin of a claim: same credit type, activity and period."""
    return LedgerEntry(
        id=uuid.uuid4(),
        learner=original.learner,
        kind="reversal",
        idempotency_key=f"reversal:{original.id}",
        fingerprint=ledger.fingerprint("reversal", str(original.id)),
        reverses_id=original.id,
        credit_type=original.credit_type,
        amount=-original.amount,
        activity_id=original.activity_id,
        activity_title=original.activity_title,
        item_id=original.item_id,
        topic=original.topic,
        earned_at=original.earned_at,  # nets out in the period the credit was earned
        reason=reason,
        created_at=now,
        response={},
    )


async def reverse_entry(
    session: AsyncSession,
    entry_id: uuid.UUID,
    *,
    reason: str,
    actor: str,
    rules: CreditRules,
    now: datetime,
) -> LedgerEntryView:
    """Reverse a claim with a new, negative entry (idempotent: one reversal per entry)."""
    reason = reason.strip()
    if not reason:
        raise Unprocessable("A reason is required to reverse an entry.")
    original = await ledger.get(session, entry_id)
    if original is None:
        raise NotFound("ledger entry not found")
    if original.kind != "claim":
        raise Conflict("Only claims can be reversed.")
    done = await ledger.reversal_of(session, entry_id)
    if done is None:
        reversal = _reversal(original, reason, now)
        if await ledger.insert_once(session, reversal):
            audit.add(
                session,
                actor=actor,
                action="credit.reversed",
                at=now,
                learner=original.learner,
                subject=str(reversal.id),
                details={"reverses": str(original.id), "reason": reason},
            )
            return entry_view(reversal, rules)
        done = await ledger.reversal_of(session, entry_id)  # reversed concurrently
    assert done is not None
    return entry_view(done, rules)
