"""Claims and reversals: the only writers of the ledger, exactly once.

A claim's fingerprint is (cycle id, learner). The same idempotency key with the same
fingerprint returns the stored response; with another fingerprint it is 422. A cycle has at
most one claim whatever the key; an entry at most one reversal.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.credit import audit, ledger, outbox
from service.credit.cycles import cycle_facts, own_cycle
from service.credit.engine import ClaimDecision, evaluate_claim
from service.credit.errors import ClaimRefused
from service.credit.exports.xapi import credit_result
from service.credit.models import LearningCycle, LedgerEntry
from service.credit.rules import CreditRules
from service.credit.schemas import ClaimResult, LedgerEntryView
from service.errors import Conflict, NotFound, Unprocessable


def default_idempotency_key(cycle_id: uuid.UUID) -> str:
    """The key used when the client sends no Idempotency-Key header: one per cycle."""
    return f"cycle:{cycle_id}"


def entry_view(entry: LedgerEntry, rules: CreditRules) -> LedgerEntryView:
    """The API view of a ledger entry."""
    try:
        label = rules.credit_type(entry.credit_type).label
    except KeyError:  # a type since removed from the rules: the id is still meaningful
        label = entry.credit_type
    return LedgerEntryView(
        id=entry.id,
        kind=entry.kind,
        cycle_id=entry.claim_cycle_id,
        reverses_id=entry.reverses_id,
        credit_type=entry.credit_type,
        credit_label=label,
        amount=entry.amount,
        activity_id=entry.activity_id,
        activity_title=entry.activity_title,
        item_id=entry.item_id,
        topic=entry.topic,
        earned_on=entry.earned_at.date(),
        created_at=entry.created_at,
        reason=entry.reason,
    )


async def _replay(
    session: AsyncSession, learner_key: str, key: str, print_: str
) -> ClaimResult | None:
    stored = await ledger.by_key(session, learner_key, key)
    if stored is None:
        return None
    if stored.fingerprint != print_ or stored.kind != "claim":
        raise Unprocessable("This idempotency key was already used for a different request.")
    return ClaimResult.model_validate(stored.response)


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
        entry=entry_view(entry, rules),
        idempotency_key=key,
        certificate="participation" if credit_type.is_participation else "credit",
        credit_statement=credit_type.statement,
        notes=list(decision.notes),
    )
    entry.response = result.model_dump(mode="json")
    return entry, result


async def _record_claim(
    session: AsyncSession, cycle: LearningCycle, entry: LedgerEntry, now: datetime
) -> None:
    cycle.status, cycle.claimed_at = "claimed", now
    await audit.record(
        session,
        actor=cycle.learner,
        action="credit.claimed",
        at=now,
        learner=cycle.learner,
        subject=str(entry.id),
        details={"cycle": str(cycle.id), "credit_type": entry.credit_type, "amount": entry.amount},
    )
    await outbox.enqueue(
        session,
        learner=cycle.learner,
        event={
            "verb": "earned",
            "item_id": cycle.item_id,
            "title": cycle.title,
            "item_type": cycle.item_type,
            "cycle_id": str(cycle.id),
            "result": credit_result(entry.credit_type, entry.amount, entry.activity_id),
        },
        event_id=outbox.statement_id(cycle.learner, "earned", str(entry.id)),
        at=now,
    )


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
    if (stored := await _replay(session, learner_key, idempotency_key, print_)) is not None:
        return stored
    cycle = await own_cycle(session, learner_key, cycle_id)
    profile = await ledger.lock_learner(session, learner_key)  # serialises this learner's claims
    if (stored := await _replay(session, learner_key, idempotency_key, print_)) is not None:
        return stored
    if (existing := await ledger.claim_of_cycle(session, cycle.id)) is not None:
        return ClaimResult.model_validate(existing.response)
    facts = await ledger.facts(session, learner_key)
    profession = profile.profession if profile is not None else None
    decision = evaluate_claim(cycle_facts(cycle), profession, facts, rules, now)
    if not decision.allowed:
        raise ClaimRefused(decision.refusals)
    entry, result = _claim_entry(cycle, decision, idempotency_key, print_, now, rules)
    if not await ledger.insert_once(session, entry):  # lost a race: answer as the winner did
        stored = await _replay(session, learner_key, idempotency_key, print_)
        existing = await ledger.claim_of_cycle(session, cycle.id)
        if stored is None and existing is None:
            raise Conflict("The claim could not be recorded; please try again.")
        return stored or ClaimResult.model_validate(existing.response)  # type: ignore[union-attr]
    await _record_claim(session, cycle, entry, now)
    return result


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
            await audit.record(
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
