"""The composition root: create_app(settings) wires adapters and the core once per worker."""

from __future__ import annotations

import asyncio
import gc
import html
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from service import __version__
from service.app_context import AppContextSigner
from service.cards import FatiguePolicy
from service.db.base import utcnow
from service.db.engine import make_engine, make_sessionmaker
from service.ehr.auth import EhrJwtVerifier
from service.ehr.registry import EhrRegistry
from service.errors import BedsideError, Unauthorized
from service.hooks.gate import CallerGate
from service.hooks.prefetch import PrefetchUnavailable
from service.hooks.service import CardLinks, HookService
from service.keys import load_signing_keys
from service.limits import BodyLimitMiddleware
from service.memory import LearnerMemory
from service.observability import configure_logging
from service.responses import JSONResponse
from service.runtime import Runtime
from service.settings import Settings
from service.shared_state import make_shared_state

log = logging.getLogger("bedside")


async def build_runtime(settings: Settings) -> Runtime:
    """Build every long-lived object of a worker. Closed again by close_runtime."""
    # Looked up at call time: tests substitute the loaders on their modules.
    from service.cards.library import load_library
    from service.credit.rules import load_rules

    engine = make_engine(settings.resolved_database_url)
    sessions = make_sessionmaker(engine)
    secret = settings.resolved_secret_key()
    state = make_shared_state(settings.redis_url)
    # follow_redirects stays False: an access token must never follow a redirect.
    http = httpx.AsyncClient(follow_redirects=False, timeout=httpx.Timeout(5.0, connect=2.0))
    registry = EhrRegistry(sessions)
    memory = LearnerMemory(
        engine,
        sessions,
        state,
        cache_seconds=settings.learner_state_cache_seconds,
        repeat_window_days=settings.repeat_window_days,
    )
    app_context = AppContextSigner(secret, settings.app_context_ttl_seconds)
    content = load_library(settings.content_dir, cache_dir=settings.data_dir / "cache")
    credit_rules = load_rules(settings.credit_rules_file)
    jwt = EhrJwtVerifier(
        settings=settings, registry=registry, state=state, http=http, sessions=sessions
    )
    clock = _clinical_clock(settings)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        http=http,
        state=state,
        secret=secret,
        signing_keys=load_signing_keys(settings.signing_key_file, settings.data_dir),
        app_context=app_context,
        registry=registry,
        content=content,
        credit_rules=credit_rules,
        jwt=jwt,
        memory=memory,
        gate=CallerGate(jwt, state, settings.public_url, settings.rate_limit_per_minute),
        hooks=HookService(
            content=content,
            memory=memory,
            links=CardLinks(f"{settings.public_url}/app/launch", app_context, credit_rules),
            http=http,
            secret=secret,
            policy=FatiguePolicy(
                max_cards=settings.max_cards, repeat_window_days=settings.repeat_window_days
            ),
            fetch_deadline_seconds=settings.fetch_deadline_seconds,
            clock=clock,
        ),
        clock=clock,
    )


def _clinical_clock(settings: Settings) -> Callable[[], datetime]:
    frozen = settings.evaluation_date
    if frozen is None:
        return utcnow
    moment = datetime(frozen.year, frozen.month, frozen.day, 12, tzinfo=UTC)
    return lambda: moment


async def close_runtime(runtime: Runtime) -> None:
    await runtime.memory.close()
    await runtime.http.aclose()
    await runtime.state.close()
    await runtime.engine.dispose()


@asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[Runtime]:
    """A worker's runtime with its background jobs and garbage-collector settings, for the
    life of the block (the app's lifespan, and the benchmark's in-process stages)."""
    # Start-up allocates long-lived objects only (the library and its index): automatic
    # collections over them before the one below are waste (10,000 items: a gen0 pass,
    # often older ones too, ~0.1 s each, before the first hook).
    collecting = gc.isenabled()
    gc.disable()
    try:
        runtime = await build_runtime(settings)
        runtime.memory.start()
        background = _start_background_jobs(runtime)
        # The index and the content are immutable for the worker's life: keep them out of
        # the garbage collector's generations (halves GC cost on large hook bodies).
        gc.collect()
        gc.freeze()
    finally:
        if collecting:
            gc.enable()
    # A hook body parses into thousands of young objects; with the default gen0 threshold
    # (700) collections run mid-call and promote the in-flight bodies of concurrent calls
    # into older generations, which every later pass rescans. 50 KB bodies, 16 connections:
    # 2.7-3.0 ms CPU per call instead of 2.8-3.6 ms.
    thresholds = gc.get_threshold()
    gc.set_threshold(10_000, 20, 20)
    try:
        yield runtime
    finally:
        gc.set_threshold(*thresholds)
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await close_runtime(runtime)


def create_app(settings: Settings | None = None, *, migrate: bool = False) -> FastAPI:
    """The Bedside ASGI application. `migrate=True` upgrades the schema on start (single
    process only; `bedside serve` migrates once before it starts its workers)."""
    settings = settings or Settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            from service.db.migrate import upgrade

            await asyncio.to_thread(upgrade, settings.resolved_database_url)
        async with running_worker(settings) as runtime:
            app.state.runtime = runtime
            yield

    app = FastAPI(
        title="Bedside",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    _install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
        )
    _include_routers(app)
    _add_operational_routes(app)
    _add_home_page(app)
    return app


def _start_background_jobs(runtime: Runtime) -> list[asyncio.Task[None]]:
    """Background work of a worker: other workers' learner-state announcements and, when an
    LRS is configured, the xAPI outbox push (closed months of practice counts queued first)."""
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(runtime.memory.follow())]
    if runtime.settings.lrs_url:
        from service.credit.jobs import push_periodically
        from service.outcomes.statements import practice_publisher

        job = push_periodically(
            runtime.settings,
            runtime.sessions,
            runtime.http,
            producers=(practice_publisher(runtime.content),),
        )
        tasks.append(loop.create_task(job))
    return tasks


def _include_routers(app: FastAPI) -> None:
    from service.credit.routes import router as credit_router
    from service.ehr.routes import router as ehr_router
    from service.hooks.routes import router as hooks_router
    from service.outcomes.routes import router as education_router
    from smart_app.api import router as learner_api_router
    from smart_app.practice import router as practice_router
    from smart_app.routes import router as smart_router

    for router in (
        hooks_router,
        ehr_router,
        credit_router,
        smart_router,
        learner_api_router,
        practice_router,
        education_router,
    ):
        app.include_router(router)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Unauthorized)
    async def _unauthorized(_request: Request, _exc: Unauthorized) -> Response:
        return Response(status_code=401)  # bare 401, as CDS Hooks requires

    @app.exception_handler(PrefetchUnavailable)
    async def _precondition(_request: Request, exc: PrefetchUnavailable) -> Response:
        return JSONResponse(exc.operation_outcome(), status_code=412)

    @app.exception_handler(BedsideError)
    async def _bedside_error(_request: Request, exc: BedsideError) -> Response:
        return JSONResponse(
            {"detail": exc.message}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        # Never echo the input back: it may hold tokens or patient data.
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=400)


def _add_operational_routes(app: FastAPI) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        checks = {"content": len(runtime.content) > 0}
        try:
            async with runtime.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            checks["database"] = True
        except Exception:  # readiness reports, it does not raise
            log.warning("readiness: database unreachable")
            checks["database"] = False
        status = 200 if all(checks.values()) else 503
        return JSONResponse(
            {"status": "ok" if status == 200 else "unavailable", "checks": checks},
            status_code=status,
        )

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/.well-known/jwks.json", include_in_schema=False)
    async def jwks(request: Request) -> dict[str, object]:
        runtime: Runtime = request.app.state.runtime
        return runtime.signing_keys.public_jwks()


_HOME_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bedside</title></head>
<body>
<h1>Bedside {version}</h1>
<p>Continuing medical education at the point of care: a CDS Hooks service and a SMART on FHIR
app.</p>
<ul>
<li>CDS Hooks discovery URL (register it in your EHR):
<a href="/cds-services">{public_url}/cds-services</a></li>
<li>SMART app: <a href="/app/">{public_url}/app/</a>
(EHR launch URL {public_url}/app/launch)</li>
<li>Health: <a href="/healthz">/healthz</a></li>
</ul>
</body></html>
"""


def _add_home_page(app: FastAPI) -> None:
    """`GET /`: what this service is and where its entry points are (hospital IT's browser)."""

    @app.get("/", include_in_schema=False)
    async def home(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        page = _HOME_PAGE.format(
            version=html.escape(__version__), public_url=html.escape(runtime.settings.public_url)
        )
        headers = {
            "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
            "X-Content-Type-Options": "nosniff",
        }
        return HTMLResponse(page, headers=headers)
