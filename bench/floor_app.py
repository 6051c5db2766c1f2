"""The parse floor: the least a JSON hook endpoint can do with the same body.

It reads the body, parses it with orjson and answers `{"cards": []}`. Like Bedside, it
freezes its start-up objects out of the garbage collector's generations, so the ratio
Bedside / floor measures Bedside's own work, not a GC setting. Run it with
`uvicorn bench.floor_app:app`.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response

EMPTY_CARDS = orjson.dumps({"cards": []})


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    gc.collect()
    gc.freeze()
    yield


def build_app(accept: Callable[[dict[str, Any]], bool]) -> FastAPI:
    """A hook endpoint that parses the body, asks `accept` about it (400 when it says no)
    and answers no cards. The floor accepts every object; the naive peer validates first."""
    app = FastAPI(lifespan=_lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Readiness for the harness."""
        return {"status": "ok"}

    @app.post("/cds-services/{service_id}")
    async def call_service(service_id: str, request: Request) -> Response:
        del service_id
        parsed = orjson.loads(await request.body())
        if not isinstance(parsed, dict) or not accept(parsed):
            return Response(status_code=400)
        return Response(EMPTY_CARDS, media_type="application/json")

    return app


app = build_app(lambda _body: True)
