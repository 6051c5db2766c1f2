"""Ranking and the fatigue policy: pure functions over the learner state the service passes
in. Nothing here remembers anything between calls.

Ties are broken by item id, so the same patient, learner state and library always give the
same cards. What a reopened chart showed last time comes in as `on_chart`: the repeat window
does not hide those items there (it hides them on every other chart), while a dismissal, a
snooze, a completed cycle or the learner's profession still does."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import MappingProxyType

from service.cards.facts import PatientFacts
from service.cards.library import ContentLibrary
from service.cards.matching import Match, match_by_precedence
from service.cards.model import ContentItem
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


@dataclass(frozen=True, slots=True)
class _Filter:
    """What hides a match in one call: the learner's state, the repeat window as of `now`, and
    the items this chart showed when last opened (exempt from the window only)."""

    state: LearnerState
    window: timedelta
    now: datetime
    on_chart: frozenset[str]


def _blocked(match: Match, hide: _Filter) -> bool:
    item_id = match.item.id
    state = hide.state
    if item_id in state.dismissed or item_id in state.learned:
        return True
    snoozed = state.snoozed_until.get(item_id)
    if snoozed is not None and snoozed > hide.now:
        return True
    shown = state.recently_shown.get(item_id)
    if shown is not None and hide.now - shown < hide.window and item_id not in hide.on_chart:
        return True
    professions = match.item.audience.professions
    return bool(state.profession and professions and state.profession not in professions)


def _in_specialty(item: ContentItem, state: LearnerState) -> bool:
    return bool(state.specialty and state.specialty in item.audience.specialties)


def rank_key(match: Match, state: LearnerState) -> tuple[int, int, int, int, int, int, str]:
    """Sort key: the item's precedence (`precedence.item_key`: code-triggered, indicator,
    criteria, guideline before case, grade), then the learner's specialty, then the id."""
    item = match.item
    return (
        *item_key(item, code_triggered=match.code_triggered, criteria_count=match.criteria_count),
        0 if _in_specialty(item, state) else 1,
        item.id,
    )


def select(
    matches: Iterable[Match],
    state: LearnerState,
    policy: FatiguePolicy,
    *,
    now: datetime,
    on_chart: frozenset[str] = frozenset(),
) -> list[Match]:
    """The matches to show, best first: drop dismissed, snoozed, learned, recently shown (unless
    `on_chart`: shown on this chart when it was last opened) and other-profession items, rank
    the rest and keep `policy.max_cards`. Datetimes in the state and `now` must be comparable
    (all timezone-aware, or all naive)."""
    hide = _Filter(state, timedelta(days=policy.repeat_window_days), now, on_chart)
    seen: set[str] = set()
    kept: list[Match] = []
    for candidate in matches:
        if candidate.item.id not in seen and not _blocked(candidate, hide):
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
    on_chart: frozenset[str] = frozenset(),
) -> list[Match]:
    """`select(match(library, facts, hook=hook, at=at), state, policy, now=now,
    on_chart=on_chart)`, without evaluating every candidate: candidates come best-first by
    precedence, equal places by id. Once `policy.max_cards` are kept, nothing later outranks
    them unless it is in the learner's specialty where a kept item of the same place is not:
    the search ends there, or at the first candidate of a lower place. A large library with
    many candidates for a patient then costs about as much as a small one."""
    limit = max(policy.max_cards, 0)
    if limit == 0:
        return []
    hide = _Filter(state, timedelta(days=policy.repeat_window_days), now, on_chart)
    seen: set[str] = set()
    kept: list[tuple[int, Match]] = []
    cutoff: int | None = None
    for place, candidate in match_by_precedence(library, facts, hook=hook, at=at):
        if cutoff is not None and place > cutoff:
            break
        if candidate.item.id in seen or _blocked(candidate, hide):
            continue
        seen.add(candidate.item.id)
        kept.append((place, candidate))
        if len(kept) == limit:
            cutoff = place
        if cutoff is not None and _settled(kept, cutoff, limit, state):
            break
    chosen = sorted((candidate for _, candidate in kept), key=lambda c: rank_key(c, state))
    return chosen[:limit]


def _settled(kept: list[tuple[int, Match]], cutoff: int, limit: int, state: LearnerState) -> bool:
    """Whether a later candidate of the cutoff place (it has a larger id) can no longer
    displace any of the best `limit` kept: true once `limit` of them come from better places
    or are in the learner's specialty (always, for a learner without one)."""
    if not state.specialty:
        return True
    beyond_reach = sum(
        1 for place, candidate in kept if place < cutoff or _in_specialty(candidate.item, state)
    )
    return beyond_reach >= limit
