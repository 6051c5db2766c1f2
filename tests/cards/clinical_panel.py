"""The clinical panel: synthetic patients written by clinical reviewers from the guideline
text, each with the items it must get and must never get (tests/fixtures/clinical_panel).

`load_panel` reads every case; `bundle_of` builds the FHIR resources the way EHRs code them;
`draft_orders_of` the draft orders of an order hook; `matched_ids` what matching finds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from service.cards.facts import facts_from_resources
from service.cards.library import ContentLibrary
from service.cards.matching import match
from service.cards.resources import resources_from_bundle
from tests.cards.factories import ICD10_URL, LOINC_URL, RXNORM_URL, SNOMED_URL, concept

PANEL_DIR = Path(__file__).parent.parent / "fixtures" / "clinical_panel"
DEFAULT_AT = date(2026, 12, 1)
_SYSTEMS = {"snomed": SNOMED_URL, "icd10": ICD10_URL, "loinc": LOINC_URL, "rxnorm": RXNORM_URL}


@dataclass(frozen=True)
class PanelCase:
    """One synthetic patient and what a clinician expects for it."""

    id: str
    file: str
    hook: str
    at: date
    data: dict[str, Any]
    must: frozenset[str]
    never: frozenset[str]


def load_panel() -> list[PanelCase]:
    """Every case of every panel file, in file order."""
    cases: list[PanelCase] = []
    for path in sorted(PANEL_DIR.glob("*.yaml")):
        for data in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]:
            cases.append(
                PanelCase(
                    id=data["id"],
                    file=path.name,
                    hook=data.get("hook", "patient-view"),
                    at=data.get("at", DEFAULT_AT),
                    data=data,
                    must=frozenset(data.get("must") or ()),
                    never=frozenset(data.get("never") or ()),
                )
            )
    return cases


def _birth_date(age: int, at: date) -> str:
    # a month short of the birthday: whole years at `at` are exactly `age`
    anniversary = at.replace(year=at.year - age) if (at.month, at.day) != (2, 29) else at
    return (anniversary - timedelta(days=30)).isoformat()


def _date(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _condition(index: int, spec: dict[str, Any]) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": f"condition-{index}",
        "clinicalStatus": {"coding": [{"code": spec.get("status", "active")}]},
        "verificationStatus": {"coding": [{"code": "confirmed"}]},
        "code": concept(_SYSTEMS[spec["system"]], str(spec["code"]), spec.get("display", "")),
    }
    if "onset" in spec:
        resource["onsetDateTime"] = _date(spec["onset"])
    return resource


def _medication(index: int, spec: dict[str, Any], status: str, kind: str) -> dict[str, Any]:
    code = spec.get("rxnorm")
    coding = {"system": RXNORM_URL, "code": str(code)} if code else None
    display = spec.get("display", "")
    medication: dict[str, Any] = {"coding": [{**coding, "display": display}]} if coding else {}
    if display:
        medication["text"] = display
    return {
        "resourceType": "MedicationRequest",
        "id": f"{kind}-{index}",
        "status": status,
        "intent": "order",
        "subject": {"reference": "Patient/panel-patient"},
        "medicationCodeableConcept": medication,
    }


def _procedure(index: int, spec: dict[str, Any]) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": f"procedure-{index}",
        "status": "completed",
        "code": concept(_SYSTEMS[spec["system"]], str(spec["code"]), spec.get("display", "")),
    }
    if "date" in spec:
        resource["performedDateTime"] = _date(spec["date"])
    return resource


def _observation(index: int, spec: dict[str, Any]) -> dict[str, Any]:
    loinc = str(spec["loinc"])
    social = loinc in {"72166-2", "82810-3"}
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"observation-{index}",
        "status": "final",
        "category": [{"coding": [{"code": "social-history" if social else "laboratory"}]}],
        "code": concept(LOINC_URL, loinc, spec.get("name", "")),
        "effectiveDateTime": _date(spec["date"]),
    }
    if "value" in spec:
        resource["valueQuantity"] = {"value": spec["value"], "unit": spec.get("unit", "")}
    if "code" in spec:
        resource["valueCodeableConcept"] = concept(
            SNOMED_URL, str(spec["code"]), spec.get("display", "")
        )
    return resource


def _allergy(index: int, spec: dict[str, Any]) -> dict[str, Any]:
    """An AllergyIntolerance: `{system, code, display}` and optionally `status` (clinical)
    and `verification`."""
    resource: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "id": f"allergy-{index}",
        "code": concept(_SYSTEMS[spec["system"]], str(spec["code"]), spec.get("display", "")),
        "patient": {"reference": "Patient/panel-patient"},
    }
    if "status" in spec:
        resource["clinicalStatus"] = {"coding": [{"code": spec["status"]}]}
    if "verification" in spec:
        resource["verificationStatus"] = {"coding": [{"code": spec["verification"]}]}
    return resource


def bundle_of(case: PanelCase) -> dict[str, Any]:
    """The patient's record as a FHIR collection Bundle."""
    data = case.data
    patient = data["patient"]
    resources: list[dict[str, Any]] = [
        {
            "resourceType": "Patient",
            "id": "panel-patient",
            "gender": patient["sex"],
            "birthDate": _birth_date(int(patient["age"]), case.at),
        }
    ]
    resources += [_condition(i, c) for i, c in enumerate(data.get("conditions") or ())]
    resources += [
        _medication(i, m, "active", "medication")
        for i, m in enumerate(data.get("medications") or ())
    ]
    resources += [_procedure(i, p) for i, p in enumerate(data.get("procedures") or ())]
    resources += [_observation(i, o) for i, o in enumerate(data.get("observations") or ())]
    resources += [_allergy(i, a) for i, a in enumerate(data.get("allergies") or ())]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": resource} for resource in resources],
    }


def _service_request(index: int, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "id": f"draft-service-{index}",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/panel-patient"},
        "code": concept(_SYSTEMS[spec["system"]], str(spec["code"]), spec.get("display", "")),
    }


def draft_orders_of(case: PanelCase) -> list[dict[str, Any]]:
    """The draft orders of an order-select / order-sign case: a MedicationRequest for each
    `{rxnorm, display}`, a ServiceRequest (a test, a procedure) for each `{system, code}`."""
    return [
        _service_request(i, o) if "system" in o else _medication(i, o, "draft", "draft")
        for i, o in enumerate(case.data.get("orders") or ())
    ]


def matched_ids(library: ContentLibrary, case: PanelCase) -> set[str]:
    """The ids of the items matching finds for the case (facts read as the hook reads them)."""
    facts = facts_from_resources(
        resources_from_bundle(bundle_of(case)),
        at=case.at,
        draft_orders=draft_orders_of(case),
        terminology=library.terminology,
        observations=library.observation_codes,
    )
    return {found.item.id for found in match(library, facts, hook=case.hook, at=case.at)}
