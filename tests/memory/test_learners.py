"""The learner memory's face: issued cards are remembered by purpose. A learning card counts as
shown (repeat window, the chart's cards); a recall card only as the learner's last recall."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from service.cards import LearnerState
from service.db.engine import make_engine, make_sessionmaker
from service.memory import IssuedCardRecord, LearnerMemory
from service.memory.recorder import LEARN, RECALL
from service.settings import Settings
from service.shared_state import MemoryState


@pytest.fixture
async def memory(settings: Settings) -> AsyncIterator[LearnerMemory]:
    engine = make_engine(settings.resolved_database_url)
    memory = LearnerMemory(
        engine, make_sessionmaker(engine), MemoryState(), cache_seconds=600, repeat_window_days=30
    )
    memory.states._subscribed()  # as if its channel listened (the follow loop is not run)
    yield memory
    await memory.close()
    await engine.dispose()


def _record(item_id: str, at: datetime, purpose: str) -> IssuedCardRecord:
    return IssuedCardRecord(
        uuid=uuid.uuid4(),
        item_id=item_id,
        item_version="1",
        learner="L",
        service_id="bedside-patient-view",
        hook="patient-view",
        hook_instance="h",
        issuer="https://ehr.example.org",
        tenant=None,
        issued_at=at,
        purpose=purpose,
    )


async def test_a_recall_card_is_kept_as_the_last_recall_not_as_shown(
    memory: LearnerMemory,
) -> None:
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    memory.states.put("L", LearnerState(), memory.states.begin_load())
    chart = b"chart-key-16-byt"
    records = [_record("taught", now, LEARN), _record("recalled", now, RECALL)]
    memory.remember("L", now, records, chart=chart)
    kept = memory.states.get("L")
    assert kept is not None
    assert kept.recently_shown == {"taught": now}
    assert kept.last_recall_at == now
    assert memory.charts.shown(chart) == {"taught"}
    assert [r.purpose for r in memory.recorder.pending()] == [LEARN, RECALL]  # both written
    # read back from the database: the same view
    await memory.recorder.flush()
    memory.states.forget(["L"])
    read = await memory.state_of("L", now)
    assert read.recently_shown == {"taught": now}
    assert read.last_recall_at == now
