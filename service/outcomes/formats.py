"""The outcomes report rendered: JSON (a suppressed cell is null with `"suppressed": true`),
CSV (a suppressed cell reads `<5`, or `hidden` when it was hidden so that a smaller hidden
cell cannot be worked out from it) and a plain-text table for the terminal. Pure."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from service.outcomes.report import COLUMNS, NO_REASON, PRACTICE, ItemOutcomes, OutcomesReport
from service.outcomes.suppression import MIN_LEARNERS, Cell, Hidden

FEW_MARK = f"<{MIN_LEARNERS}"
COMPLEMENT_MARK = "hidden"
WHY = {
    Hidden.FEW: f"fewer than {MIN_LEARNERS} learners: hidden to protect privacy",
    Hidden.COMPLEMENT: "hidden so that a smaller hidden number cannot be worked out from it",
}
NOTE = (
    f"A number describing fewer than {MIN_LEARNERS} learners is hidden, and so is a total "
    "from which one could be worked out. Practice counts show an association with learning, "
    "not proof that learning caused a change (docs/outcomes.md)."
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def number(column: str, value: float) -> float | int:
    """Credits keep two decimals; everything else is a count."""
    return round(value, 2) if column == "credits_claimed" else round(value)


def cell_json(column: str, cell: Cell) -> dict[str, Any]:
    """One cell as JSON: its numbers and learners, or nulls and why not."""
    names = ("opportunities", "concordant") if column in PRACTICE else ("value",)
    if cell.values is None or cell.hidden is not None:
        out: dict[str, Any] = dict.fromkeys(names)
        out |= {"learners": None, "suppressed": True, "why": WHY[cell.hidden or Hidden.FEW]}
        return out
    out = {name: number(column, v) for name, v in zip(names, cell.values, strict=True)}
    return out | {"learners": cell.learners, "suppressed": False}


def _row_json(row: ItemOutcomes) -> dict[str, Any]:
    out: dict[str, Any] = {"item_id": row.item_id or None, "title": row.title}
    if row.measure_title:
        out["measure_title"] = row.measure_title
    out |= {column: cell_json(column, row.cells[column]) for column in COLUMNS}
    if row.item_id:
        out["override_reasons"] = [
            {"code": None if code == NO_REASON else code, **cell_json("reason", cell)}
            for code, cell in row.reasons
        ]
    return out


def to_json(report: OutcomesReport) -> str:
    """The report as a JSON document."""
    document = {
        "period": report.year,
        "minimum_learners": MIN_LEARNERS,
        "note": NOTE,
        "items": [_row_json(row) for row in report.items],
        "all_items": _row_json(report.total),
    }
    return json.dumps(document, indent=2) + "\n"


def mark(cell: Cell) -> str:
    """What stands in a suppressed cell's place."""
    return COMPLEMENT_MARK if cell.hidden is Hidden.COMPLEMENT else FEW_MARK


def cell_text(column: str, cell: Cell) -> list[str]:
    """A cell's CSV fields: value(s), then learners."""
    width = 3 if column in PRACTICE else 2
    if cell.values is None:
        return [mark(cell)] * width
    return [str(number(column, v)) for v in cell.values] + [str(cell.learners)]


def csv_header() -> list[str]:
    header = ["item_id", "title", "measure_title"]
    for column in COLUMNS:
        if column in PRACTICE:
            header += [f"{column}_opportunities", f"{column}_concordant", f"{column}_learners"]
        else:
            header += [column, f"{column}_learners"]
    return [*header, "override_reasons"]


def safe(text: str) -> str:
    """Text a spreadsheet would run as a formula is quoted with '."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def reasons_text(row: ItemOutcomes) -> str:
    """`code: count; ...` (a suppressed count reads <5 or hidden)."""
    return "; ".join(
        f"{code}: {mark(cell) if cell.values is None else number('reason', cell.values[0])}"
        for code, cell in row.reasons
    )


def to_csv(report: OutcomesReport) -> str:
    """The report as CSV: a row per item, then the row of all items."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(csv_header())
    for row in (*report.items, report.total):
        fields = [safe(row.item_id), safe(row.title), safe(row.measure_title or "")]
        for column in COLUMNS:
            fields += cell_text(column, row.cells[column])
        writer.writerow([*fields, safe(reasons_text(row))])
    return out.getvalue()


def readable(column: str, cell: Cell) -> str:
    """A cell in words for the terminal (and the dashboard)."""
    if cell.values is None:
        return WHY[cell.hidden or Hidden.FEW]
    learners = f"{cell.learners} learner{'' if cell.learners == 1 else 's'}"
    if column in PRACTICE:
        opportunities, concordant = (round(v) for v in cell.values)
        if not opportunities:
            return "no opportunities seen"
        rate = round(100 * concordant / opportunities)
        return f"{concordant} of {opportunities} as recommended ({rate}%), {learners}"
    if not cell.learners:
        return "0"
    return f"{number(column, cell.values[0]):g} ({learners})"


def to_table(report: OutcomesReport) -> str:
    """The report as plain text: a block per item, the block of all items first."""
    lines = [f"Outcomes {report.year}", NOTE, ""]
    for row in (report.total, *report.items):
        heading = row.title if not row.item_id else f"{row.title} ({row.item_id})"
        lines.append(heading)
        if row.measure_title:
            lines.append(f"  Measure: {row.measure_title}")
        for column, label in COLUMNS.items():
            lines.append(f"  {label:<28}{readable(column, row.cells[column])}")
        if row.reasons:
            lines.append(f"  {'Override reasons':<28}{reasons_text(row)}")
        lines.append("")
    if not report.items:
        lines.append(f"Nothing was recorded in {report.year}.")
    return "\n".join(lines).rstrip("\n") + "\n"


RENDERERS = {"json": to_json, "csv": to_csv, "table": to_table}


def render(report: OutcomesReport, fmt: str) -> str:
    """The report in `fmt`: table, csv or json."""
    return RENDERERS[fmt](report)
