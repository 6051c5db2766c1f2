"""Typed factories for the outcomes tests: rows inserted directly (issued cards, feedback,
cycles, ledger lines, profiles, practice tallies), since other packages write them in
production."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.cards.library import ContentLibrary
from service.credit.models import LearnerProfile, LearningCycle, LedgerEntry
from service.memory.models import CardFeedback, IssuedCard, PracticeTally
from tests.cards.factories import make_item

YEAR = 2026
STATIN = "statin-diabetes"  # in the test library
NSAID = "nsaid-hf"  # not in it (an item that left the library)
SCREENING = "colorectal-screening"  # not in it either


def learner(n: int) -> str:
    """A learner key of the same shape as `service/identity.py: learner_key`."""
    return f"lrn_{n:040d}"


def at(month: int, day: int = 15, year: int = YEAR) -> datetime:
    return datetime(year, month, day, 12, 0, tzinfo=UTC)


def library() -> ContentLibrary:
    return ContentLibrary([make_item(id=STATIN, title="Statins in diabetes")])


async def card(
    session: AsyncSession, who: str, item: str, when: datetime, purpose: str = "learn"
) -> uuid.UUID:
    """One card shown to `who` (no patient: a card is remembered by its uuid); flushed, so
    that feedback may refer to it."""
    card_id = uuid.uuid4()
    session.add(
        IssuedCard(
            uuid=card_id,
            item_id=item,
            item_version="1",
            learner=who,
            service_id="bedside-patient-view",
            hook="patient-view",
            hook_instance=str(uuid.uuid4()),
            issuer="https://ehr.example",
            issued_at=when,
            purpose=purpose,
        )
    )
    await session.flush()
    return card_id


def feedback(
    session: AsyncSession,
    card_id: uuid.UUID,
    outcome: str,
    when: datetime,
    reason: str | None = None,
) -> None:
    session.add(
        CardFeedback(
            id=uuid.uuid4(),
            card_uuid=card_id,
            outcome=outcome,
            outcome_timestamp=when,
            override_reason_system="https://ehr.example/reasons" if reason else None,
            override_reason_code=reason,
            accepted_suggestions=[],
            received_at=when,
        )
    )


def cycle(
    session: AsyncSession,
    who: str,
    item: str,
    started: datetime,
    *,
    completed: datetime | None = None,
    from_card: bool = True,
    status: str | None = None,
) -> uuid.UUID:
    cycle_id = uuid.uuid4()
    session.add(
        LearningCycle(
            id=cycle_id,
            learner=who,
            card_uuid=str(uuid.uuid4()) if from_card else None,
            item_id=item,
            item_version="1",
            item_type="guideline",
            title=item,
            credit_format="poc",
            source_citation="A guideline",
            status=status or ("complete" if completed else "pending"),
            started_at=started,
            updated_at=completed or started,
            completed_at=completed,
        )
    )
    return cycle_id


async def credit(
    session: AsyncSession,
    who: str,
    item: str,
    amount: float,
    earned: datetime,
    *,
    reverses: uuid.UUID | None = None,
) -> uuid.UUID:
    entry_id = uuid.uuid4()
    session.add(
        LedgerEntry(
            id=entry_id,
            learner=who,
            kind="reversal" if reverses else "claim",
            idempotency_key=f"k-{entry_id}",
            fingerprint="f" * 64,
            reverses_id=reverses,
            credit_type="ama-pra-1",
            amount=-amount if reverses else amount,
            activity_id="BEDSIDE-POC-2026",
            activity_title="Bedside point-of-care learning",
            item_id=item,
            topic=item,
            earned_at=earned,
            created_at=earned,
        )
    )
    await session.flush()  # a reversal refers to its claim
    return entry_id


def profile(
    session: AsyncSession,
    who: str,
    *,
    given: str | None = "Ada",
    family: str | None = "Lovelace",
    consent: bool = True,
) -> None:
    session.add(
        LearnerProfile(
            learner=who,
            given_name=given,
            family_name=family,
            profession="physician-md",
            consent_to_report=consent,
            created_at=at(1, 1),
            updated_at=at(1, 1),
        )
    )


def tally(
    session: AsyncSession,
    who: str,
    item: str,
    month: str,
    phase: str,
    opportunities: int,
    concordant: int,
    *,
    published_at: datetime | None = None,
) -> None:
    session.add(
        PracticeTally(
            id=uuid.uuid4(),
            learner=who,
            measure_id=item,
            item_id=item,
            month=month,
            phase=phase,
            opportunities=opportunities,
            concordant=concordant,
            updated_at=at(int(month[5:]), 28, int(month[:4])),
            published_at=published_at,
        )
    )
