"""The learner's ledger as CSV: one row per entry, claims and reversals, safe to open in a
spreadsheet (text a spreadsheet would run as a formula is quoted with ')."""

from __future__ import annotations

import csv
import io
from typing import Any

from service.credit.schemas import LedgerEntryView

CSV_COLUMNS = [
    "entry_id",
    "kind",
    "earned_on",
    "credit_type",
    "credit_label",
    "amount",
    "activity_id",
    "activity_title",
    "topic",
    "item_id",
    "reverses_id",
    "reason",
    "recorded_at",
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula is quoted with '."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def entries_csv(entries: list[LedgerEntryView]) -> str:
    """The ledger entries as CSV (header row first)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        row: list[Any] = [
            e.id,
            e.kind,
            e.earned_on.isoformat(),
            e.credit_type,
            e.credit_label,
            e.amount,
            e.activity_id,
            e.activity_title,
            e.topic,
            e.item_id,
            e.reverses_id,
            e.reason,
            e.created_at.isoformat(),
        ]
        writer.writerow([e.amount if i == 5 else _cell(v) for i, v in enumerate(row)])
    return out.getvalue()
