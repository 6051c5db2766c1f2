"""Matching: which items apply to a patient for a hook at a date, and why.

`match` uses the compiled index; `match_exhaustive` evaluates every item and is the
reference the index is tested against; `explain` gives the reasons for and against one item.
`match` and `match_by_precedence` leave their view's tables on the facts (`call_view`): the
practice measures of the same call reuse the facts and kinds they evaluated.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date

from service.cards.compiler import CompiledItem
from service.cards.criteria import FactView, call_view
from service.cards.facts import PatientFacts
from service.cards.library import ContentLibrary
from service.cards.model import ContentItem


@dataclass(frozen=True, slots=True)
class Match:
    """An applicable item with the reasons it applies (before ranking and fatigue)."""

    item: ContentItem
    reasons: list[str]
    code_triggered: bool
    criteria_count: int

    @property
    def item_id(self) -> str:
        """The content item's id."""
        return self.item.id


@dataclass(frozen=True, slots=True)
class Explanation:
    """Whether an item applies, with every criterion's verdict."""

    item_id: str
    applies: bool
    reasons_for: tuple[str, ...]
    reasons_against: tuple[str, ...]


def _evaluate(entry: CompiledItem, view: FactView) -> Match | None:
    reasons: list[str] = []
    for criterion in entry.criteria:
        holds, reason = criterion.check(view)
        if not holds:
            return None
        reasons.append(reason)
    return Match(entry.item, reasons, entry.code_triggered, len(entry.criteria))


def _eligible(entry: CompiledItem, hook: str, at: date) -> bool:
    return hook in entry.item.hooks and entry.item.expires >= at and not entry.never


def match(library: ContentLibrary, facts: PatientFacts, *, hook: str, at: date) -> list[Match]:
    """Every item of `library` that applies to the patient for `hook` at `at`, in library
    order. Expired items and items of other hooks never match."""
    index = library.hook_index(hook)
    if index is None:
        return []
    view = call_view(_at(facts, at), library.terminology, library)
    entries = library.compiled_items
    found: list[Match] = []
    for position in sorted(index.candidates(view)):
        entry = entries[position]
        if entry.item.expires >= at and (result := _evaluate(entry, view)) is not None:
            found.append(result)
    return found


def match_by_precedence(
    library: ContentLibrary, facts: PatientFacts, *, hook: str, at: date
) -> Iterator[tuple[int, Match]]:
    """The items `match` finds, evaluated lazily best-first: (place in the library's
    precedence order, match). Equal places come by item id."""
    index = library.hook_index(hook)
    if index is None:
        return
    view = call_view(_at(facts, at), library.terminology, library)
    entries = library.compiled_items
    places = library.precedence
    for position in sorted(index.candidates(view), key=library.evaluation_order.__getitem__):
        entry = entries[position]
        if entry.item.expires >= at and (result := _evaluate(entry, view)) is not None:
            yield places[position], result


def match_exhaustive(
    library: ContentLibrary, facts: PatientFacts, *, hook: str, at: date
) -> list[Match]:
    """The same answer as `match`, by evaluating every item (the index's test oracle)."""
    view = FactView(_at(facts, at), library.terminology)
    found: list[Match] = []
    for entry in library.compiled_items:
        if _eligible(entry, hook, at) and (result := _evaluate(entry, view)) is not None:
            found.append(result)
    return found


def explain(
    library: ContentLibrary, facts: PatientFacts, item_id: str, *, hook: str, at: date
) -> Explanation:
    """Evaluate every criterion of one item (no short-circuit) and say why it does or does
    not apply, including the hook and expiry checks."""
    entry = library.compiled(item_id)
    if entry is None:
        return Explanation(item_id, False, (), (f"no content item {item_id!r} in the library",))
    view = FactView(_at(facts, at), library.terminology)
    reasons_for: list[str] = []
    against: list[str] = []
    hooks = ", ".join(entry.item.hooks)
    if hook in entry.item.hooks:
        reasons_for.append(f"hook {hook} in [{hooks}]")
    else:
        against.append(f"hook {hook} not in [{hooks}]")
    if entry.item.expires < at:
        against.append(f"expired on {entry.item.expires}")
    else:
        reasons_for.append(f"not expired (expires {entry.item.expires})")
    if entry.never:
        against.append("a code criterion lists no codes (unknown value set or class?)")
    for criterion in entry.criteria:
        holds, reason = criterion.check(view)
        (reasons_for if holds else against).append(reason)
    return Explanation(item_id, not against, tuple(reasons_for), tuple(against))


def _at(facts: PatientFacts, at: date) -> PatientFacts:
    # Windows and age are measured from the evaluation date `at`.
    return facts if facts.at == at else replace(facts, at=at)
