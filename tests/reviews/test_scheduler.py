"""The review scheduler is a pure function of (state, answer, now): its FSRS properties."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from service.reviews.scheduler import State, next_state

NOW = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)
ANSWERS = st.lists(st.booleans(), max_size=8)
GAPS = st.lists(st.integers(min_value=0, max_value=60 * 24 * 400), min_size=8, max_size=8)


def _replay(answers: list[bool], start: datetime, gaps: list[int]) -> tuple[State | None, datetime]:
    """The state after answering `answers`, each some minutes after the one before."""
    state: State | None = None
    at = start
    for answer, gap in zip(answers, gaps, strict=False):
        state, _due = next_state(state, answer, at)
        at += timedelta(minutes=gap)
    return state, at


@given(ANSWERS, NOW, GAPS, st.booleans())
def test_due_is_after_now(
    answers: list[bool], start: datetime, gaps: list[int], right: bool
) -> None:
    state, at = _replay(answers, start, gaps)
    _state, due = next_state(state, right, at)
    assert due > at


@given(ANSWERS, NOW, GAPS)
def test_a_right_answer_never_comes_back_sooner_than_a_wrong_one(
    answers: list[bool], start: datetime, gaps: list[int]
) -> None:
    state, at = _replay(answers, start, gaps)
    assert next_state(state, True, at)[1] >= next_state(state, False, at)[1]


@given(ANSWERS, NOW, GAPS, st.integers(min_value=2, max_value=6))
def test_successive_right_answers_push_the_due_date_out(
    answers: list[bool], start: datetime, gaps: list[int], runs: int
) -> None:
    state, at = _replay(answers, start, gaps)
    dues, intervals = [], []
    for _ in range(runs):  # each answered when it is due
        state, due = next_state(state, True, at)
        dues.append(due)
        intervals.append(due - at)
        at = due
    assert all(later > earlier for earlier, later in itertools.pairwise(dues))
    assert intervals == sorted(intervals)  # and the gaps never shrink


@given(ANSWERS, NOW, GAPS, st.booleans())
def test_the_same_inputs_give_the_same_schedule(
    answers: list[bool], start: datetime, gaps: list[int], right: bool
) -> None:
    state, at = _replay(answers, start, gaps)
    assert next_state(state, right, at) == next_state(state, right, at)
    assert state is None or next_state(dict(state), right, at) == next_state(state, right, at)


def test_a_first_miss_comes_back_the_next_day() -> None:
    at = datetime(2026, 12, 6, 9, tzinfo=UTC)
    _state, due = next_state(None, False, at)
    assert due == at + timedelta(days=1)


UNSURE_ANSWERS = st.lists(st.sampled_from(["again", "hard", "good"]), max_size=8)


@given(UNSURE_ANSWERS, NOW, GAPS)
def test_a_right_answer_marked_unsure_never_comes_back_sooner_than_a_miss(
    answers: list[str], start: datetime, gaps: list[int]
) -> None:
    """Unsure is FSRS's Hard: recalled, with difficulty. It is never scheduled before Again."""
    state: State | None = None
    at = start
    for answer, gap in zip(answers, gaps, strict=False):
        state, _due = next_state(state, answer != "again", at, unsure=answer == "hard")
        at += timedelta(minutes=gap)
    assert next_state(state, True, at, unsure=True)[1] >= next_state(state, False, at)[1]


def test_a_first_unsure_answer_comes_back_within_two_days() -> None:
    """Hard on a new question with a one-day learning step: one and a half steps (FSRS)."""
    at = datetime(2026, 12, 6, 9, tzinfo=UTC)
    _state, due = next_state(None, True, at, unsure=True)
    assert due == at + timedelta(days=1, hours=12)


def test_unsure_only_softens_a_right_answer() -> None:
    at = datetime(2026, 12, 6, 9, tzinfo=UTC)
    assert next_state(None, False, at, unsure=True) == next_state(None, False, at)
