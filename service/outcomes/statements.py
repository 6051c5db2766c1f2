"""Practice counts as xAPI statements: each closed month's counts become one statement per
(learner, measure, month), both phases in its result, queued in the LRS outbox so that an
organisation's LRS sees outcomes next to completions. Then the month's rows are marked
published (`PracticeTally.published_at`) and never queued again.

A month is closed once the UTC clock is a grace period past its end: workers write their
counts in batches, so a batch gathered in the last seconds of a month may land a little
after midnight. Counts that arrive later still (a worker that could not reach the database
for longer than the grace) stay in the report but are not sent: a statement's id is fixed
(uuid5 of learner, measure and month), and an LRS keeps the first statement of an id.

Two workers may run this at once: the rows of a batch are locked (`FOR UPDATE` on
PostgreSQL) and re-read as unpublished under the lock, and the outbox insert skips a
statement id already queued, so a retry or a race never sends a month twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.credit import outbox
from service.memory.models import PracticeTally
from service.outcomes.report import Items

PUBLISH_GRACE = timedelta(days=1)
BATCH = 500  # (learner, measure, month) groups per unit of work

Group = tuple[str, str, str]  # learner, measure, month


def month_of(moment: datetime) -> str:
    """YYYY-MM of a moment, in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m")


def first_open_month(now: datetime) -> str:
    """Months before this one are closed (a grace period after each month's end)."""
    return month_of(now - PUBLISH_GRACE)


def month_start(month: str) -> datetime:
    """The first instant of a YYYY-MM month (the statement's timestamp)."""
    year, number = month.split("-")
    return datetime(int(year), int(number), 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class MonthOfPractice:
    """One learner's month on one measure: (opportunities, concordant) per phase."""

    learner: str
    item_id: str
    month: str
    before: tuple[int, int]
    after: tuple[int, int]


def months_of_practice(rows: list[PracticeTally]) -> list[MonthOfPractice]:
    """The rows grouped per (learner, measure, month), both phases together."""
    phases: dict[Group, dict[str, tuple[int, int]]] = defaultdict(dict)
    items: dict[Group, str] = {}
    for row in rows:
        group = (row.learner, row.measure_id, row.month)
        seen = phases[group].get(row.phase, (0, 0))
        phases[group][row.phase] = (seen[0] + row.opportunities, seen[1] + row.concordant)
        items[group] = row.item_id
    return [
        MonthOfPractice(
            group[0],
            items[group],
            group[2],
            counts.get("before", (0, 0)),
            counts.get("after", (0, 0)),
        )
        for group, counts in sorted(phases.items())
    ]


def outbox_row(month: MonthOfPractice, library: Items, now: datetime) -> dict[str, object]:
    """The outbox row of a learner's month (the object is the item, as in the learner's
    other statements about it)."""
    item = library.get(month.item_id)
    event = outbox.practice_event(
        item_id=month.item_id,
        title=item.title if item else month.item_id,
        item_type=item.type if item else "guideline",
        month=month.month,
        before=month.before,
        after=month.after,
    )
    return outbox.row(
        learner=month.learner,
        event=event,
        event_id=outbox.practice_statement_id(month.learner, month.item_id, month.month),
        at=now,
        occurred_at=month_start(month.month),
    )


async def _due_groups(session: AsyncSession, before_month: str, limit: int) -> list[Group]:
    query = (
        select(PracticeTally.learner, PracticeTally.measure_id, PracticeTally.month)
        .where(PracticeTally.published_at.is_(None), PracticeTally.month < before_month)
        .distinct()
        .order_by(PracticeTally.learner, PracticeTally.measure_id, PracticeTally.month)
        .limit(limit)
    )
    return [(r[0], r[1], r[2]) for r in (await session.execute(query)).all()]


async def publish_closed_months(
    session: AsyncSession, library: Items, now: datetime, *, limit: int = BATCH
) -> int:
    """Queue the statements of up to `limit` unpublished (learner, measure, month) groups of
    closed months and mark their rows published; returns how many groups it handled."""
    groups = await _due_groups(session, first_open_month(now), limit)
    if not groups:
        return 0
    key = tuple_(PracticeTally.learner, PracticeTally.measure_id, PracticeTally.month)
    query = (
        select(PracticeTally)
        .where(key.in_(groups), PracticeTally.published_at.is_(None))
        .order_by(PracticeTally.learner, PracticeTally.measure_id, PracticeTally.month)
        .with_for_update()
    )
    rows = list((await session.scalars(query)).all())
    months = months_of_practice(rows)
    await outbox.enqueue_once(session, [outbox_row(month, library, now) for month in months])
    if rows:
        await session.execute(
            update(PracticeTally)
            .where(PracticeTally.id.in_([row.id for row in rows]))
            .values(published_at=now)
        )
    return len(groups)


def practice_publisher(library: Items) -> Callable[[AsyncSession, datetime], Awaitable[int]]:
    """A producer for the outbox push (`service/credit/jobs.py: Producer`). Once it finds
    nothing left to queue, it does not look again until another month closes: the push runs
    every minute in every worker, and a query per minute per worker for nothing is waste even
    on the `published_at` index."""
    done_before: str | None = None  # every month before this one is queued

    async def publish(session: AsyncSession, now: datetime) -> int:
        nonlocal done_before
        open_month = first_open_month(now)
        if done_before == open_month:
            return 0
        groups = await publish_closed_months(session, library, now)
        if groups == 0:
            done_before = open_month
        return groups

    return publish
