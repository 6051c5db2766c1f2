"""The database reads of the outcomes report and the evidence file, and nothing else: each
returns what one learner contributed to one item (per learner, so that suppression can count
distinct learners), never a patient, never a token. Shaping is pure and lives elsewhere
(`report.py`, `evidence.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.credit.models import LearnerProfile, LearningCycle, LedgerEntry
from service.memory.models import CardFeedback, IssuedCard, PracticeTally

# the cycle states that mean the learner finished the learning (the hook's "learned")
LEARNED = ("complete", "claimed")


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one learner contributed to one item's cell: its values, and a key when the cell
    is one of several of the item (an override reason code, a practice phase)."""

    item_id: str
    learner: str
    values: tuple[float, ...]
    key: str | None = None


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The calendar year as a half-open UTC interval."""
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def _months(year: int) -> tuple[str, str]:
    return f"{year:04d}-01", f"{year:04d}-12"


async def _per_learner(
    session: AsyncSession, query: Select[*tuple[Any, ...]], *, keyed: bool = False
) -> list[Contribution]:
    rows = (await session.execute(query)).all()
    if keyed:
        return [Contribution(r[0], r[1], tuple(r[3:]), r[2]) for r in rows]
    return [Contribution(r[0], r[1], tuple(r[2:])) for r in rows]


async def cards_shown(session: AsyncSession, year: int) -> list[Contribution]:
    """Learning cards (not recall questions) shown in the year, per item and learner."""
    start, end = year_bounds(year)
    query = (
        select(IssuedCard.item_id, IssuedCard.learner, func.count())
        .where(
            IssuedCard.purpose == "learn", IssuedCard.issued_at >= start, IssuedCard.issued_at < end
        )
        .group_by(IssuedCard.item_id, IssuedCard.learner)
    )
    return await _per_learner(session, query)


async def launches(session: AsyncSession, year: int) -> list[Contribution]:
    """Learning cycles opened from a card (a SMART launch) and started in the year."""
    start, end = year_bounds(year)
    query = (
        select(LearningCycle.item_id, LearningCycle.learner, func.count())
        .where(
            LearningCycle.card_uuid.is_not(None),
            LearningCycle.started_at >= start,
            LearningCycle.started_at < end,
        )
        .group_by(LearningCycle.item_id, LearningCycle.learner)
    )
    return await _per_learner(session, query)


async def completions(session: AsyncSession, year: int) -> list[Contribution]:
    """Learning cycles completed in the year, however they were started."""
    start, end = year_bounds(year)
    query = (
        select(LearningCycle.item_id, LearningCycle.learner, func.count())
        .where(
            LearningCycle.status.in_(LEARNED),
            LearningCycle.completed_at >= start,
            LearningCycle.completed_at < end,
        )
        .group_by(LearningCycle.item_id, LearningCycle.learner)
    )
    return await _per_learner(session, query)


async def credits(session: AsyncSession, year: int) -> list[Contribution]:
    """Credit earned in the year, net of reversals (a reversal carries the claim's date and
    a negative amount, so the sum nets out in the period the credit was earned)."""
    start, end = year_bounds(year)
    query = (
        select(LedgerEntry.item_id, LedgerEntry.learner, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.earned_at >= start, LedgerEntry.earned_at < end)
        .group_by(LedgerEntry.item_id, LedgerEntry.learner)
    )
    return await _per_learner(session, query)


def _learn_cards_of(year: int) -> list[ColumnElement[bool]]:
    start, end = year_bounds(year)
    return [
        CardFeedback.card_uuid == IssuedCard.uuid,
        IssuedCard.purpose == "learn",
        IssuedCard.issued_at >= start,
        IssuedCard.issued_at < end,
    ]


async def feedback(session: AsyncSession, year: int) -> list[Contribution]:
    """Cards of the year the EHR reported accepted or overridden (distinct cards per
    outcome; the key is the outcome)."""
    query = (
        select(
            IssuedCard.item_id,
            IssuedCard.learner,
            CardFeedback.outcome,
            func.count(distinct(CardFeedback.card_uuid)),
        )
        .where(*_learn_cards_of(year))
        .group_by(IssuedCard.item_id, IssuedCard.learner, CardFeedback.outcome)
    )
    return await _per_learner(session, query, keyed=True)


async def override_reasons(session: AsyncSession, year: int) -> list[Contribution]:
    """Overridden cards of the year per override reason code (None: no reason given)."""
    query = (
        select(
            IssuedCard.item_id,
            IssuedCard.learner,
            CardFeedback.override_reason_code,
            func.count(distinct(CardFeedback.card_uuid)),
        )
        .where(*_learn_cards_of(year), CardFeedback.outcome == "overridden")
        .group_by(IssuedCard.item_id, IssuedCard.learner, CardFeedback.override_reason_code)
    )
    return await _per_learner(session, query, keyed=True)


async def practice(session: AsyncSession, year: int) -> list[Contribution]:
    """Practice counts of the year's months per phase (the key): opportunities, concordant."""
    first, last = _months(year)
    query = (
        select(
            PracticeTally.item_id,
            PracticeTally.learner,
            PracticeTally.phase,
            func.sum(PracticeTally.opportunities),
            func.sum(PracticeTally.concordant),
        )
        .where(PracticeTally.month >= first, PracticeTally.month <= last)
        .group_by(PracticeTally.item_id, PracticeTally.learner, PracticeTally.phase)
    )
    return await _per_learner(session, query, keyed=True)


# --- the evidence file -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reporter:
    """A learner who consented to reporting, with the names their profile holds."""

    learner: str
    given_name: str | None
    family_name: str | None


@dataclass(frozen=True, slots=True)
class MonthCount:
    """One learner's practice counts on one item, one month and phase."""

    learner: str
    item_id: str
    month: str
    phase: str
    opportunities: int
    concordant: int


async def consenting(session: AsyncSession) -> dict[str, Reporter]:
    """The learners who consented to reporting, by key."""
    query = select(
        LearnerProfile.learner, LearnerProfile.given_name, LearnerProfile.family_name
    ).where(LearnerProfile.consent_to_report.is_(True))
    return {r[0]: Reporter(r[0], r[1], r[2]) for r in (await session.execute(query)).all()}


async def first_learned(
    session: AsyncSession, year: int, item_id: str | None = None
) -> dict[tuple[str, str], date]:
    """(learner, item) -> the date a consenting learner first completed a cycle on the item,
    for the pairs whose first completion falls in `year` (the year's cohort of the activity)."""
    start, end = year_bounds(year)
    first = func.min(LearningCycle.completed_at)
    query = (
        select(LearningCycle.learner, LearningCycle.item_id, first)
        .join(LearnerProfile, LearnerProfile.learner == LearningCycle.learner)
        .where(
            LearnerProfile.consent_to_report.is_(True),
            LearningCycle.status.in_(LEARNED),
            LearningCycle.completed_at.is_not(None),
        )
        .group_by(LearningCycle.learner, LearningCycle.item_id)
        .having(first >= start, first < end)
    )
    if item_id is not None:
        query = query.where(LearningCycle.item_id == item_id)
    found: dict[tuple[str, str], date] = {}
    for learner, item, at in (await session.execute(query)).all():
        found[(learner, item)] = _as_utc(at).date()
    return found


def _as_utc(value: datetime | str | None) -> datetime:
    """An aggregate's datetime (SQLite returns MIN() of a timestamp as text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert value is not None  # the query keeps completed cycles only
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def consenting_counts(session: AsyncSession, item_id: str | None = None) -> list[MonthCount]:
    """Every practice tally of the consenting learners (all months, both phases)."""
    query = (
        select(
            PracticeTally.learner,
            PracticeTally.item_id,
            PracticeTally.month,
            PracticeTally.phase,
            PracticeTally.opportunities,
            PracticeTally.concordant,
        )
        .join(LearnerProfile, LearnerProfile.learner == PracticeTally.learner)
        .where(LearnerProfile.consent_to_report.is_(True))
    )
    if item_id is not None:
        query = query.where(PracticeTally.item_id == item_id)
    return [MonthCount(*row) for row in (await session.execute(query)).all()]
