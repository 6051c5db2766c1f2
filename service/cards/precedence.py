"""Precedence: the part of the ranking that depends only on the item, not on the learner.

`ranking.rank_key` orders matches by `item_key` and then by the learner (goals and missed
topics, unseen items, mastery, specialty: never across places); the
library computes each item's place in the `item_key` order once, so that matching can
evaluate candidates best-first and stop early (`ranking.choose`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from service.cards.compiler import CompiledItem
from service.cards.model import ContentItem

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

ItemKey = tuple[int, int, int, int, int]


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


def item_key(item: ContentItem, *, code_triggered: bool, criteria_count: int) -> ItemKey:
    """Code-triggered first, then the more urgent indicator (an interaction warning outranks a
    screening reminder), more criteria, a guideline before a case, better grade."""
    return (
        0 if code_triggered else 1,
        _SEVERITY.get(item.indicator, 2),
        -criteria_count,
        0 if item.type == "guideline" else 1,
        grade_rank(item.source.grade),
    )


def compiled_key(entry: CompiledItem) -> ItemKey:
    """`item_key` of a compiled item (what a match of it will carry)."""
    return item_key(
        entry.item, code_triggered=entry.code_triggered, criteria_count=len(entry.criteria)
    )


def ordinals(entries: Iterable[CompiledItem]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Per position, the item's place in the `item_key` order (equal keys, equal places), and
    its rank in the order of (`item_key`, id): the ranking's own order for a learner whose
    signals do not decide (`ranking.rank_key`), so that equal places come by id."""
    keys = [compiled_key(entry) for entry in entries]
    place = {key: n for n, key in enumerate(sorted(set(keys)))}
    ids = [entry.item.id for entry in entries]
    by_key_and_id = sorted(range(len(keys)), key=lambda position: (keys[position], ids[position]))
    order = [0] * len(keys)
    for rank, position in enumerate(by_key_and_id):
        order[position] = rank
    return tuple(place[key] for key in keys), tuple(order)
