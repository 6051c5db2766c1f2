"""The learn page's one line on why a card was shown, from the short code the ranking signed
into the card's appContext (`ranking.why_code`). Pure text: unknown, garbled or future-dated
codes give the default line, never an error (a code comes back from the EHR)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

DEFAULT_WHY = "It matches this patient's record."


def _ago(day: date, today: date) -> str | None:
    days = (today - day).days
    if days < 0:
        return None
    return {0: "today", 1: "yesterday"}.get(days, f"{days} days ago")


def _dated_line(kind: str, value: str, today: date) -> str | None:
    try:
        ago = _ago(date.fromisoformat(value), today)
    except ValueError:
        return None
    if ago is None:
        return None
    lines = {
        "missed": f"You missed a question on this {ago}.",
        "unsure": f"You marked a question on this as unsure {ago}.",
        "recall": f"A question from {ago} is due for a quick review.",
    }
    return lines.get(kind)


def why_line(code: str | None, topics: Mapping[str, str], today: date) -> str:
    """The learn page's one line on why a card was shown, in plain words, from its `why_code`
    (`topics`: the library's vocabulary, id -> label). An unknown or garbled code, or none,
    gives the default line."""
    kind, _, value = (code or "").partition(":")
    line: str | None = None
    if kind == "goal" and value in topics:
        line = f"You asked to focus on {topics[value]}."
    elif kind in ("missed", "unsure", "recall"):
        line = _dated_line(kind, value, today)
    elif not value:
        line = {"new": "New to you.", "specialty": "In your specialty."}.get(kind)
    return line or DEFAULT_WHY
