"""The simulator's pages: a patient list, and a chart that fires patient-view (or order-sign
for an oxycodone prescription, alone or with naloxone) at Bedside and renders the cards with
working SMART links."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from ehr_simulator.data import patient_name
from ehr_simulator.hooks_client import HookError, call_hook, draft_naloxone, draft_oxycodone
from ehr_simulator.state import SimConfig, SimState, register_launch

router = APIRouter()
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _parts(request: Request) -> tuple[SimConfig, SimState]:
    return request.app.state.config, request.app.state.sim


def _practitioner(config: SimConfig, wanted: str) -> dict[str, Any]:
    practitioners = config.patients.practitioners()
    return next((p for p in practitioners if p["id"] == wanted), practitioners[0])


@router.get("/", response_class=HTMLResponse)
async def patient_list(
    request: Request, practitioner: Annotated[str, Query(max_length=100)] = ""
) -> HTMLResponse:
    """The patients; "Signed in as" chooses the clinician whose charts (and cards) open."""
    config, _ = _parts(request)
    patients = [
        (p["id"], patient_name(p), p.get("birthDate", ""), p.get("gender", ""))
        for p in config.patients.patients()
    ]
    practitioners = [(p["id"], patient_name(p)) for p in config.patients.practitioners()]
    return TEMPLATES.TemplateResponse(
        request,
        "patients.html",
        {
            "patients": patients,
            "practitioners": practitioners,
            "signed_in": _practitioner(config, practitioner)["id"],
            "bedside": config.bedside_url,
        },
    )


def _smart_links(
    request: Request, cards: list[dict[str, Any]], patient: str, practitioner: str
) -> list[dict[str, Any]]:
    """Each smart link gets its own launch (context incl. appContext) + iss and launch."""
    config, _ = _parts(request)
    rendered = []
    for card in cards:
        links = []
        for link in card.get("links", []):
            url = str(link.get("url", ""))
            if link.get("type") == "smart" and urlsplit(url).scheme in ("http", "https"):
                launch = register_launch(
                    request.app.state,
                    patient=patient,
                    practitioner=practitioner,
                    app_context=link.get("appContext"),
                )
                separator = "&" if "?" in url else "?"
                url += separator + urlencode({"iss": config.fhir_base, "launch": launch})
            links.append({"label": link.get("label", url), "url": url})
        rendered.append({**card, "rendered_links": links})
    return rendered


async def _chart(
    request: Request, patient_id: str, practitioner_id: str, hook: str, extra: dict[str, Any]
) -> HTMLResponse:
    config, sim = _parts(request)
    patient = config.patients.read("Patient", patient_id)
    if patient is None:
        return HTMLResponse("unknown patient", status_code=404)
    practitioner = _practitioner(config, practitioner_id)
    context = {"userId": f"Practitioner/{practitioner['id']}", "patientId": patient_id, **extra}
    error, cards = None, []
    try:
        cards = await call_hook(request.app.state.http, config, sim, hook, context)
    except HookError as exc:
        error = str(exc)
    return TEMPLATES.TemplateResponse(
        request,
        "chart.html",
        {
            "patient": patient,
            "name": patient_name(patient),
            "hook": hook,
            "error": error,
            "practitioner": practitioner["id"],
            "practitioner_name": patient_name(practitioner),
            "cards": _smart_links(request, cards, patient_id, practitioner["id"]),
        },
    )


@router.get("/chart/{patient_id}", response_class=HTMLResponse)
async def chart(
    request: Request, patient_id: str, practitioner: Annotated[str, Query()] = ""
) -> HTMLResponse:
    """Open the chart: patient-view."""
    return await _chart(request, patient_id, practitioner, "patient-view", {})


@router.post("/chart/{patient_id}/prescribe", response_class=HTMLResponse)
async def prescribe(
    request: Request,
    patient_id: str,
    practitioner: Annotated[str, Form()] = "",
    naloxone: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Sign a prescription for oxycodone 5 mg, alone or with naloxone nasal spray: order-sign
    with the draft orders (the demo's practice story: before and after learning)."""
    config, _ = _parts(request)
    practitioner = _practitioner(config, practitioner)["id"]
    drafts = [draft_oxycodone(patient_id, practitioner)]
    if naloxone:
        drafts.append(draft_naloxone(patient_id, practitioner))
    extra = {
        "draftOrders": {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": draft} for draft in drafts],
        }
    }
    return await _chart(request, patient_id, practitioner, "order-sign", extra)
