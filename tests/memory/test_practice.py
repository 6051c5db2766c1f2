"""Practice counts without patient data: a repeat visit the same UTC day is one opportunity
(concordant once it is, never taken back), the phase follows what the learner completed, the
month is the UTC month, the day's key and pseudonyms go together at midnight, and nothing the
recorder holds names the patient (writing: test_practice_writes.py; the learner's summary:
test_practice_summary.py)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from service.cards.measures import PracticeObservation as Seen
from service.memory import practice
from service.memory.practice import AFTER, BEFORE, PracticeRecorder, RepeatVisits, call_prefix

LEARNER = "learner-key-a"
CANARY = "Patient/CANARY-7f3a9c"  # a patient id that must never be kept


def _at(day: str, time: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{time}:00+00:00")


def _recorder(**kwargs: Any) -> PracticeRecorder:
    """A recorder for counting only (its writer is never started)."""
    return PracticeRecorder(None, **kwargs)  # type: ignore[arg-type]


# --- repeat visits ---------------------------------------------------------------------------


def test_the_same_patient_the_same_day_is_one_opportunity() -> None:
    recorder = _recorder()
    for hour in ("09:00", "11:30", "16:45"):
        recorder.observe(
            LEARNER, _at("2026-03-10", hour), [Seen("statin", False)], frozenset(), "P1"
        )
    recorder.observe(LEARNER, _at("2026-03-10"), [Seen("statin", False)], frozenset(), "P2")
    assert recorder.pending() == {(LEARNER, "statin", "2026-03", BEFORE): (2, 0)}


def test_the_same_patient_the_next_day_counts_again() -> None:
    recorder = _recorder()
    recorder.observe(LEARNER, _at("2026-03-10", "23:59"), [Seen("statin", True)], frozenset(), "P1")
    recorder.observe(LEARNER, _at("2026-03-11", "00:01"), [Seen("statin", True)], frozenset(), "P1")
    assert recorder.pending() == {(LEARNER, "statin", "2026-03", BEFORE): (2, 2)}


def test_a_repeat_visit_upgrades_to_concordant_once_and_never_back() -> None:
    recorder = _recorder()
    day = "2026-03-10"
    for concordant in (False, True, True, False):
        recorder.observe(LEARNER, _at(day), [Seen("statin", concordant)], frozenset(), "P1")
    assert recorder.pending() == {(LEARNER, "statin", "2026-03", BEFORE): (1, 1)}
    recorder.observe(LEARNER, _at(day), [Seen("naloxone", True)], frozenset(), "P1")
    recorder.observe(LEARNER, _at(day), [Seen("naloxone", False)], frozenset(), "P1")
    assert recorder.pending()[(LEARNER, "naloxone", "2026-03", BEFORE)] == (1, 1)


def test_another_learner_seeing_the_same_patient_is_their_own_opportunity() -> None:
    recorder = _recorder()
    at = _at("2026-03-10")
    recorder.observe(LEARNER, at, [Seen("statin", False)], frozenset(), "P1")
    recorder.observe("learner-key-b", at, [Seen("statin", True)], frozenset(), "P1")
    assert recorder.pending() == {
        (LEARNER, "statin", "2026-03", BEFORE): (1, 0),
        ("learner-key-b", "statin", "2026-03", BEFORE): (1, 1),
    }


def test_without_a_patient_id_every_call_counts() -> None:
    recorder = _recorder()
    for _ in range(3):
        recorder.observe(LEARNER, _at("2026-03-10"), [Seen("statin", True)], frozenset(), "")
    assert recorder.pending() == {(LEARNER, "statin", "2026-03", BEFORE): (3, 3)}


# --- phase and month -------------------------------------------------------------------------


def test_items_the_learner_completed_count_after_the_others_before() -> None:
    recorder = _recorder()
    seen = [Seen("statin", True), Seen("naloxone", False), Seen("aspirin", True)]
    recorder.observe(LEARNER, _at("2026-03-10"), seen, frozenset({"naloxone"}), "P1")
    assert recorder.pending() == {
        (LEARNER, "statin", "2026-03", BEFORE): (1, 1),
        (LEARNER, "naloxone", "2026-03", AFTER): (1, 0),
        (LEARNER, "aspirin", "2026-03", BEFORE): (1, 1),
    }


def test_learning_during_the_day_opens_the_after_phase_for_the_same_patient() -> None:
    recorder = _recorder()
    recorder.observe(
        LEARNER, _at("2026-03-10", "09:00"), [Seen("statin", False)], frozenset(), "P1"
    )
    learned = frozenset({"statin"})
    recorder.observe(LEARNER, _at("2026-03-10", "15:00"), [Seen("statin", True)], learned, "P1")
    assert recorder.pending() == {
        (LEARNER, "statin", "2026-03", BEFORE): (1, 0),
        (LEARNER, "statin", "2026-03", AFTER): (1, 1),
    }


def test_the_month_is_the_utc_month() -> None:
    recorder = _recorder()
    recorder.observe(LEARNER, _at("2026-01-31", "23:59"), [Seen("statin", True)], frozenset(), "P1")
    recorder.observe(
        LEARNER, _at("2026-02-01", "00:00"), [Seen("statin", False)], frozenset(), "P1"
    )
    # 01:00 in UTC+2 on 1 February is still 31 January in UTC
    east = datetime(2026, 2, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    recorder.observe(LEARNER, east, [Seen("statin", True)], frozenset(), "P2")
    assert recorder.pending() == {
        (LEARNER, "statin", "2026-01", BEFORE): (2, 2),
        (LEARNER, "statin", "2026-02", BEFORE): (1, 0),
    }


# --- the day's key and pseudonyms ------------------------------------------------------------


def test_at_the_day_change_the_key_and_the_pseudonyms_go_together() -> None:
    recorder = _recorder()
    repeats: RepeatVisits = recorder._repeats
    for patient in ("P1", "P2", "P3"):
        recorder.observe(LEARNER, _at("2026-03-10"), [Seen("statin", True)], frozenset(), patient)
    old_key, old_pseudonyms = repeats._key, set(repeats._seen)
    assert len(old_key) >= 32
    assert len(old_pseudonyms) == 3
    recorder.observe(LEARNER, _at("2026-03-11"), [Seen("statin", True)], frozenset(), "P1")
    assert repeats._key != old_key
    assert len(repeats) == 1
    assert not old_pseudonyms & set(repeats._seen)
    # a late call of the day before uses today's key: yesterday's is not brought back
    recorder.observe(LEARNER, _at("2026-03-10", "23:59"), [Seen("statin", True)], frozenset(), "P9")
    assert repeats._key != old_key
    assert len(repeats) == 2


def test_pseudonyms_are_keyed_by_a_random_key_of_the_day() -> None:
    keys = iter([b"k" * 32, b"q" * 32])
    one = RepeatVisits(new_key=lambda: next(keys))
    other = RepeatVisits(new_key=lambda: next(keys))
    day = date(2026, 3, 10)
    prefix = call_prefix(LEARNER, "P1")
    one.visit(day, prefix, "statin", BEFORE, True)
    other.visit(day, prefix, "statin", BEFORE, True)
    message = f"{prefix}statin\x1f{BEFORE}".encode()
    assert set(one._seen) == {hmac.digest(b"k" * 32, message, "sha256")[:16]}  # HMAC-SHA256
    assert set(one._seen).isdisjoint(other._seen)  # another key: another pseudonym
    assert hashlib.sha256(message).digest()[:16] not in one._seen


def test_a_full_day_counts_without_dedup_and_says_so_once_without_ids(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = _recorder(max_seen=2)
    at = _at("2026-03-10")
    with caplog.at_level(logging.WARNING, logger="bedside.memory.practice"):
        for patient in ("P1", "P2", CANARY, CANARY, CANARY):
            recorder.observe(LEARNER, at, [Seen("statin", False)], frozenset(), patient)
    assert recorder.pending() == {(LEARNER, "statin", "2026-03", BEFORE): (5, 0)}
    assert len(recorder._repeats) == 2
    warnings = [r for r in caplog.records if r.name == "bedside.memory.practice"]
    assert len(warnings) == 1
    assert CANARY not in caplog.text
    assert LEARNER not in caplog.text
    # the next day has room again, and says so again when full
    recorder.observe(LEARNER, _at("2026-03-11"), [Seen("statin", False)], frozenset(), CANARY)
    recorder.observe(LEARNER, _at("2026-03-11"), [Seen("statin", False)], frozenset(), CANARY)
    assert recorder.pending()[(LEARNER, "statin", "2026-03", BEFORE)] == (6, 0)


def _reachable(root: object) -> Iterator[object]:
    """Every value reachable from the recorder's own state (its buffers, its repeat-visit
    set), leaving out its asyncio machinery and database sessions."""
    skipped = (asyncio.Event, asyncio.Lock, asyncio.Task, async_sessionmaker)
    seen: set[int] = set()
    stack: list[object] = [root]
    while stack:
        value = stack.pop()
        if id(value) in seen or isinstance(value, skipped) or callable(value):
            continue
        seen.add(id(value))
        yield value
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list | tuple | set | frozenset):
            stack.extend(value)
        elif hasattr(value, "__dict__"):
            stack.extend(vars(value).values())
        for slot in getattr(type(value), "__slots__", ()):
            if hasattr(value, slot):
                stack.append(getattr(value, slot))


def test_nothing_the_recorder_holds_names_the_patient() -> None:
    recorder = _recorder()
    seen = [Seen("statin", False), Seen("naloxone", True)]
    recorder.observe(LEARNER, _at("2026-03-10"), seen, frozenset({"naloxone"}), CANARY)
    recorder.observe(LEARNER, _at("2026-03-10"), [Seen("statin", True)], frozenset(), CANARY)
    values = list(_reachable(recorder))
    assert len(recorder._repeats) == 2  # the pseudonyms are held...
    canary = CANARY.encode()
    for value in values:  # ...but nothing that names the patient
        if isinstance(value, str):
            assert "CANARY" not in value
        elif isinstance(value, bytes):
            assert canary not in value
            assert b"CANARY" not in value
    assert any(isinstance(v, bytes) and len(v) == 16 for v in values)  # the walk saw them


def test_the_core_observation_fits_the_recorder() -> None:
    """The core's observations are what `observe` reads."""
    observations: tuple[practice.Observation, ...] = (  # mypy checks the fit
        Seen(item_id="statin", concordant=True),
    )
    recorder = _recorder()
    recorder.observe(LEARNER, _at("2026-03-10"), observations, frozenset(), "P1")
    assert recorder.pending() == {(LEARNER, "statin", "2026-03", BEFORE): (1, 1)}
