"""The education lead's outcomes report of a year: per item, cards shown, cycles opened from a
card, cycles completed, credit claimed, the EHR's feedback (accepted, overridden and why) and
practice before and after learning, summed across learners; every cell suppressed when it
describes fewer than 5 learners (`suppression.py`).

`outcomes_report` reads (`queries.py`) and shapes; `build_report` is the pure shaping, so
that what may be published is decided without a database. Items are the content items the
rows name (the measure id is the item id); an item that left the library keeps its id as its
title. Items with nothing in the year are not listed: they add nothing to any total.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from service.outcomes import queries
from service.outcomes.queries import Contribution
from service.outcomes.suppression import Cell, Node, Protected, Tally, merge, protect

if TYPE_CHECKING:
    from service.cards.model import ContentItem

# column -> what it is called where a person reads it; practice cells hold two numbers
COLUMNS: dict[str, str] = {
    "cards_shown": "Cards shown",
    "opened_from_card": "Opened from a card",
    "cycles_completed": "Learning cycles completed",
    "credits_claimed": "Credits claimed",
    "accepted": "Cards accepted",
    "overridden": "Cards overridden",
    "practice_before": "Practice before learning",
    "practice_after": "Practice after learning",
}
PRACTICE = ("practice_before", "practice_after")
NO_REASON = "(no reason given)"


class Items(Protocol):
    """Where titles come from: the content library (`ContentLibrary.get`)."""

    def get(self, item_id: str) -> ContentItem | None: ...


@dataclass(frozen=True, slots=True)
class ItemOutcomes:
    """One row of the report: an item's cells (by column) and its override reasons (code,
    cell), the codes in order; the row of all items has no reasons."""

    item_id: str
    title: str
    measure_title: str | None
    cells: Mapping[str, Cell]
    reasons: tuple[tuple[str, Cell], ...]


@dataclass(frozen=True, slots=True)
class OutcomesReport:
    """The year's report: a row per item (by title) and the row of all items."""

    year: int
    items: tuple[ItemOutcomes, ...]
    total: ItemOutcomes


@dataclass(frozen=True, slots=True)
class RawOutcomes:
    """What the queries returned, per learner (see `queries.py`)."""

    shown: list[Contribution]
    launches: list[Contribution]
    completed: list[Contribution]
    credits: list[Contribution]
    feedback: list[Contribution]
    reasons: list[Contribution]
    practice: list[Contribution]


async def outcomes_report(session: AsyncSession, library: Items, year: int) -> OutcomesReport:
    """The outcomes report of a calendar year (UTC), suppressed and ready to render."""
    raw = RawOutcomes(
        shown=await queries.cards_shown(session, year),
        launches=await queries.launches(session, year),
        completed=await queries.completions(session, year),
        credits=await queries.credits(session, year),
        feedback=await queries.feedback(session, year),
        reasons=await queries.override_reasons(session, year),
        practice=await queries.practice(session, year),
    )
    return build_report(year, raw, library)


def tallies(contributions: Iterable[Contribution], width: int = 1) -> dict[str, Tally]:
    """Per item: the values summed and the learners who contributed anything but zero (a
    learner whose credit was all reversed, say, is not described by the sum)."""
    values: dict[str, list[float]] = defaultdict(lambda: [0.0] * width)
    learners: dict[str, set[str]] = defaultdict(set)
    for c in contributions:
        sums = values[c.item_id]
        for index, value in enumerate(c.values):
            sums[index] += value or 0
        if any(abs(v or 0) > 1e-9 for v in c.values):  # credit netted to zero describes nobody
            learners[c.item_id].add(c.learner)
    return {item: Tally(tuple(v), frozenset(learners[item])) for item, v in values.items()}


def _keyed(contributions: Iterable[Contribution], key: str) -> list[Contribution]:
    return [c for c in contributions if c.key == key]


def _reason_nodes(reasons: list[Contribution]) -> dict[str, dict[str, Node]]:
    """item -> reason code -> its node (no code given: `NO_REASON`)."""
    by_item: dict[str, list[Contribution]] = defaultdict(list)
    for c in reasons:
        by_item[c.item_id].append(c)
    nodes: dict[str, dict[str, Node]] = {}
    for item, rows in by_item.items():
        codes = sorted({c.key or NO_REASON for c in rows})
        nodes[item] = {
            code: Node(tallies(c for c in rows if (c.key or NO_REASON) == code)[item])
            for code in codes
        }
    return nodes


def _column_tallies(raw: RawOutcomes) -> dict[str, dict[str, Tally]]:
    """column -> item -> tally."""
    return {
        "cards_shown": tallies(raw.shown),
        "opened_from_card": tallies(raw.launches),
        "cycles_completed": tallies(raw.completed),
        "credits_claimed": tallies(raw.credits),
        "accepted": tallies(_keyed(raw.feedback, "accepted")),
        "overridden": tallies(_keyed(raw.feedback, "overridden")),
        "practice_before": tallies(_keyed(raw.practice, "before"), width=2),
        "practice_after": tallies(_keyed(raw.practice, "after"), width=2),
    }


def _width(column: str) -> int:
    return 2 if column in PRACTICE else 1


def build_report(year: int, raw: RawOutcomes, library: Items) -> OutcomesReport:
    """Shape the raw counts into suppressed rows: a row per item and the row of all items,
    whose cells are totals of the items' cells (and an item's overridden cards the total of
    its reasons), so that complementary suppression sees both levels."""
    columns = _column_tallies(raw)
    reasons = _reason_nodes(raw.reasons)
    item_ids = sorted({item for tallied in columns.values() for item in tallied} | set(reasons))
    nodes: dict[str, dict[str, Node]] = {item: {} for item in item_ids}
    for column, tallied in columns.items():
        for item in item_ids:
            tally = tallied.get(item, Tally.zero(_width(column)))
            parts = tuple(reasons.get(item, {}).values()) if column == "overridden" else ()
            nodes[item][column] = Node(tally, parts)
    rows = [_item_row(item, nodes[item], reasons.get(item, {}), library) for item in item_ids]
    rows.sort(key=lambda row: (row.title.casefold(), row.item_id))
    total = {
        column: Node(
            merge((nodes[item][column].tally for item in item_ids), _width(column)),
            tuple(nodes[item][column] for item in item_ids),
        )
        for column in COLUMNS
    }
    total_row = ItemOutcomes(
        "", "All items", None, {c: protect(n).cell for c, n in total.items()}, ()
    )
    return OutcomesReport(year, tuple(rows), total_row)


def _item_row(
    item_id: str, nodes: Mapping[str, Node], reasons: Mapping[str, Node], library: Items
) -> ItemOutcomes:
    protected = {column: protect(node) for column, node in nodes.items()}
    overridden: Protected = protected["overridden"]
    title, measure = titles(item_id, library)
    return ItemOutcomes(
        item_id,
        title,
        measure,
        {column: p.cell for column, p in protected.items()},
        tuple(zip(reasons, (p.cell for p in overridden.parts), strict=True)),
    )


def titles(item_id: str, library: Items) -> tuple[str, str | None]:
    """The item's title and its practice measure's title (when the item declares one)."""
    item = library.get(item_id)
    if item is None:
        return item_id, None
    measure: Any = getattr(item, "measure", None)
    return item.title, getattr(measure, "title", None)


__all__ = ["COLUMNS", "ItemOutcomes", "OutcomesReport", "RawOutcomes", "build_report"]
