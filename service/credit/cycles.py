"""Learning cycles: a clinician's question from a card, the source, and its application.

Status: pending -> complete (question, source and application documented, and for an
enduring case a passing score) -> claimed. Relaunching the same card returns the same cycle.
Reflection text is the learner's own: views carry a reminder not to enter patient details.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.credit import outbox
from service.credit.engine import (
    CycleFacts,
    case_passed,
    claim_deadline,
    is_complete,
    missing_steps,
)
from service.credit.models import LearningCycle
from service.credit.rules import CreditRules, load_rules
from service.credit.schemas import CycleItem, CyclePatch, CycleView
from service.db.base import utcnow
from service.db.changes import learner_changed
from service.errors import Conflict, NotFound

WHY_MAX = 80  # `LearningCycle.shown_because`


@cache
def bundled_rules() -> CreditRules:
    """The bundled default rules, for callers that pass none."""
    return load_rules(None)


def cycle_facts(row: LearningCycle) -> CycleFacts:
    """What the rules engine needs from a cycle row."""
    return CycleFacts(
        item_id=row.item_id,
        credit_format=row.credit_format,
        question=row.question,
        source_citation=row.source_citation,
        application=row.application,
        application_text=row.application_text,
        started_at=row.started_at,
        completed_at=row.completed_at,
        case_score=row.case_score,
        case_passed=row.case_passed,
        passing_score=row.passing_score,
        case_minutes=row.case_minutes,
        claimed=row.status == "claimed",
    )


def cycle_view(row: LearningCycle, rules: CreditRules) -> CycleView:
    """The learner's view of a cycle, with what is still missing and the claim deadline."""
    facts = cycle_facts(row)
    missing = [] if row.status == "claimed" else missing_steps(facts, rules)
    return CycleView.model_validate(
        {
            **{c.key: getattr(row, c.key) for c in LearningCycle.__table__.columns},
            "status": row.status,
            "missing": missing,
            "claim_deadline": claim_deadline(facts, rules),
            "patient_data_reminder": rules.statements.patient_data_reminder,
        }
    )


async def _by_card(session: AsyncSession, learner_key: str, card_uuid: str) -> LearningCycle | None:
    query = select(LearningCycle).where(
        LearningCycle.learner == learner_key, LearningCycle.card_uuid == card_uuid
    )
    return (await session.scalars(query)).one_or_none()


async def _insert_cycle(session: AsyncSession, row: LearningCycle) -> bool:
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        return False
    return True


async def start_cycle(
    session: AsyncSession,
    *,
    learner_key: str,
    item: CycleItem,
    card_uuid: str | None,
    now: datetime,
    rules: CreditRules | None = None,
    shown_because: str | None = None,
) -> CycleView:
    """Start (or, for a card already launched, return) the learner's cycle for an item.
    `shown_because` is why the card was shown (a `why_code` from its signed appContext), kept
    for the learn page's one line; a code longer than the column is not kept."""
    rules = rules or bundled_rules()
    if card_uuid is not None and (found := await _by_card(session, learner_key, card_uuid)):
        return cycle_view(found, rules)
    row = LearningCycle(
        id=uuid.uuid4(),
        learner=learner_key,
        card_uuid=card_uuid,
        **item.model_dump(),
        status="pending",
        started_at=now,
        updated_at=now,
        shown_because=shown_because if shown_because and len(shown_because) <= WHY_MAX else None,
    )
    if not await _insert_cycle(session, row):  # the same card launched concurrently
        assert card_uuid is not None
        found = await _by_card(session, learner_key, card_uuid)
        assert found is not None
        return cycle_view(found, rules)
    await outbox.enqueue(
        session,
        learner=learner_key,
        event=outbox.cycle_event(row, "launched"),
        event_id=outbox.statement_id(learner_key, "launched", str(row.id)),
        at=now,
    )
    return cycle_view(row, rules)


async def own_cycle(session: AsyncSession, learner_key: str, cycle_id: uuid.UUID) -> LearningCycle:
    """The learner's cycle; NotFound for an unknown id or another learner's cycle."""
    row = await session.get(LearningCycle, cycle_id)
    if row is None or row.learner != learner_key:
        raise NotFound("learning cycle not found")
    return row


async def get_cycle(
    session: AsyncSession,
    learner_key: str,
    cycle_id: uuid.UUID,
    *,
    rules: CreditRules | None = None,
) -> CycleView:
    """One of the learner's cycles."""
    return cycle_view(await own_cycle(session, learner_key, cycle_id), rules or bundled_rules())


async def list_cycles(
    session: AsyncSession,
    learner_key: str,
    status: str | None = None,
    *,
    rules: CreditRules | None = None,
) -> list[CycleView]:
    """The learner's cycles, newest first, optionally of one status."""
    query = select(LearningCycle).where(LearningCycle.learner == learner_key)
    if status is not None:
        query = query.where(LearningCycle.status == status)
    query = query.order_by(LearningCycle.started_at.desc(), LearningCycle.id)
    rules = rules or bundled_rules()
    return [cycle_view(row, rules) for row in (await session.scalars(query)).all()]


def _apply(row: LearningCycle, patch: CyclePatch) -> list[str]:
    changed = []
    for field, value in patch.model_dump(exclude_unset=True).items():
        if value is not None and getattr(row, field) != value:
            setattr(row, field, value)
            changed.append(field)
    if "case_score" in changed and "case_passed" not in changed:
        row.case_passed = None  # recomputed from the score and the passing level
    return changed


async def _settle_status(
    session: AsyncSession, row: LearningCycle, rules: CreditRules, now: datetime
) -> None:
    """Recompute the status; the first completion emits an xAPI `completed` statement."""
    complete = is_complete(cycle_facts(row), rules)
    status = "complete" if complete else "pending"
    if row.status != status:
        learner_changed(session, row.learner)  # the hook's "learned" items
    row.status = status
    if not complete or row.completed_at is not None:
        return
    row.completed_at = now
    await outbox.enqueue(
        session,
        learner=row.learner,
        event=outbox.cycle_event(row, "completed", outbox.completion_result(row.case_score)),
        event_id=outbox.statement_id(row.learner, "completed", str(row.id)),
        at=now,
    )


async def update_cycle(
    session: AsyncSession,
    learner_key: str,
    cycle_id: uuid.UUID,
    patch: CyclePatch,
    *,
    rules: CreditRules | None = None,
    now: datetime | None = None,
) -> CycleView:
    """Document the question, application or case answers; completes the cycle when done."""
    rules, now = rules or bundled_rules(), now or utcnow()
    row = await own_cycle(session, learner_key, cycle_id)
    if row.status == "claimed":
        raise Conflict("This question has been claimed; its record can no longer change.")
    if not _apply(row, patch):
        return cycle_view(row, rules)
    row.updated_at = now
    if row.case_passed is None and row.case_score is not None:
        row.case_passed = case_passed(cycle_facts(row), rules)
    await outbox.enqueue(
        session,
        learner=learner_key,
        event=outbox.cycle_event(row, "answered"),
        event_id=uuid.uuid4(),
        at=now,
    )
    await _settle_status(session, row, rules, now)
    await session.flush()
    return cycle_view(row, rules)
