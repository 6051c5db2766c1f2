"""The peer baseline: a naive hook endpoint that validates the whole prefetch with full FHIR
models (fhir.resources, R4B) before answering `{"cards": []}`.

This is what a straightforward implementation does; Bedside's design forbids it on the hot
path (docs/performance.md measures why). Run it with `uvicorn bench.naive_app:app`.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from bench.floor_app import build_app


def validate_prefetch(prefetch: dict[str, Any]) -> int:
    """Validate every prefetched resource with its R4B model; returns how many were checked."""
    checked = 0
    for value in prefetch.values():
        if not isinstance(value, dict):
            continue
        if value.get("resourceType") == "Bundle":
            bundle = Bundle.model_validate(value)
            checked += len(bundle.entry or [])
        elif value.get("resourceType") == "Patient":
            Patient.model_validate(value)
            checked += 1
    return checked


def _valid(body: dict[str, Any]) -> bool:
    try:
        validate_prefetch(body.get("prefetch") or {})
    except ValidationError:
        return False
    return True


app = build_app(_valid)
