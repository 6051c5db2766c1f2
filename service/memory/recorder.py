"""Remember every issued card without a database round trip on the hook's critical path.

Cards are appended to an in-memory buffer and written in batches by a background task (every
200 ms or 200 cards). Feedback for a card still in the buffer flushes it first; shutdown
flushes what is left. A card issued in the last 200 ms before a hard crash may be lost: its
feedback then answers 404 and no credit depends on it (a launch re-creates the link).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.memory.models import IssuedCard
from service.memory.writer import BackgroundWriter

log = logging.getLogger("bedside.hooks.recorder")
FLUSH_INTERVAL_SECONDS = 0.2
FLUSH_BATCH = 200
MAX_BUFFER = 50_000
LEARN = "learn"  # a snippet or case card for this patient
RECALL = "recall"  # a quick-recall card: a due review question (`service/cards/recall.py`)


@dataclass(frozen=True, slots=True)
class IssuedCardRecord:
    uuid: uuid.UUID
    item_id: str
    item_version: str
    learner: str
    service_id: str
    hook: str
    hook_instance: str
    issuer: str
    tenant: str | None
    issued_at: datetime
    purpose: str = LEARN  # LEARN, or RECALL: a due review question, not a new card


_FIELDS = tuple(field.name for field in fields(IssuedCardRecord))


def _row(record: IssuedCardRecord) -> dict[str, object]:
    """The insert's parameters; dataclasses.asdict deep-copies every value (2% of the
    worker's CPU under load, for strings and a UUID that need no copy)."""
    return {name: getattr(record, name) for name in _FIELDS}


class CardRecorder(BackgroundWriter):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        on_flushed: Callable[[list[str]], None] | None = None,
    ) -> None:
        super().__init__()
        self._sessions = sessions
        self._on_flushed = on_flushed  # the learners whose cards are now in the database
        self._buffer: list[IssuedCardRecord] = []

    def interval(self) -> float:
        return FLUSH_INTERVAL_SECONDS

    def record(self, cards: list[IssuedCardRecord]) -> None:
        """Queue cards for writing; never blocks the hook."""
        if len(self._buffer) + len(cards) > MAX_BUFFER:
            log.error("issued-card buffer full; dropping oldest records")
            del self._buffer[: len(cards)]
        self._buffer.extend(cards)
        if len(self._buffer) >= FLUSH_BATCH:
            self.wake()

    def pending(self) -> tuple[IssuedCardRecord, ...]:
        return tuple(self._buffer)

    def is_pending(self, card_uuid: uuid.UUID) -> bool:
        return any(record.uuid == card_uuid for record in self._buffer)

    async def _write(self) -> None:
        """Write everything buffered; on failure the records stay buffered."""
        if not self._buffer:
            return
        batch = list(self._buffer)
        try:
            async with self._sessions() as session, session.begin():
                await session.execute(insert(IssuedCard), [_row(r) for r in batch])
        except Exception:
            log.exception("writing issued cards failed; will retry")
            return
        del self._buffer[: len(batch)]
        if self._on_flushed is not None:
            self._on_flushed(sorted({record.learner for record in batch}))
