"""When a missed question comes back: a thin, pure wrapper over FSRS (the `fsrs` library).

`next_state` is a function of (state, answer, now) only: fuzzing is off (no randomness) and a
new card is built with a fixed id and `due=now` (the library would otherwise read the clock).
Steps are a day, not minutes: the learner is a clinician between patients, and a question
asked again ten minutes after its explanation tests memory of the page, not of the point.

A right answer the learner marked unsure is FSRS's Hard ("recalled, with serious
difficulty"): it comes back sooner than a sure right answer (Good), later than a miss
(Again)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from fsrs import Card, Rating, Scheduler
from fsrs.card import CardDict

State = dict[str, Any]  # an FSRS card as JSON (`Card.to_dict`)

_SCHEDULER = Scheduler(
    learning_steps=(timedelta(days=1),),
    relearning_steps=(timedelta(days=1),),
    enable_fuzzing=False,
)
_CARD_ID = 1  # the row has its own id; a fixed one keeps the state a pure value


def rating(correct: bool, unsure: bool = False) -> Rating:
    """The FSRS rating of an answer: wrong is Again, right but unsure Hard, right Good."""
    if not correct:
        return Rating.Again
    return Rating.Hard if unsure else Rating.Good


def next_state(
    state: State | None, correct: bool, now: datetime, *, unsure: bool = False
) -> tuple[State, datetime]:
    """The FSRS state after one answer at `now` (see `rating`) and its due time.

    `state` None is a question never reviewed. `now` must be timezone-aware."""
    at = now.astimezone(UTC)
    card = (
        Card.from_dict(cast(CardDict, state))
        if state is not None
        else Card(card_id=_CARD_ID, due=at)
    )
    reviewed, _log = _SCHEDULER.review_card(card, rating(correct, unsure), review_datetime=at)
    return cast(State, reviewed.to_dict()), reviewed.due
