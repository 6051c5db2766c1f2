"""Ranking and the fatigue policy: pure functions over the learner state the service passes
in. Nothing here remembers anything between calls."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from service.cards.matching import Match

_GRADE_LETTER = re.compile(r"\b([A-DI])\b")
# ACC/AHA classes of recommendation: 1 (I) strong, 2a moderate, 2b weak, 3 (III) no benefit.
_COR_CLASS = re.compile(r"\bCLASS\s+(III|IIB|IIA|I|3|2B|2A|1)\b")
_COR_RANK = {"I": 0, "1": 0, "IIA": 1, "2A": 1, "IIB": 2, "2B": 2, "III": 4, "3": 4}
_SEVERITY = {"critical": 0, "warning": 1, "info": 2}
_GRADE_WORDS = (
    ("strong", 0),
    ("high", 0),
    ("moderate", 1),
    ("conditional", 2),
    ("weak", 2),
    ("low", 2),
    ("expert", 3),
    ("consensus", 3),
)
_UNGRADED = 5


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


def grade_rank(grade: str | None) -> int:
    """0 for the strongest grade (USPSTF A, "strong"), larger for weaker or missing grades."""
    if not grade:
        return _UNGRADED
    cor_class = _COR_CLASS.search(grade.upper())
    if cor_class:
        return _COR_RANK[cor_class.group(1)]
    letter = _GRADE_LETTER.search(grade.upper())
    if letter:
        return "ABCDI".index(letter.group(1)) if letter.group(1) != "I" else 4
    lowered = grade.lower()
    return next((rank for word, rank in _GRADE_WORDS if word in lowered), _UNGRADED - 1)


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
    """Sort key: code-triggered first, then the more urgent indicator (an interaction warning
    outranks a screening reminder), more criteria, a guideline before a case on a tie,
    better grade, the learner's specialty."""
    item = match.item
    in_specialty = bool(state.specialty and state.specialty in item.audience.specialties)
    return (
        0 if match.code_triggered else 1,
        _SEVERITY.get(item.indicator, 2),
        -match.criteria_count,
        0 if item.type == "guideline" else 1,
        grade_rank(item.source.grade),
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
