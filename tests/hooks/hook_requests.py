"""Build CDS Hooks requests from Synthea transaction bundles (test data factory)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

SYNTHEA = Path(__file__).resolve().parent.parent / "fixtures" / "synthea"
PREFETCH_TYPES = {
    "conditions": "Condition",
    "medications": "MedicationRequest",
    "observations": "Observation",
    "procedures": "Procedure",
    "allergies": "AllergyIntolerance",
}


def synthea_bundle(prefix: str) -> dict[str, Any]:
    """The Synthea bundle whose file name starts with `prefix` (e.g. 'Lonnie_Von')."""
    (path,) = sorted(SYNTHEA.glob(f"{prefix}*.json"))
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r} for r in resources],
    }


def prefetch_from_bundle(bundle: dict[str, Any]) -> dict[str, Any]:
    """Our prefetch keys filled from a transaction bundle, as an EHR would send them."""
    resources = [e["resource"] for e in bundle["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    prefetch: dict[str, Any] = {"patient": patient}
    for key, resource_type in PREFETCH_TYPES.items():
        chosen = [r for r in resources if r["resourceType"] == resource_type]
        if key == "medications":
            chosen = [r for r in chosen if r.get("status") == "active"]
        prefetch[key] = searchset(chosen)
    return prefetch


def hook_request(
    bundle: dict[str, Any],
    hook: str = "patient-view",
    *,
    user: str = "Practitioner/practitioner-1",
    draft_orders: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    prefetch = prefetch_from_bundle(bundle)
    context: dict[str, Any] = {"userId": user, "patientId": prefetch["patient"]["id"]}
    if hook in {"order-sign", "order-select"}:
        context["draftOrders"] = searchset(draft_orders or [])
        if hook == "order-select":
            context["selections"] = [f"MedicationRequest/{o['id']}" for o in draft_orders or []]
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": context,
        "prefetch": prefetch,
    }
    body.update(extra)
    return body


def oxycodone_order(patient_id: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": "draft-oxy-1",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{patient_id}"},
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": "1049621",
                    "display": "oxycodone hydrochloride 5 MG Oral Tablet",
                }
            ]
        },
    }
