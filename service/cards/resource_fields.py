"""Defensive readers for FHIR elements held as plain JSON values (dicts, lists, strings).

Hook bodies come from outside: any element may be missing, null or of the wrong type. Each
reader returns a typed value or nothing, so a bad element is skipped rather than crashing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from service.cards.codes import ICD10, normalize_code, system_key, system_urls

Coding = tuple[str, str, str]  # (system key, normalised code, display)
_NUMBERS = (int, float)  # a constant: `int | float` builds a union object per call


def text(value: object) -> str:
    """A string value, or '' for anything else."""
    return value if isinstance(value, str) else ""


def obj(value: object) -> Mapping[str, Any]:
    """A JSON object, or an empty mapping for anything else."""
    return value if isinstance(value, dict) else {}


def items(value: object) -> list[Any]:
    """A JSON array, or an empty list for anything else."""
    return value if isinstance(value, list) else []


def number(value: object) -> float | None:
    """A finite JSON number (booleans excluded), or None."""
    if isinstance(value, bool) or not isinstance(value, _NUMBERS):
        return None
    try:
        result = float(value)
    except OverflowError:  # an integer beyond float range
        return None
    return result if math.isfinite(result) else None


def fhir_date(value: object) -> date | None:
    """The date part of a FHIR date/dateTime/instant (`YYYY`, `YYYY-MM` -> first day)."""
    raw = text(value)
    if len(raw) < 4:
        return None
    try:
        if len(raw) >= 10:
            return date.fromisoformat(raw[:10])
        if len(raw) >= 7:
            return date(int(raw[:4]), int(raw[5:7]), 1)
        return date(int(raw[:4]), 1, 1)
    except ValueError:
        return None


def codings(concept: object) -> Iterator[Coding]:
    """Every well-formed coding of a CodeableConcept, with a normalised code."""
    concept_text = text(obj(concept).get("text"))
    for coding in items(obj(concept).get("coding")):
        entry = obj(coding)
        code = text(entry.get("code")).strip()
        system = text(entry.get("system"))
        if not code or not system:
            continue
        key = system_key(system)
        yield key, normalize_code(key, code), text(entry.get("display")) or concept_text


def codes_of(concept: object, key: str) -> list[str]:
    """The normalised codes of one code system (by key) in a CodeableConcept: what `codings`
    yields for that system, without building the others (the hot path reads LOINC and SNOMED
    codes of every observation)."""
    found: list[str] = []
    urls = system_urls(key)
    for coding in items(obj(concept).get("coding")):
        if isinstance(coding, dict):
            code, system = coding.get("code"), coding.get("system")
            if isinstance(code, str) and isinstance(system, str) and system in urls:
                if code := code.strip():
                    found.append(normalize_code(key, code) if key == ICD10 else code)
    return found


def concept_display(concept: object) -> str:
    """The text of a CodeableConcept, or its first coding's display."""
    value = obj(concept)
    found = text(value.get("text"))
    if found:
        return found
    for coding in items(value.get("coding")):
        display = text(obj(coding).get("display"))
        if display:
            return display
    return ""


def status_codes(concept: object) -> frozenset[str]:
    """The codes of a status CodeableConcept (clinicalStatus, verificationStatus)."""
    return frozenset(
        code
        for coding in items(obj(concept).get("coding"))
        if (code := text(obj(coding).get("code")))
    )


def period_start(period: object) -> date | None:
    """The start date of a FHIR Period."""
    return fhir_date(obj(period).get("start"))
