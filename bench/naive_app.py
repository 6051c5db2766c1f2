"""The peer baseline: a naive hook endpoint that validates the whole prefetch with full FHIR
models (fhir.resources, R4B) before answering `{"cards": []}`.

This is what a straightforward implementation does; Bedside's design forbids it on the hot
path (docs/performance.md measures why). Run it with `uvicorn bench.naive_app:app`.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

EMPTY_CARDS = orjson.dumps({"cards": []})


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


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    gc.collect()
    gc.freeze()
    yield


app = FastAPI(lifespan=_lifespan, docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    """Readiness for the harness."""
    return {"status": "ok"}


@app.post("/cds-services/{service_id}")
async def call_service(service_id: str, request: Request) -> Response:
    """Parse, validate the whole prefetch with FHIR models, answer no cards."""
    del service_id
    parsed = orjson.loads(await request.body())
    if not isinstance(parsed, dict):
        return Response(status_code=400)
    try:
        validate_prefetch(parsed.get("prefetch") or {})
    except ValidationError:
        return Response(status_code=400)
    return Response(EMPTY_CARDS, media_type="application/json")
