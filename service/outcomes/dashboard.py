"""What the `/education/` page shows, built from the report (pure): per item, the cells in
words (a hidden cell says why, in plain words), the override reasons, the practice chart's
bars, and the evidence file's counts; plus the years the period picker offers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.errors import BadRequest
from service.outcomes.chart import PracticeBar, practice_bars
from service.outcomes.evidence import CohortSize
from service.outcomes.formats import WHY, number, readable
from service.outcomes.report import COLUMNS, PRACTICE, ItemOutcomes, OutcomesReport
from service.outcomes.suppression import MIN_LEARNERS, Cell, Hidden

FIRST_YEAR = 2000
LAST_YEAR = 2100
YEARS_OFFERED = 6


@dataclass(frozen=True, slots=True)
class Line:
    """One cell of an item, in words."""

    label: str
    text: str
    hidden: bool


@dataclass(frozen=True, slots=True)
class ItemView:
    """An item's section of the page."""

    item_id: str
    title: str
    measure_title: str | None
    lines: tuple[Line, ...]
    reasons: tuple[Line, ...]
    bars: tuple[PracticeBar, PracticeBar]
    has_practice: bool


def parse_period(text: str, this_year: int) -> int:
    """The `period` asked for (a year), or this year when none is given."""
    text = text.strip()
    if not text:
        return this_year
    if not text.isdigit() or not FIRST_YEAR <= int(text) <= LAST_YEAR:
        raise BadRequest(
            f"Choose a year between {FIRST_YEAR} and {LAST_YEAR}, for example {this_year}."
        )
    return int(text)


def years(selected: int, this_year: int) -> list[int]:
    """The years the picker offers: this year and the five before it, and the one shown."""
    offered = {this_year - n for n in range(YEARS_OFFERED)} | {selected}
    return sorted(offered, reverse=True)


def _line(column: str, cell: Cell) -> Line:
    return Line(COLUMNS[column], readable(column, cell), cell.suppressed)


def _reason(code: str, cell: Cell) -> Line:
    if cell.values is None:
        return Line(code, WHY[cell.hidden or Hidden.FEW], True)
    return Line(code, f"{number('reason', cell.values[0])} ({cell.learners} learners)", False)


def item_view(row: ItemOutcomes) -> ItemView:
    before, after = (row.cells[column] for column in PRACTICE)
    return ItemView(
        row.item_id,
        row.title,
        row.measure_title,
        tuple(_line(column, row.cells[column]) for column in COLUMNS if column not in PRACTICE),
        tuple(_reason(code, cell) for code, cell in row.reasons),
        practice_bars(before, after),
        any(_has_practice(cell) for cell in (before, after)),
    )


def _has_practice(cell: Cell) -> bool:
    """Whether a phase has anything to show (a hidden cell does: it says why)."""
    return cell.values is None or cell.values[0] > 0


def page(report: OutcomesReport, cohort: CohortSize, this_year: int) -> dict[str, Any]:
    """The dashboard's template context (besides the session)."""
    return {
        "year": report.year,
        "years": years(report.year, this_year),
        "minimum": MIN_LEARNERS,
        "total": item_view(report.total),
        "items": [item_view(row) for row in report.items],
        "evidence_rows": cohort.rows,
        "evidence_left_out": cohort.left_out,
    }
