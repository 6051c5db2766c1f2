"""The learner's pages: My learning, Learn (snippet or case), Reflect (document + claim), the
profile and a new API token.

Server-rendered, no JavaScript: every interaction is a link or a form post with the session's
CSRF token, followed by a redirect (post/redirect/get).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from service.credit.errors import ClaimRefused
from service.deps import SessionDep
from service.errors import BadRequest, BedsideError
from service.runtime import Runtime, RuntimeDep
from smart_app import learning, profile_form, views
from smart_app.session import AppSession
from smart_app.web import FormInvalid, PageRoute, PageSessionDep, page_message, render

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
    "profession": "Thank you: your profession is saved, and your credit will follow it.",
    "ready": "Your profile is saved: you can claim your credit now.",
}
CycleQuery = Annotated[str, Query(max_length=40)]


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
    """To finish (nearest deadline first), credits at a glance, certificates, the search."""
    context = await views.home(runtime, db, session.learner_key, query=q)
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
    """Question (pre-filled, editable), source (recorded), application, claim; or, once
    claimed, the credit with its certificate."""
    try:
        context = await views.reflect(runtime, db, session.learner_key, cycle_id)
    except BedsideError as exc:
        return await _error_page(request, runtime, session, exc)
    context["notice"] = NOTICES.get(notice)
    return await render(request, runtime, "reflect.html", session=session, **context)


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
    """Save the reflection; `action=claim` also claims the credit, `later` keeps it to finish.
    A form to fix or a refused claim shows the page again, with what was typed."""
    form = await request.form()
    try:
        outcome = await views.save_reflection(runtime, db, session, cycle_id, form)
    except (FormInvalid, ClaimRefused) as exc:
        context = await views.reflect(runtime, db, session.learner_key, cycle_id)
        if isinstance(exc, FormInvalid):
            context.update(values=exc.values, errors=exc.errors, notice=exc.message)
        else:  # the reflection itself was saved; say what is still missing, and how to fix it
            context["refusals"] = views.claim_refusals(exc, context["cycle"])
            context["fixable"] = exc.status_code == 422
        return await render(
            request, runtime, "reflect.html", exc.status_code, session=session, **context
        )
    except BedsideError as exc:
        return await _error_page(request, runtime, session, exc)
    targets = {"claimed": "/app/?notice=claimed", "saved": "/app/?notice=saved"}
    default = f"/app/cycles/{learning.parse_id(cycle_id)}/reflect"
    return RedirectResponse(targets.get(outcome, default), status_code=303)


@router.post("/app/library/{item_id}/learn")
async def learn_from_library(
    request: Request, runtime: RuntimeDep, db: SessionDep, session: PageSessionDep, item_id: str
) -> Response:
    """Start a cycle from a library search (the learner's own question, no card)."""
    form = await request.form()
    cycle_id = await views.start_from_library(runtime, db, session, item_id, form)
    return RedirectResponse(f"/app/cycles/{cycle_id}", status_code=303)


@router.get("/app/profile")
async def profile(
    request: Request,
    runtime: RuntimeDep,
    db: SessionDep,
    session: PageSessionDep,
    cycle: CycleQuery = "",
) -> HTMLResponse:
    """The profile: what is needed for what, and the way back to the cycle it was opened from."""
    context = await views.profile_page(runtime, db, session.learner_key, cycle)
    return await render(request, runtime, "profile.html", session=session, **context)


@router.post("/app/profile")
async def save_profile(
    request: Request, runtime: RuntimeDep, db: SessionDep, session: PageSessionDep
) -> Response:
    """Save the profile, then go back to the cycle it was opened from (or My learning).
    A field to fix shows the form again with what was typed and a message next to it."""
    save = partial(views.save_profile, topics=runtime.content.topics)
    return await _save_then_back(
        request, runtime, db, session, save, "/reflect?notice=ready", "profile"
    )


@router.post("/app/profession")
async def save_profession(
    request: Request, runtime: RuntimeDep, db: SessionDep, session: PageSessionDep
) -> Response:
    """The one-step profession question of a first sign-in; back to where it was asked."""
    return await _save_then_back(
        request, runtime, db, session, views.save_profession, "", "profession"
    )


async def _save_then_back(
    request: Request,
    runtime: Runtime,
    db: AsyncSession,
    session: AppSession,
    save: Callable[[AsyncSession, AppSession, Any], Awaitable[None]],
    cycle_page: str,
    notice: str,
) -> Response:
    """Save a profile form; back to the cycle it came from (its `cycle_page`), else My
    learning with `notice`; a field to fix shows the profile form again."""
    form = await request.form()
    cycle = str(form.get("cycle") or "")[:40]
    try:
        await save(db, session, form)
    except FormInvalid as exc:
        return await _profile_again(request, runtime, db, session, cycle, exc)
    back = await views.back_to(runtime, db, session.learner_key, cycle)
    target = f"/app/cycles/{back.id}{cycle_page}" if back else f"/app/?notice={notice}"
    return RedirectResponse(target, status_code=303)


@router.get("/app/reviews/{review_id}")
async def review(
    request: Request, runtime: RuntimeDep, db: SessionDep, session: PageSessionDep, review_id: str
) -> HTMLResponse:
    """A missed question asked again (30 seconds: the question and its options)."""
    context = await views.review_page(runtime, db, session.learner_key, review_id)
    return await render(request, runtime, "review.html", session=session, **context)


@router.post("/app/reviews/{review_id}")
async def answer_review(
    request: Request, runtime: RuntimeDep, db: SessionDep, session: PageSessionDep, review_id: str
) -> HTMLResponse:
    """The review answer's feedback, when the question comes back and the next one due; no
    choice shows the question again with a message."""
    form = await request.form()
    try:
        context = await views.answer_review(runtime, db, session, review_id, form)
    except BadRequest as exc:
        context = await views.review_page(runtime, db, session.learner_key, review_id)
        context["error"] = exc.message
        return await render(request, runtime, "review.html", 400, session=session, **context)
    return await render(request, runtime, "review.html", session=session, **context)


@router.post("/app/token")
async def api_token(request: Request, runtime: RuntimeDep, session: PageSessionDep) -> Response:
    """A new bearer token for the learner API, on a page of its own (shown only once)."""
    form = await request.form()
    token = await views.issue_token(runtime, session, form)
    return await render(request, runtime, "token.html", session=session, api_token=token)


async def _profile_again(
    request: Request,
    runtime: Runtime,
    db: SessionDep,
    session: AppSession,
    cycle: str,
    exc: FormInvalid,
) -> HTMLResponse:
    """The profile form again, with what was typed and a message next to each field to fix."""
    context = await views.profile_page(runtime, db, session.learner_key, cycle)
    context.update(values=exc.values, errors=exc.errors, summary=profile_form.summary(exc.errors))
    return await render(request, runtime, "profile.html", 400, session=session, **context)


async def _error_page(
    request: Request, runtime: Runtime, session: AppSession, exc: BedsideError
) -> HTMLResponse:
    """The error page for a failed page action, with the error's status."""
    return await render(
        request,
        runtime,
        "error.html",
        status_code=exc.status_code,
        message=page_message(exc),
        session=session,
    )
