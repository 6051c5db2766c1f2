"""The learner's ledger as CSV: one row per entry, claims and reversals, safe to open in a
spreadsheet (text a spreadsheet would run as a formula is quoted with ').

A claim's row ends with its learning format and what the learner documented for its cycle
(clinical question, source consulted, application to practice: its code and own words);
a reversal's documentation cells stay empty. Columns are only ever added at the end."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from service.credit.schemas import CycleDocumentation, LedgerEntryView

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
    "credit_format",
    "clinical_question",
    "source_consulted",
    "application",
    "application_text",
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


def _documented(documentation: CycleDocumentation | None) -> list[Any]:
    if documentation is None:
        return ["", "", "", ""]
    return [
        documentation.question,
        documentation.source_citation,
        documentation.application,
        documentation.application_text,
    ]


def entries_csv(
    entries: list[LedgerEntryView],
    documented: dict[uuid.UUID, CycleDocumentation] | None = None,
) -> str:
    """The ledger entries as CSV (header row first); `documented`: each claim's documented
    cycle, by entry id."""
    documented = documented or {}
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
            e.credit_format,
            *_documented(documented.get(e.id)),
        ]
        writer.writerow([e.amount if i == 5 else _cell(v) for i, v in enumerate(row)])
    return out.getvalue()
