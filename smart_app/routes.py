"""Launch, callback and sign-out routes of the SMART app (the pages are in pages.py).

Routes stay thin: parameters in, one call to the launch orchestrator, a redirect out. Errors
are shown as a page with a clear message, never as a stack trace.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Cookie, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.deps import SessionDep
from service.errors import BedsideError
from service.runtime import Runtime, RuntimeDep
from smart_app import launch
from smart_app.pages import router as pages_router
from smart_app.session import (
    LAUNCH_COOKIE,
    SESSION_COOKIE,
    STATE_TTL_SECONDS,
    SessionStore,
    clear_cookie,
    new_secret,
    set_cookie,
)
from smart_app.web import OptionalSessionDep, PageRoute, check_csrf, render

router = APIRouter(include_in_schema=False, route_class=PageRoute)


async def error_page(request: Request, runtime: Runtime, exc: BedsideError) -> HTMLResponse:
    """A friendly page for an error the clinician can act on."""
    return await render(
        request,
        runtime,
        "error.html",
        status_code=exc.status_code,
        message=exc.message,
        session=None,
    )


async def _to_authorize(runtime: Runtime, url: str, bind: str) -> Response:
    response = RedirectResponse(url, status_code=302)
    set_cookie(
        response, runtime.settings, LAUNCH_COOKIE, bind, max_age=STATE_TTL_SECONDS, path="/app"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/app/launch")
async def ehr_launch(
    request: Request,
    runtime: RuntimeDep,
    iss: Annotated[str, Query(max_length=1000)] = "",
    launch_id: Annotated[str, Query(alias="launch", max_length=2000)] = "",
    bedside_launch: Annotated[str | None, Cookie()] = None,
) -> Response:
    """EHR launch: the EHR opens us with its FHIR base (`iss`) and an opaque launch id."""
    bind = bedside_launch if bedside_launch and len(bedside_launch) < 100 else new_secret()
    try:
        url = await launch.begin_ehr_launch(runtime, iss=iss, launch=launch_id, bind=bind)
    except BedsideError as exc:
        return await error_page(request, runtime, exc)
    return await _to_authorize(runtime, url, bind)


@router.get("/app/login")
async def standalone_login(
    request: Request,
    runtime: RuntimeDep,
    ehr: Annotated[str, Query(max_length=100)] = "",
    bedside_launch: Annotated[str | None, Cookie()] = None,
) -> Response:
    """Standalone launch: choose the organisation whose EHR account you sign in with."""
    if not ehr:
        choices = await launch.launchable_registrations(runtime.registry)
        return await render(request, runtime, "login.html", choices=choices, session=None)
    bind = bedside_launch if bedside_launch and len(bedside_launch) < 100 else new_secret()
    try:
        url = await launch.begin_standalone_launch(runtime, registration_id=ehr, bind=bind)
    except BedsideError as exc:
        return await error_page(request, runtime, exc)
    return await _to_authorize(runtime, url, bind)


@router.get("/app/callback")
async def callback(
    request: Request,
    runtime: RuntimeDep,
    db: SessionDep,
    state: Annotated[str, Query(max_length=200)] = "",
    code: Annotated[str, Query(max_length=4000)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
    bedside_launch: Annotated[str | None, Cookie()] = None,
) -> Response:
    """The redirect URI: finish the sign-in, then open the learning cycle (or My learning)."""
    try:
        if error:
            raise launch.LaunchError("The EHR did not authorise Bedside. Please try again.")
        result = await launch.complete_launch(
            runtime, db, state=state, code=code, bind=bedside_launch
        )
    except BedsideError as exc:
        return await error_page(request, runtime, exc)
    # Only our own paths and our own notice codes: nothing from the request decides where
    # the browser goes.
    target = f"/app/cycles/{result.cycle_id}" if result.cycle_id else "/app/"
    if result.notice:
        target = f"/app/?notice={result.notice}"
    response = RedirectResponse(target, status_code=303)
    set_cookie(
        response,
        runtime.settings,
        SESSION_COOKIE,
        result.session.id,
        max_age=runtime.settings.session_ttl_seconds,
    )
    # The launch cookie stays: another chart's launch in this browser may still be under way.
    return response


@router.post("/app/logout")
async def logout(
    request: Request,
    runtime: RuntimeDep,
    session: OptionalSessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """End the session (server side and cookie)."""
    if session is not None:
        try:
            check_csrf(session, csrf)
        except BedsideError as exc:
            return await error_page(request, runtime, exc)
        await SessionStore(runtime.state, runtime.settings).end(session.id)
    response = await render(request, runtime, "signed_out.html", session=None)
    clear_cookie(response, runtime.settings, SESSION_COOKIE)
    return response


router.include_router(pages_router)
