"""Ranking and the fatigue policy: pure functions over the learner state the service passes
in. Nothing here remembers anything between calls."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import MappingProxyType

from service.cards.facts import PatientFacts
from service.cards.library import ContentLibrary
from service.cards.matching import Match, match_by_precedence
from service.cards.precedence import grade_rank, item_key

__all__ = ["FatiguePolicy", "LearnerState", "choose", "grade_rank", "rank_key", "select"]


@dataclass(frozen=True, slots=True)
class LearnerState:
    """What the service knows about the learner (from its own storage)."""

    recently_shown: Mapping[str, datetime] = field(default_factory=lambda: MappingProxyType({}))
    dismissed: frozenset[str] = frozenset()
    snoozed_until: Mapping[str, datetime] = field(default_factory=lambda: MappingProxyType({}))
    learned: frozenset[str] = frozenset()
    specialty: str | None = None
    profession: str | None = None


@dataclass(frozen=True, slots=True)
class FatiguePolicy:
    """At most `max_cards` per response; the same item not again within the window."""

    max_cards: int = 2
    repeat_window_days: int = 30


def _blocked(match: Match, state: LearnerState, window: timedelta, now: datetime) -> bool:
    item_id = match.item.id
    if item_id in state.dismissed or item_id in state.learned:
        return True
    snoozed = state.snoozed_until.get(item_id)
    if snoozed is not None and snoozed > now:
        return True
    shown = state.recently_shown.get(item_id)
    if shown is not None and now - shown < window:
        return True
    professions = match.item.audience.professions
    return bool(state.profession and professions and state.profession not in professions)


def rank_key(match: Match, state: LearnerState) -> tuple[int, int, int, int, int, int, str]:
    """Sort key: the item's precedence (`precedence.item_key`: code-triggered, indicator,
    criteria, guideline before case, grade), then the learner's specialty, then the id."""
    item = match.item
    in_specialty = bool(state.specialty and state.specialty in item.audience.specialties)
    return (
        *item_key(item, code_triggered=match.code_triggered, criteria_count=match.criteria_count),
        0 if in_specialty else 1,
        item.id,
    )


def select(
    matches: Iterable[Match], state: LearnerState, policy: FatiguePolicy, *, now: datetime
) -> list[Match]:
    """The matches to show, best first: drop dismissed, snoozed, learned, recently shown and
    other-profession items, rank the rest and keep `policy.max_cards`. Datetimes in the state
    and `now` must be comparable (all timezone-aware, or all naive)."""
    window = timedelta(days=policy.repeat_window_days)
    seen: set[str] = set()
    kept: list[Match] = []
    for candidate in matches:
        if candidate.item.id not in seen and not _blocked(candidate, state, window, now):
            seen.add(candidate.item.id)
            kept.append(candidate)
    kept.sort(key=lambda candidate: rank_key(candidate, state))
    return kept[: max(policy.max_cards, 0)]


def choose(
    library: ContentLibrary,
    facts: PatientFacts,
    state: LearnerState,
    policy: FatiguePolicy,
    *,
    hook: str,
    at: date,
    now: datetime,
) -> list[Match]:
    """`select(match(library, facts, hook=hook, at=at), state, policy, now=now)`, without
    evaluating every candidate: candidates come best-first by precedence, and once
    `policy.max_cards` are kept, the first candidate of a lower precedence ends the search
    (it and everything after it rank below every kept match). A large library with many
    candidates for a patient then costs about as much as a small one."""
    limit = max(policy.max_cards, 0)
    if limit == 0:
        return []
    window = timedelta(days=policy.repeat_window_days)
    seen: set[str] = set()
    kept: list[Match] = []
    cutoff: int | None = None
    for place, candidate in match_by_precedence(library, facts, hook=hook, at=at):
        if cutoff is not None and place > cutoff:
            break
        if candidate.item.id in seen or _blocked(candidate, state, window, now):
            continue
        seen.add(candidate.item.id)
        kept.append(candidate)
        if len(kept) == limit:
            cutoff = place
    kept.sort(key=lambda candidate: rank_key(candidate, state))
    return kept[:limit]
