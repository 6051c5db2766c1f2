"""The simulator's patients: Synthea transaction bundles read once, searchable in memory.

Bundles reference resources as `urn:uuid:...`; they are rewritten to `Type/id` so that the
simulator can answer FHIR reads and searches and build CDS Hooks prefetch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

PATIENTS_DIR = Path(__file__).parent / "patients"
Resource = dict[str, Any]


def _rewrite(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _rewrite(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, ids) for v in value]
    if isinstance(value, str) and value.startswith("urn:uuid:"):
        return ids.get(value, value)
    return value


class PatientStore:
    """Every resource of the bundled patients, by type and id."""

    def __init__(self, directory: Path = PATIENTS_DIR) -> None:
        self.resources: dict[str, Resource] = {}
        for path in sorted(directory.glob("*.json")):
            bundle = json.loads(path.read_text())
            entries = [e for e in bundle.get("entry", []) if "resource" in e]
            ids = {
                e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource']['id']}"
                for e in entries
                if "fullUrl" in e
            }
            for entry in entries:
                resource = _rewrite(entry["resource"], ids)
                self.resources[f"{resource['resourceType']}/{resource['id']}"] = resource

    def patients(self) -> list[Resource]:
        return [r for key, r in self.resources.items() if key.startswith("Patient/")]

    def practitioners(self) -> list[Resource]:
        return [r for key, r in self.resources.items() if key.startswith("Practitioner/")]

    def read(self, resource_type: str, resource_id: str) -> Resource | None:
        return self.resources.get(f"{resource_type}/{resource_id}")

    def search(self, resource_type: str, params: dict[str, str]) -> list[Resource]:
        """`patient`, `status` and `category` (comma = or) filters; others ignored."""
        patient = params.get("patient", "").removeprefix("Patient/")
        found = []
        for key, resource in self.resources.items():
            if not key.startswith(resource_type + "/"):
                continue
            if patient and _subject(resource) != f"Patient/{patient}":
                continue
            if "status" in params and resource.get("status") not in params["status"].split(","):
                continue
            if "category" in params and not _has_category(resource, params["category"]):
                continue
            found.append(resource)
        return found

    def query(self, relative_url: str) -> Resource | None:
        """Answer `Type/id` or `Type?params` (a prefetch template once filled in)."""
        parts = urlsplit(relative_url)
        path = parts.path.strip("/")
        if "/" in path:
            resource_type, resource_id = path.split("/", 1)
            return self.read(resource_type, resource_id)
        return searchset(self.search(path, dict(parse_qsl(parts.query))))


def _subject(resource: Resource) -> str | None:
    for field in ("subject", "patient"):
        reference = resource.get(field, {})
        if isinstance(reference, dict) and isinstance(reference.get("reference"), str):
            return str(reference["reference"])
    return None


def _has_category(resource: Resource, wanted: str) -> bool:
    codes = {
        coding.get("code")
        for category in resource.get("category", [])
        for coding in category.get("coding", [])
    }
    return bool(codes & set(wanted.split(",")))


def searchset(resources: list[Resource]) -> Resource:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r} for r in resources],
    }


def patient_name(patient: Resource) -> str:
    names = patient.get("name") or [{}]
    given = " ".join(names[0].get("given", []))
    return f"{given} {names[0].get('family', '')}".strip() or str(patient.get("id"))
