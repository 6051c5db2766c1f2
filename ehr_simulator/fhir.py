"""The simulator's read-only FHIR API over the bundled patients; a bearer token it issued
is required (Bedside itself never calls it: it asks for no FHIR scope)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response

from ehr_simulator.data import searchset
from ehr_simulator.state import SimConfig, SimState

router = APIRouter(prefix="/fhir")
FHIR_JSON = "application/fhir+json"


def _authorized(request: Request, authorization: str | None) -> bool:
    sim: SimState = request.app.state.sim
    token = (authorization or "").removeprefix("Bearer ").strip()
    return bool(token) and token in sim.access_tokens


def _outcome(status: int, text: str) -> Response:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "security" if status == 401 else "not-found",
                "diagnostics": text,
            }
        ],
    }
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON)


@router.get("/{resource_type}/{resource_id}")
async def read(
    request: Request,
    resource_type: str,
    resource_id: str,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    if not _authorized(request, authorization):
        return _outcome(401, "a bearer token is required")
    config: SimConfig = request.app.state.config
    resource = config.patients.read(resource_type, resource_id)
    if resource is None:
        return _outcome(404, "not found")
    return JSONResponse(resource, media_type=FHIR_JSON)


@router.get("/{resource_type}")
async def search(
    request: Request, resource_type: str, authorization: Annotated[str | None, Header()] = None
) -> Response:
    if not _authorized(request, authorization):
        return _outcome(401, "a bearer token is required")
    config: SimConfig = request.app.state.config
    found = config.patients.search(resource_type, dict(request.query_params))
    return JSONResponse(searchset(found), media_type=FHIR_JSON)
