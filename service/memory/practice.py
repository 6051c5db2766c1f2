"""Practice counts without patient data: what each learner did when a practice measure applied,
counted per learner, measure, month and phase, and the learner's own summary of them.

What is kept, exactly:
- In the database (`practice_tally`): per (learner key, measure id, month "YYYY-MM" in UTC,
  phase "before" | "after" the learner completed a cycle on the measure's item) two counts,
  opportunities and concordant, and when they last changed. No patient or encounter id, date
  of birth, resource, order or time of a call.
- In this worker's memory only, until the next UTC day: a set of 16-byte pseudonyms, one per
  (learner, measure, phase, patient) seen today, so that a chart opened again the same day is
  not a new opportunity; each maps to whether that opportunity was already counted as
  concordant. A pseudonym is an HMAC-SHA256 under a random key made in memory for the day:
  at the day's change the key and the set are discarded together. The key is never written,
  logged or derived from the server secret, so nobody, even with the server secret and the
  database, can link a pseudonym to a patient, and nothing about the patient leaves the
  process. The set is capped (`MAX_SEEN`); beyond it a repeat visit counts again.
- Per worker: two workers (or a restart) may each count the same repeat visit. Accepted: the
  counts describe a learner's practice, not a patient register, and sharing the pseudonyms
  between workers would mean storing them (Redis) for no better answer to that question.

Counts are added up in memory and written in batches by a background task (like issued cards:
service/memory/recorder.py), so the hook never waits on the database. The write adds to the
stored counts (`INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n`), so workers writing
the same row at once lose nothing. Counts observed in the last second before a hard crash may
be lost; the rest are written on shutdown.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Insert, Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit.models import LearningCycle
from service.db.base import utcnow
from service.memory.models import PracticeTally
from service.memory.writer import BackgroundWriter

if TYPE_CHECKING:
    from service.cards.library import ContentLibrary

log = logging.getLogger("bedside.memory.practice")
BEFORE, AFTER = "before", "after"
FLUSH_INTERVAL_SECONDS = 1.0  # counts add up in memory meanwhile: one row per key per batch
FLUSH_BATCH = 500  # distinct (learner, measure, month, phase) keys that wake the writer early
MAX_PENDING = 50_000  # keys kept while the database is unreachable; beyond, new keys are dropped
# the day's pseudonyms (~100 bytes each, 20 MB when full); beyond, a repeat visit counts again
MAX_SEEN = 200_000
PSEUDONYM_BYTES = 16  # 128 bits: no collision among a day's visits
_TABLE: Table = PracticeTally.__table__  # type: ignore[assignment]
_COMPLETED = ("complete", "claimed")

# (learner, measure id = item id, month "YYYY-MM", phase)
TallyKey = tuple[str, str, str, str]


class Observation(Protocol):
    """One measure's verdict on one hook call (`service/cards/measures.py:
    PracticeObservation`): its item, and whether the recommended action was seen."""

    @property
    def item_id(self) -> str: ...

    @property
    def concordant(self) -> bool: ...


def utc_day(moment: datetime) -> date:
    """The UTC date of `moment` (a naive time is taken as UTC)."""
    return (moment.astimezone(UTC) if moment.tzinfo is not None else moment).date()


class RepeatVisits:
    """Which (learner, measure, phase, patient) were seen today, by keyed pseudonym only.

    `visit` answers what a call adds: (1, c) for a first visit, (0, 1) when a repeat visit
    is the first concordant one, else (0, 0): a repeat never adds an opportunity, and a
    concordant opportunity is never taken back. The key and the set live and die together,
    one UTC day at a time; a late call of the day before (its clock read before midnight)
    uses today's key rather than bringing yesterday's back.
    """

    def __init__(
        self, *, max_entries: int = MAX_SEEN, new_key: Callable[[], bytes] | None = None
    ) -> None:
        self._max = max_entries
        self._new_key = new_key or (lambda: secrets.token_bytes(32))
        self._day: date | None = None
        self._key = b""
        self._mac = hmac.new(self._key, digestmod=hashlib.sha256)
        self._seen: dict[bytes, bool] = {}
        self._full_logged = False

    def visit(
        self, day: date, prefix: str, item_id: str, phase: str, concordant: bool
    ) -> tuple[int, int]:
        """What one observation adds; `prefix` is `call_prefix(learner, patient_id)`."""
        if self._day is None or day > self._day:
            self._rotate(day)
        mac = self._mac.copy()  # the keyed state, ready: half the cost of a new HMAC
        mac.update(f"{prefix}{item_id}\x1f{phase}".encode())
        pseudonym = mac.digest()[:PSEUDONYM_BYTES]
        counted = self._seen.get(pseudonym)
        if counted is None:
            if len(self._seen) < self._max:
                self._seen[pseudonym] = concordant
            elif not self._full_logged:
                self._full_logged = True
                log.warning("practice repeat-visit set full for today; repeats now count again")
            return 1, int(concordant)
        if concordant and not counted:
            self._seen[pseudonym] = True
            return 0, 1
        return 0, 0

    def _rotate(self, day: date) -> None:
        """A new day: a new key, an empty set; the old key and pseudonyms are dropped."""
        self._day = day
        self._key = self._new_key()
        self._mac = hmac.new(self._key, digestmod=hashlib.sha256)
        self._seen = {}
        self._full_logged = False

    def __len__(self) -> int:
        return len(self._seen)


def call_prefix(learner: str, patient_id: str) -> str:
    """The part of a pseudonym's message shared by one call's observations."""
    return f"{learner}\x1f{patient_id}\x1f"


class PracticeRecorder(BackgroundWriter):
    """One per worker: counts practice observations and writes them in the background."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime] = utcnow,
        max_seen: int = MAX_SEEN,
    ) -> None:
        super().__init__()
        self._sessions = sessions
        self._clock = clock  # the rows' updated_at
        self._repeats = RepeatVisits(max_entries=max_seen)
        self._counts: dict[TallyKey, list[int]] = {}
        self._dropping_logged = False

    def interval(self) -> float:
        return FLUSH_INTERVAL_SECONDS

    def observe(
        self,
        learner: str,
        now: datetime,
        observations: Iterable[Observation],
        learned: frozenset[str],
        patient_id: str,
    ) -> None:
        """Count one hook call's observations for `learner` (sync, microseconds): phase
        "after" for an item in `learned`, else "before"; a repeat visit of the same patient
        today adds nothing but a first concordant action. `patient_id` is used for the
        day's pseudonym and dropped; without one, every call counts."""
        day = utc_day(now)
        month = f"{day.year:04d}-{day.month:02d}"
        prefix = call_prefix(learner, patient_id)
        for observation in observations:
            item_id, concordant = observation.item_id, observation.concordant
            phase = AFTER if item_id in learned else BEFORE
            if patient_id:
                opened, followed = self._repeats.visit(day, prefix, item_id, phase, concordant)
            else:
                opened, followed = 1, int(concordant)
            if opened or followed:
                self._add((learner, item_id, month, phase), opened, followed)
        if len(self._counts) >= FLUSH_BATCH:
            self.wake()

    def _add(self, key: TallyKey, opportunities: int, concordant: int) -> None:
        counts = self._counts.get(key)
        if counts is None:
            if len(self._counts) >= MAX_PENDING:
                if not self._dropping_logged:
                    self._dropping_logged = True
                    log.error("practice counts not written for a while; dropping new counts")
                return
            self._counts[key] = [opportunities, concordant]
            return
        counts[0] += opportunities
        counts[1] += concordant

    def pending(self) -> dict[TallyKey, tuple[int, int]]:
        """The counts not written yet: (opportunities, concordant) by key."""
        return {key: (counts[0], counts[1]) for key, counts in self._counts.items()}

    async def _write(self) -> None:
        """Write everything counted so far; on failure the counts stay for the next try."""
        if not self._counts:
            return
        batch, self._counts = self._counts, {}
        rows = tally_rows(batch, self._clock())
        try:
            async with self._sessions() as session, session.begin():
                await session.execute(upsert_tallies(session.get_bind().dialect.name), rows)
        except Exception:
            log.exception("writing practice counts failed; will retry")
            self._merge(batch)
            return
        self._dropping_logged = False

    def _merge(self, batch: Mapping[TallyKey, list[int]]) -> None:
        """Put a batch that was not written back, adding what was counted meanwhile."""
        for key, (opportunities, concordant) in batch.items():
            self._add(key, opportunities, concordant)


def tally_rows(batch: Mapping[TallyKey, list[int]], now: datetime) -> list[dict[str, Any]]:
    """The upsert's parameters, in key order: workers writing the same rows then lock them
    in the same order, so two batches wait for each other instead of deadlocking."""
    return [
        {
            "id": uuid.uuid4(),
            "learner": learner,
            "measure_id": item_id,
            "item_id": item_id,
            "month": month,
            "phase": phase,
            "opportunities": counts[0],
            "concordant": counts[1],
            "updated_at": now,
        }
        for (learner, item_id, month, phase), counts in sorted(batch.items())
    ]


# the unique constraint the counts are added on
_CONFLICT = (_TABLE.c.learner, _TABLE.c.measure_id, _TABLE.c.month, _TABLE.c.phase)


def _added(excluded: Any) -> dict[str, Any]:
    """SET: the stored counts plus the batch's (`excluded` is the row that conflicted)."""
    return {
        "opportunities": _TABLE.c.opportunities + excluded.opportunities,
        "concordant": _TABLE.c.concordant + excluded.concordant,
        "updated_at": excluded.updated_at,
    }


@cache
def upsert_tallies(dialect: str) -> Insert:
    """INSERT ... ON CONFLICT (learner, measure, month, phase) DO UPDATE adding the counts,
    in the session's dialect, built once. Adding in SQL (not read, add, write) is what keeps
    concurrent writers from losing counts."""
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        lite = sqlite.insert(_TABLE)
        return lite.on_conflict_do_update(index_elements=_CONFLICT, set_=_added(lite.excluded))
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        pg = postgresql.insert(_TABLE)
        return pg.on_conflict_do_update(index_elements=_CONFLICT, set_=_added(pg.excluded))
    raise ValueError(f"unsupported database dialect {dialect!r}")


@dataclass(frozen=True, slots=True)
class Tally:
    """How often a measure applied (`opportunities`) and the recommended action was seen
    (`concordant`)."""

    opportunities: int = 0
    concordant: int = 0


@dataclass(frozen=True, slots=True)
class MeasurePractice:
    """One measure of one learner: before and after learning, summed over months, and the
    day the learner first completed a cycle on its item (None: not learned yet)."""

    item_id: str
    title: str
    before: Tally
    after: Tally
    learned_on: date | None


def measure_title(library: ContentLibrary | None, item_id: str) -> str:
    """The measure's title in plain words: the item's title when the item has no measure
    (any more), the item id when the library no longer has the item."""
    item = library.get(item_id) if library is not None else None
    if item is None:
        return item_id
    return item.measure.title if item.measure is not None else item.title


async def practice_summary(
    session: AsyncSession, learner: str, library: ContentLibrary | None = None
) -> list[MeasurePractice]:
    """The learner's own counts per measure, before and after learning, sorted by title."""
    totals = await session.execute(
        select(
            PracticeTally.item_id,
            PracticeTally.phase,
            func.sum(PracticeTally.opportunities),
            func.sum(PracticeTally.concordant),
        )
        .where(PracticeTally.learner == learner)
        .group_by(PracticeTally.item_id, PracticeTally.phase)
    )
    phases: dict[str, dict[str, Tally]] = {}
    for item_id, phase, opportunities, concordant in totals:
        phases.setdefault(item_id, {})[phase] = Tally(int(opportunities), int(concordant))
    if not phases:
        return []
    learned = await learned_dates(session, learner, phases)
    found = [
        MeasurePractice(
            item_id=item_id,
            title=measure_title(library, item_id),
            before=by_phase.get(BEFORE, Tally()),
            after=by_phase.get(AFTER, Tally()),
            learned_on=learned.get(item_id),
        )
        for item_id, by_phase in phases.items()
    ]
    return sorted(found, key=lambda m: (m.title.casefold(), m.item_id))


async def learned_dates(
    session: AsyncSession, learner: str, item_ids: Iterable[str]
) -> dict[str, date]:
    """The UTC date the learner first completed (or claimed) a cycle on each item."""
    done = func.min(func.coalesce(LearningCycle.completed_at, LearningCycle.claimed_at))
    rows = await session.execute(
        select(LearningCycle.item_id, done)
        .where(
            LearningCycle.learner == learner,
            LearningCycle.status.in_(_COMPLETED),
            LearningCycle.item_id.in_(list(item_ids)),
        )
        .group_by(LearningCycle.item_id)
    )
    return {item_id: utc_day(_aware(at)) for item_id, at in rows if at is not None}


def _aware(value: datetime | str) -> datetime:
    """An aggregate can lose the UTC column type on SQLite: normalise to aware UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
