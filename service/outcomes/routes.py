"""The education lead's pages and files under `/education/`: sign-in and sign-out, the
outcomes dashboard of a year, and the report (CSV, JSON) and evidence (CSV) downloads.

Routes stay thin: who is asking (`web.py`), one call, a page or a file out. Server-rendered,
no JavaScript; the forms post with a CSRF token and answer with a redirect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from service.db.base import utcnow
from service.deps import ServerSecretDep, SessionDep, SettingsDep, component
from service.outcomes import credentials, dashboard, evidence, formats
from service.outcomes.exports import export_evidence, export_report, lead_actor
from service.outcomes.report import Items, outcomes_report
from service.outcomes.web import (
    DASHBOARD,
    FORM_COOKIE,
    FORM_SECONDS,
    SESSION_COOKIE,
    SIGN_IN,
    EducationPage,
    LeadSessionDep,
    OptionalLeadDep,
    ReaderDep,
    check_csrf,
    clear_cookie,
    form_token,
    new_form_token,
    render,
    set_cookie,
    start_session,
)

router = APIRouter(include_in_schema=False, route_class=EducationPage)
STATIC = Path(__file__).parent / "static"
PeriodQuery = Annotated[str, Query(max_length=10)]
NOTICES = {
    "signed-out": "You are signed out.",
    "expired": "Your session has ended. Please sign in again.",
}
BAD_TOKEN = (
    "That token was not recognised, or it has been withdrawn. Paste the whole token, or ask "
    "hospital IT for a new one (the admin token does not work here)."
)


def _library(request: Request) -> Items:
    library: Items = component(request, "content")
    return library


def _file(body: str, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/education/static/education.css")
async def stylesheet() -> Response:
    return FileResponse(
        STATIC / "education.css",
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600"},
    )


def _sign_in_form(
    request: Request, settings: SettingsDep, status_code: int = 200, **context: object
) -> Response:
    """The sign-in form with a fresh double-submit token (cookie and hidden field)."""
    token = new_form_token()
    response = render(request, "sign_in.html", status_code, csrf=token, **context)
    set_cookie(response, settings, FORM_COOKIE, token, FORM_SECONDS)
    return response


@router.get("/education/sign-in")
async def sign_in_page(
    request: Request,
    settings: SettingsDep,
    session: OptionalLeadDep,
    notice: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """Paste the token hospital IT gave you; signed in already: to the dashboard."""
    if session is not None:
        return RedirectResponse(DASHBOARD, status_code=303)
    return _sign_in_form(request, settings, notice=NOTICES.get(notice))


@router.post("/education/sign-in")
async def sign_in(
    request: Request, db: SessionDep, settings: SettingsDep, secret: ServerSecretDep
) -> Response:
    """Check the pasted token; a lead's token signs this browser in for 8 hours."""
    form = await request.form()
    check_csrf(form_token(request, settings), form.get("csrf"))
    token = form.get("token")
    lead = await credentials.lead_by_token(db, token.strip() if isinstance(token, str) else None)
    if lead is None:
        return _sign_in_form(request, settings, 401, error=BAD_TOKEN)
    response = RedirectResponse(DASHBOARD, status_code=303)
    start_session(response, settings, secret, lead.id)
    return response


@router.post("/education/sign-out")
async def sign_out(request: Request, settings: SettingsDep, session: OptionalLeadDep) -> Response:
    """End this browser's session (a form of a signed-in page, with its CSRF token)."""
    form = await request.form()
    if session is not None:
        check_csrf(session.csrf, form.get("csrf"))
    response = RedirectResponse(f"{SIGN_IN}?notice=signed-out", status_code=303)
    clear_cookie(response, settings, SESSION_COOKIE)
    return response


@router.get("/education/")
async def outcomes_page(
    request: Request, db: SessionDep, session: LeadSessionDep, period: PeriodQuery = ""
) -> Response:
    """The outcomes of a year, per item, with the practice chart and the downloads."""
    this_year = utcnow().year
    year = dashboard.parse_period(period, this_year)
    library = _library(request)
    report = await outcomes_report(db, library, year)
    cohort = await evidence.outcomes_cohort(db, year)
    context = dashboard.page(report, cohort, this_year)
    return render(request, "dashboard.html", session=session, **context)


@router.get("/education/report.csv")
async def report_csv(
    request: Request, db: SessionDep, lead_id: ReaderDep, period: PeriodQuery = ""
) -> Response:
    """The report of a year as CSV (suppressed cells read <5, or hidden)."""
    year = dashboard.parse_period(period, utcnow().year)
    report = await export_report(
        db, _library(request), year, fmt="csv", actor=lead_actor(lead_id), now=utcnow()
    )
    return _file(formats.to_csv(report), "text/csv; charset=utf-8", f"outcomes-{year}.csv")


@router.get("/education/report.json")
async def report_json(
    request: Request, db: SessionDep, lead_id: ReaderDep, period: PeriodQuery = ""
) -> Response:
    """The report of a year as JSON (suppressed cells null, with `"suppressed": true`)."""
    year = dashboard.parse_period(period, utcnow().year)
    report = await export_report(
        db, _library(request), year, fmt="json", actor=lead_actor(lead_id), now=utcnow()
    )
    return _file(formats.to_json(report), "application/json", f"outcomes-{year}.json")


@router.get("/education/evidence.csv")
async def evidence_csv(
    request: Request,
    db: SessionDep,
    lead_id: ReaderDep,
    period: PeriodQuery = "",
    item: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Baseline and re-measurement per consenting, named learner of the year's cohort."""
    year = dashboard.parse_period(period, utcnow().year)
    found = await export_evidence(
        db,
        _library(request),
        year,
        item_id=item.strip() or None,
        actor=lead_actor(lead_id),
        now=utcnow(),
    )
    name = f"outcomes-evidence-{year}.csv"
    return _file(evidence.to_csv(found), "text/csv; charset=utf-8", name)
