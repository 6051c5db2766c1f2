"""The learner's pages: My learning, Learn (snippet or case) and Reflect (document + claim).

Server-rendered, no JavaScript: every interaction is a link or a form post with the session's
CSRF token, followed by a redirect (post/redirect/get).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from service.credit.errors import ClaimRefused
from service.deps import SessionDep
from service.errors import BedsideError
from service.runtime import Runtime, RuntimeDep
from smart_app import learning, views
from smart_app.session import AppSession
from smart_app.web import PageRoute, PageSessionDep, render

router = APIRouter(include_in_schema=False, route_class=PageRoute)
STATIC = Path(__file__).parent / "static"
NOTICES = {
    "expired": (
        "The link from the EHR card has expired, so no learning cycle was started. "
        "Your pending learning is below; you can also search the library."
    ),
    "invalid": (
        "The link from the EHR card could not be verified, so no learning cycle was "
        "started. Your pending learning is below."
    ),
    "missing": "That learning item is no longer in the library.",
    "claimed": "Credit claimed. It is in your transcript below.",
    "saved": "Saved. You can finish this cycle later from My learning.",
    "profile": "Your profile is saved.",
}


@router.get("/app/static/app.css")
async def stylesheet() -> Response:
    return FileResponse(
        STATIC / "app.css", media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
    )


@router.get("/app/")
async def my_learning(
    request: Request,
    runtime: RuntimeDep,
    db: SessionDep,
    session: PageSessionDep,
    notice: Annotated[str, Query(max_length=20)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """Pending cycles, credits by year and type, entries, exports, profile, library search."""
    context = await views.my_learning(runtime, db, session.learner_key, query=q)
    return await render(
        request,
        runtime,
        "home.html",
        session=session,
        notice=NOTICES.get(notice),
        query=q,
        **context,
    )


@router.get("/app/cycles/{cycle_id}")
async def learn(
    request: Request, runtime: RuntimeDep, db: SessionDep, session: PageSessionDep, cycle_id: str
) -> HTMLResponse:
    """The snippet (with source, grade, review date, disclosure) or the case."""
    try:
        context = await views.learn(runtime, db, session.learner_key, cycle_id)
    except BedsideError as exc:
        return await _error_page(request, runtime, session, exc)
    return await render(request, runtime, "learn.html", session=session, **context)


@router.get("/app/cycles/{cycle_id}/reflect")
async def reflect(
    request: Request,
    runtime: RuntimeDep,
    db: SessionDep,
    session: PageSessionDep,
    cycle_id: str,
    notice: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    """Question (pre-filled, editable), source (recorded), application to practice, claim."""
    try:
        cycle = await learning.get_cycle(runtime.credit_rules, db, session.learner_key, cycle_id)
    except BedsideError as exc:
        return await _error_page(request, runtime, session, exc)
    return await render(
        request,
        runtime,
        "reflect.html",
        session=session,
        cycle=cycle,
        applications=learning.APPLICATIONS,
        notice=NOTICES.get(notice),
    )


@router.post("/app/cycles/{cycle_id}/answers")
async def answer_case(
    request: Request, runtime: RuntimeDep, db: SessionDep, session: PageSessionDep, cycle_id: str
) -> Response:
    """Case answers: scored server side; the learn page then shows per-option feedback."""
    form = await request.form()
    try:
        await views.answer_case(runtime, db, session, cycle_id, form)
    except BedsideError as exc:
        return await _error_page(request, runtime, session, exc)
    return RedirectResponse(f"/app/cycles/{learning.parse_id(cycle_id)}#feedback", status_code=303)


@router.post("/app/cycles/{cycle_id}/reflect")
async def save_reflection(
    request: Request, runtime: RuntimeDep, db: SessionDep, session: PageSessionDep, cycle_id: str
) -> Response:
    """Save the reflection; `action=claim` also claims the credit, `later` keeps it pending."""
    form = await request.form()
    try:
        claimed = await views.save_reflection(runtime, db, session, cycle_id, form)
    except ClaimRefused as exc:
        # The reflection itself was saved; say what is still missing for the claim.
        cycle = await learning.get_cycle(runtime.credit_rules, db, session.learner_key, cycle_id)
        return await render(
            request,
            runtime,
            "reflect.html",
            status_code=exc.status_code,
            session=session,
            cycle=cycle,
            applications=learning.APPLICATIONS,
            notice="Not claimed yet: " + " ".join(exc.reasons),
        )
    except BedsideError as exc:
        return await _error_page(request, runtime, session, exc)
    target = "/app/?notice=claimed" if claimed else "/app/?notice=saved"
    return RedirectResponse(target, status_code=303)


@router.post("/app/library/{item_id}/learn")
async def learn_from_library(
    request: Request, runtime: RuntimeDep, db: SessionDep, session: PageSessionDep, item_id: str
) -> Response:
    """Start a cycle from a library search (the learner's own question, no card)."""
    form = await request.form()
    cycle_id = await views.start_from_library(runtime, db, session, item_id, form)
    return RedirectResponse(f"/app/cycles/{cycle_id}", status_code=303)


@router.post("/app/profile")
async def save_profile(
    request: Request, runtime: RuntimeDep, db: SessionDep, session: PageSessionDep
) -> Response:
    """Save the learner's profile, then show My learning again."""
    form = await request.form()
    try:
        await views.save_profile(runtime, db, session, form)
    except BedsideError as exc:
        return await render(
            request,
            runtime,
            "error.html",
            status_code=exc.status_code,
            message=exc.message,
            session=session,
        )
    return RedirectResponse("/app/?notice=profile", status_code=303)


@router.post("/app/token")
async def api_token(
    request: Request, runtime: RuntimeDep, db: SessionDep, session: PageSessionDep
) -> HTMLResponse:
    """Show a bearer token for the learner API (for the learner's own tools)."""
    form = await request.form()
    token = await views.issue_token(runtime, session, form)
    context = await views.my_learning(runtime, db, session.learner_key, query="")
    return await render(
        request,
        runtime,
        "home.html",
        session=session,
        notice=None,
        query="",
        api_token=token,
        **context,
    )


async def _error_page(
    request: Request, runtime: Runtime, session: AppSession, exc: BedsideError
) -> HTMLResponse:
    """The error page for a failed page action, with the error's status."""
    return await render(
        request,
        runtime,
        "error.html",
        status_code=exc.status_code,
        message=_page_message(exc),
        session=session,
    )


def _page_message(exc: BedsideError) -> str:
    if exc.status_code == 404:
        return "This learning cycle was not found in your account."
    return exc.message
