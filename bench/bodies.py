"""Realistic CDS Hooks request bodies built from the synthetic (Synthea) patients.

A Synthea transaction bundle becomes what an EHR would prefetch for our templates
(service/hooks/discovery.py): the Patient resource and searchset Bundles of Condition, active
MedicationRequest, laboratory/social-history Observation and Procedure, with references
rewritten from `urn:uuid:` to `Type/id`. Larger bodies extend the patient's laboratory history
(copies of real observations, new ids, dated one more year back each round) rather than
padding with junk, so the parser and the facts builder see the shape they see in production.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

REPO_ROOT = Path(__file__).resolve().parent.parent
FHIR_BASE = "http://127.0.0.1:9/fhir"  # never contacted: the prefetch is always complete
PRACTITIONER = "Practitioner/bench-clinician-1"
OBSERVATION_CATEGORIES = {"laboratory", "social-history", "survey"}
OXYCODONE = {
    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "code": "1049621",
    "display": "oxycodone hydrochloride 5 MG Oral Tablet",
}
LARGE_PATIENT = "Kirsten_Witting"  # diabetes, hypertension, CAD: many labs, several cards
SMALL_PATIENT = "Angelic_Mueller"  # hypertension, hyperlipidemia
ORDER_PATIENT = "Delbert_Williamson"  # diazepam: an opioid order meets a benzodiazepine


@dataclass(frozen=True, slots=True)
class HookBody:
    """One request body and what the load generator needs to send it."""

    name: str
    service_id: str
    body: bytes
    resources: int

    @property
    def kilobytes(self) -> float:
        return len(self.body) / 1024


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """A patient's resources by type, references already rewritten to `Type/id`."""

    patient: dict[str, Any]
    by_type: dict[str, list[dict[str, Any]]]

    @property
    def patient_id(self) -> str:
        return str(self.patient["id"])


def synthea_dir() -> Path | None:
    """tests/fixtures/synthea when present, else ../shared/data/synthea, else None."""
    for candidate in (
        REPO_ROOT / "tests" / "fixtures" / "synthea",
        REPO_ROOT.parent / "shared" / "data" / "synthea",
    ):
        if candidate.is_dir() and any(candidate.glob("*.json")):
            return candidate
    return None


def _rewrite_references(value: Any, targets: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: _rewrite_references(item, targets) for key, item in value.items()}
    if isinstance(value, list):
        return [_rewrite_references(item, targets) for item in value]
    if isinstance(value, str) and value.startswith("urn:uuid:"):
        return targets.get(value, value)
    return value


def load_patient(prefix: str, directory: Path | None = None) -> PatientRecord:
    """Read one Synthea bundle (file name starting with `prefix`), or the built-in patient
    when no Synthea data is available (keeps the smoke test self-contained)."""
    directory = directory or synthea_dir()
    matches = sorted(directory.glob(f"{prefix}*.json")) if directory else []
    if not matches:
        return builtin_patient()
    bundle = orjson.loads(matches[0].read_bytes())
    targets = {
        entry["fullUrl"]: f"{entry['resource']['resourceType']}/{entry['resource']['id']}"
        for entry in bundle["entry"]
        if "fullUrl" in entry
    }
    by_type: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle["entry"]:
        resource = _rewrite_references(entry["resource"], targets)
        by_type.setdefault(resource["resourceType"], []).append(resource)
    return PatientRecord(patient=by_type["Patient"][0], by_type=by_type)


def builtin_patient() -> PatientRecord:
    """A small hand-written hypertensive, diabetic patient (no external files needed)."""
    pid = "bench-patient-1"
    subject = {"reference": f"Patient/{pid}"}

    def concept(system: str, code: str, display: str) -> dict[str, Any]:
        return {"coding": [{"system": system, "code": code, "display": display}]}

    lab = {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "laboratory",
            }
        ]
    }
    active = concept("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active")
    return PatientRecord(
        patient={
            "resourceType": "Patient",
            "id": pid,
            "gender": "female",
            "birthDate": "1948-05-02",
            "name": [{"family": "Bench", "given": ["Pat"]}],
        },
        by_type={
            "Condition": [
                {
                    "resourceType": "Condition",
                    "id": f"c{i}",
                    "subject": subject,
                    "clinicalStatus": active,
                    "onsetDateTime": "2010-01-01T00:00:00Z",
                    "code": concept("http://snomed.info/sct", code, name),
                }
                for i, (code, name) in enumerate(
                    [("38341003", "Hypertension"), ("44054006", "Diabetes mellitus type 2")]
                )
            ],
            "MedicationRequest": [
                {
                    "resourceType": "MedicationRequest",
                    "id": "m1",
                    "status": "active",
                    "intent": "order",
                    "subject": subject,
                    "authoredOn": "2020-01-01",
                    "medicationCodeableConcept": concept(
                        "http://www.nlm.nih.gov/research/umls/rxnorm",
                        "860975",
                        "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet",
                    ),
                }
            ],
            "Observation": [
                {
                    "resourceType": "Observation",
                    "id": "o1",
                    "status": "final",
                    "category": [lab],
                    "subject": subject,
                    "effectiveDateTime": "2021-02-01T09:00:00Z",
                    "code": concept("http://loinc.org", "4548-4", "Hemoglobin A1c"),
                    "valueQuantity": {
                        "value": 8.1,
                        "unit": "%",
                        "system": "http://unitsofmeasure.org",
                        "code": "%",
                    },
                }
            ],
            "Procedure": [],
        },
    )


def _observations(record: PatientRecord) -> list[dict[str, Any]]:
    kept = []
    for resource in record.by_type.get("Observation", []):
        codes = {c.get("code") for cat in resource.get("category", []) for c in cat["coding"]}
        if codes & OBSERVATION_CATEGORIES:
            kept.append(resource)
    return kept


def _older_copy(resource: dict[str, Any], years: int) -> dict[str, Any]:
    """A copy of an observation with a new id, dated `years` earlier (a longer history)."""
    clone = copy.deepcopy(resource)
    clone["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{resource['id']}/{years}"))
    for field in ("effectiveDateTime", "issued"):
        if field in clone:
            moment = datetime.fromisoformat(clone[field]) - timedelta(days=365 * years)
            clone[field] = moment.isoformat()
    return clone


def _searchset(resource_type: str, query: str, resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": f"{FHIR_BASE}/{resource_type}?{query}"}],
        "entry": [
            {
                "fullUrl": f"{FHIR_BASE}/{resource_type}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


def _prefetch(record: PatientRecord, observations: list[dict[str, Any]]) -> dict[str, Any]:
    pid = record.patient_id
    meds = [m for m in record.by_type.get("MedicationRequest", []) if m.get("status") == "active"]
    return {
        "patient": record.patient,
        "conditions": _searchset(
            "Condition", f"patient={pid}", record.by_type.get("Condition", [])
        ),
        "medications": _searchset("MedicationRequest", f"patient={pid}&status=active", meds),
        "observations": _searchset(
            "Observation", f"patient={pid}&category=laboratory,social-history", observations
        ),
        "procedures": _searchset(
            "Procedure", f"patient={pid}", record.by_type.get("Procedure", [])
        ),
        "allergies": _searchset(
            "AllergyIntolerance", f"patient={pid}", record.by_type.get("AllergyIntolerance", [])
        ),
    }


def _count(prefetch: dict[str, Any]) -> int:
    return 1 + sum(len(prefetch[key]["entry"]) for key in prefetch if key != "patient")


def _envelope(
    hook: str,
    record: PatientRecord,
    prefetch: dict[str, Any],
    extra_context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    context = {"userId": PRACTITIONER, "patientId": record.patient_id, **(extra_context or {})}
    return {
        "hook": hook,
        "hookInstance": str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{hook}/{record.patient_id}")),
        "fhirServer": FHIR_BASE,
        "fhirAuthorization": {
            "access_token": "bench-opaque-access-token",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "bedside-client",
        },
        "context": context,
        "prefetch": prefetch,
    }


def grow_observations(
    record: PatientRecord, *, target_bytes: int | None = None, target_resources: int | None = None
) -> dict[str, Any]:
    """The patient's prefetch, its observation history extended (older copies of real labs)
    until the JSON reaches `target_bytes` or the prefetch holds `target_resources`; trimmed
    (most recent kept) when the patient is already larger."""
    base = _observations(record)
    observations = list(base)
    prefetch = _prefetch(record, observations)
    if target_resources is not None:
        others = _count(prefetch) - len(observations)
        wanted = max(target_resources - others, 0)
        years = 1
        while len(observations) < wanted and base:
            observations.extend(_older_copy(o, years) for o in base)
            years += 1
        del observations[wanted:]
        return _prefetch(record, observations)
    if target_bytes is None:
        return prefetch
    years = 1
    while len(orjson.dumps(prefetch)) < target_bytes and base:
        observations.extend(_older_copy(o, years) for o in base)
        prefetch = _prefetch(record, observations)
        years += 1
    while len(orjson.dumps(prefetch)) > target_bytes and observations:
        del observations[-max(1, len(observations) // 50) :]
        prefetch = _prefetch(record, observations)
    return prefetch


def patient_view(name: str, record: PatientRecord, **targets: int | None) -> HookBody:
    """A patient-view request for `record`, sized by `target_bytes` or `target_resources`."""
    prefetch = grow_observations(record, **targets)
    body = orjson.dumps(_envelope("patient-view", record, prefetch))
    return HookBody(name, "bedside-patient-view", body, _count(prefetch))


def order_sign(name: str, record: PatientRecord) -> HookBody:
    """An order-sign request: the patient's prefetch plus a draft oxycodone prescription."""
    prefetch = grow_observations(record)
    draft = {
        "resourceType": "MedicationRequest",
        "id": "bench-draft-oxycodone",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{record.patient_id}"},
        "medicationCodeableConcept": {"coding": [OXYCODONE], "text": OXYCODONE["display"]},
        "dosageInstruction": [
            {
                "text": "1 tablet every 6 hours as needed for pain",
                "timing": {"repeat": {"frequency": 1, "period": 6, "periodUnit": "h"}},
            }
        ],
        "dispenseRequest": {
            "quantity": {"value": 20, "unit": "tablet"},
            "expectedSupplyDuration": {"value": 5, "unit": "days"},
        },
    }
    drafts = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": draft}]}
    envelope = _envelope("order-sign", record, prefetch, {"draftOrders": drafts})
    return HookBody(name, "bedside-order-sign", orjson.dumps(envelope), _count(prefetch))


def standard_bodies() -> dict[str, HookBody]:
    """The three bodies of the headline comparison: pv-50k, pv-250k and order-sign."""
    large = load_patient(LARGE_PATIENT)
    return {
        "pv-50k": patient_view("pv-50k", load_patient(SMALL_PATIENT), target_bytes=50_000),
        "pv-250k": patient_view("pv-250k", large, target_bytes=250_000),
        "order-sign": order_sign("order-sign", load_patient(ORDER_PATIENT)),
    }


def sized_bodies(counts: tuple[int, ...] = (50, 1000)) -> dict[str, HookBody]:
    """Patient-view bodies holding exactly `counts` resources (the patient-size scaling)."""
    large = load_patient(LARGE_PATIENT)
    return {f"pv-{n}res": patient_view(f"pv-{n}res", large, target_resources=n) for n in counts}
