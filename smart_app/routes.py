"""Launch, callback and sign-out routes of the SMART app (the pages are in pages.py).

Routes stay thin: parameters in, one call to the launch orchestrator, a redirect out. Errors
are shown as a page with a clear message, never as a stack trace.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.deps import SessionDep
from service.errors import BedsideError
from service.runtime import Runtime, RuntimeDep
from smart_app import launch
from smart_app.pages import router as pages_router
from smart_app.session import (
    SESSION_COOKIE,
    STATE_TTL_SECONDS,
    SessionStore,
    clear_cookie,
    launch_cookie_name,
    launch_cookie_names,
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


def _to_authorize(runtime: Runtime, start: launch.AuthorizationStart, bind: str) -> Response:
    """Redirect to the EHR; this launch's own cookie binds its state to this browser."""
    response = RedirectResponse(start.url, status_code=302)
    name = launch_cookie_name(runtime.settings, start.state)
    set_cookie(response, runtime.settings, name, bind, max_age=STATE_TTL_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/app/launch")
async def ehr_launch(
    request: Request,
    runtime: RuntimeDep,
    iss: Annotated[str, Query(max_length=1000)] = "",
    launch_id: Annotated[str, Query(alias="launch", max_length=2000)] = "",
) -> Response:
    """EHR launch: the EHR opens us with its FHIR base (`iss`) and an opaque launch id."""
    bind = new_secret()  # fresh per launch: never a value the browser brought (fixation)
    try:
        start = await launch.begin_ehr_launch(runtime, iss=iss, launch=launch_id, bind=bind)
    except BedsideError as exc:
        return await error_page(request, runtime, exc)
    return _to_authorize(runtime, start, bind)


@router.get("/app/login")
async def standalone_login(
    request: Request,
    runtime: RuntimeDep,
    ehr: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """Standalone launch: choose the organisation whose EHR account you sign in with."""
    if not ehr:
        choices = await launch.launchable_registrations(runtime.registry)
        return await render(request, runtime, "login.html", choices=choices, session=None)
    bind = new_secret()
    try:
        start = await launch.begin_standalone_launch(runtime, registration_id=ehr, bind=bind)
    except BedsideError as exc:
        return await error_page(request, runtime, exc)
    return _to_authorize(runtime, start, bind)


@router.get("/app/callback")
async def callback(
    request: Request,
    runtime: RuntimeDep,
    db: SessionDep,
    state: Annotated[str, Query(max_length=200)] = "",
    code: Annotated[str, Query(max_length=4000)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
    iss: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    """The redirect URI: finish the sign-in, then open the learning cycle (or My learning).
    `iss` is the authorization server's issuer (RFC 9207), not a FHIR base."""
    cookie = launch_cookie_name(runtime.settings, state)
    try:
        if error:
            raise launch.LaunchError("The EHR did not authorise Bedside. Please try again.")
        result = await launch.complete_launch(
            runtime, db, state=state, code=code, bind=request.cookies.get(cookie), response_iss=iss
        )
    except BedsideError as exc:
        page = await error_page(request, runtime, exc)
        clear_cookie(page, runtime.settings, cookie)
        return page
    # Only our own paths and our own notice codes: nothing from the request decides where
    # the browser goes (a card's cycle, a recall card's question, My learning).
    response = RedirectResponse(result.target, status_code=303)
    response.headers["Cache-Control"] = "no-store"  # it carries a new session cookie
    set_cookie(
        response,
        runtime.settings,
        SESSION_COOKIE,
        result.session.id,
        max_age=runtime.settings.session_ttl_seconds,
    )
    # This launch's cookie is spent; another chart's launch keeps its own.
    clear_cookie(response, runtime.settings, cookie)
    return response


@router.post("/app/logout")
async def logout(
    request: Request,
    runtime: RuntimeDep,
    session: OptionalSessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """End the session (server side and cookie) and forget every launch under way in this
    browser: an authorization started before signing out (an EHR page kept in the history)
    must not sign the next person in."""
    if session is not None:
        try:
            check_csrf(session, csrf)
        except BedsideError as exc:
            return await error_page(request, runtime, exc)
        await SessionStore(runtime.state, runtime.settings).end(session.id)
    response = await render(request, runtime, "signed_out.html", session=None)
    clear_cookie(response, runtime.settings, SESSION_COOKIE)
    for name in launch_cookie_names(request.cookies):
        clear_cookie(response, runtime.settings, name)
    return response


router.include_router(pages_router)
