"""The EHR simulator: a small FastAPI app playing an EHR for demos and end-to-end tests.

It is a SMART authorization server (discovery, authorize, token, JWKS), a read-only FHIR
server over bundled Synthea patients, and a CDS Hooks client with a page that fires hooks at
Bedside and renders the returned cards with working SMART links. Never for production.
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from ehr_simulator.ehr import router as ehr_router
from ehr_simulator.fhir import router as fhir_router
from ehr_simulator.smart import router as smart_router
from ehr_simulator.state import SimConfig, SimState, new_key


def create_sim_app(config: SimConfig, http: httpx.AsyncClient | None = None) -> FastAPI:
    """The simulator app. `http` reaches Bedside (its JWKS and CDS services); tests pass a
    client routed in-process."""
    app = FastAPI(title="Bedside EHR simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.config = config
    app.state.sim = SimState(key=new_key())
    app.state.http = http or httpx.AsyncClient(timeout=10.0, follow_redirects=False)
    for router in (smart_router, fhir_router, ehr_router):
        app.include_router(router)
    return app
