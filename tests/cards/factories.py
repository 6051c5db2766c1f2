"""Typed factories for the core's tests: content items (as dicts, models or files), small
terminologies, and FHIR resources as plain dicts."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from service.cards.model import ContentItem
from service.cards.terminology import Terminology, ValueSet

SNOMED_URL = "http://snomed.info/sct"
ICD10_URL = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC_URL = "http://loinc.org"
RXNORM_URL = "http://www.nlm.nih.gov/research/umls/rxnorm"

TSV_ROWS: dict[str, str] = {
    "3322": "diazepam",
    "563026": "diazepam",
    "197591": "diazepam",
    "5489": "hydrocodone",
    "161": "acetaminophen",
    "856980": "acetaminophen;hydrocodone",
    "6809": "metformin",
    "860975": "metformin",
    "11289": "warfarin",
    "855332": "warfarin",
    "36567": "simvastatin",
    "312961": "simvastatin",
    "7052": "morphine",
}
CLASSES: dict[str, list[str]] = {
    "benzodiazepine": ["diazepam"],
    "opioid-analgesic": ["hydrocodone", "morphine"],
    "statin": ["simvastatin"],
}


def item_data(**overrides: Any) -> dict[str, Any]:
    """A valid item's front matter as a dict; `overrides` replace top-level keys."""
    data: dict[str, Any] = {
        "id": "test-item",
        "version": "1",
        "type": "guideline",
        "title": "A test guideline",
        "summary": "A short test summary.",
        "objectives": ["Apply the test recommendation to the right patients."],
        "indicator": "info",
        "source": {
            "organization": "USPSTF",
            "title": "Test recommendation",
            "year": 2021,
            "url": "https://example.org/rec",
            "grade": "B",
            "license": "public-domain",
        },
        "authors": [
            {"name": "A. Author", "role": "author", "disclosure": "None."},
            {"name": "R. Reviewer", "role": "reviewer", "disclosure": "None."},
        ],
        "reviewed": date(2021, 1, 1),
        "expires": date(2030, 1, 1),
        "hooks": ["patient-view"],
        "applies": {"conditions": {"any_of": {"snomed": ["44054006"], "icd10": ["E11"]}}},
        "question": "What should be done?",
        "credit": {"format": "poc"},
    }
    data.update(copy.deepcopy(overrides))
    return data


def case_block(correct: tuple[bool, ...] = (True, False, False)) -> dict[str, Any]:
    """A valid 10-minute case of three questions; the options of the first are correct as
    given, the others have their first option right."""

    def options(flags: tuple[bool, ...]) -> list[dict[str, Any]]:
        return [
            {"id": chr(ord("a") + i), "text": f"Option {i}", "correct": ok, "explanation": "Why."}
            for i, ok in enumerate(flags)
        ]

    questions = [{"id": "q1", "stem": "What next?", "options": options(correct)}]
    questions += [
        {"id": f"q{n}", "stem": f"Question {n}?", "options": options((True, False, False))}
        for n in (2, 3)
    ]
    return {
        "minutes": 10,
        "vignette": "A 60-year-old synthetic patient.",
        "questions": questions,
        "passing_score": 0.66,
    }


def make_item(body: str = "Do the **thing**.", **overrides: Any) -> ContentItem:
    """A validated ContentItem (see `item_data`)."""
    return ContentItem.model_validate({**item_data(**overrides), "detail_markdown": body})


def make_terminology(valuesets: dict[str, dict[str, list[str]]] | None = None) -> Terminology:
    """The small test terminology (TSV_ROWS, CLASSES) plus optional value sets."""
    rxnorm = {code: frozenset(names.split(";")) for code, names in TSV_ROWS.items()}
    classes = {name: frozenset(members) for name, members in CLASSES.items()}
    sets = {
        name: ValueSet(name, name, MappingProxyType({k: frozenset(v) for k, v in codes.items()}))
        for name, codes in (valuesets or {}).items()
    }
    return Terminology(MappingProxyType(rxnorm), MappingProxyType(classes), MappingProxyType(sets))


def item_text(data: dict[str, Any], body: str = "Do the **thing**.\n") -> str:
    """An item file's text."""
    return f"---\n{yaml.safe_dump(data, sort_keys=False)}---\n{body}"


def write_library(
    root: Path,
    items: list[dict[str, Any]],
    *,
    valuesets: dict[str, dict[str, list[str]]] | None = None,
    terminology: bool = True,
) -> Path:
    """Write a library folder under `root` and return it."""
    for data in items:
        path = root / "items" / "area" / f"{data['id']}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(item_text(data), encoding="utf-8")
    (root / "items").mkdir(parents=True, exist_ok=True)
    if terminology:
        term = root / "terminology"
        term.mkdir(exist_ok=True)
        rows = ["rxcui\tingredients\tname"] + [f"{c}\t{n}\t" for c, n in TSV_ROWS.items()]
        (term / "rxnorm_ingredients.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        (term / "drug_classes.yaml").write_text(yaml.safe_dump(CLASSES), encoding="utf-8")
    for name, codes in (valuesets or {}).items():
        folder = root / "valuesets"
        folder.mkdir(exist_ok=True)
        text = yaml.safe_dump({"name": name, "title": name, "codes": codes})
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    return root


# FHIR resources as plain dicts


def concept(system: str, code: str, display: str = "") -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding], "text": display} if display else {"coding": [coding]}


def patient(birth: str = "1960-06-15", gender: str = "female") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "p1", "birthDate": birth, "gender": gender}


def condition(
    code: str = "44054006",
    system: str = SNOMED_URL,
    *,
    clinical: str | None = "active",
    verification: str | None = "confirmed",
    display: str = "",
) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Condition", "code": concept(system, code, display)}
    if clinical is not None:
        resource["clinicalStatus"] = {"coding": [{"code": clinical}]}
    if verification is not None:
        resource["verificationStatus"] = {"coding": [{"code": verification}]}
    return resource


def med_request(
    code: str = "563026", display: str = "Diazepam [Valium]", *, status: str = "active"
) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": concept(RXNORM_URL, code, display),
    }


def service_request(code: str, system: str = LOINC_URL, display: str = "") -> dict[str, Any]:
    """A draft ServiceRequest (a test or procedure being ordered)."""
    return {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "order",
        "code": concept(system, code, display),
    }


def observation(loinc: str, value: float, when: str, unit: str = "%") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": concept(LOINC_URL, loinc),
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": unit},
    }


def observation_panel(
    loinc: str, when: str, *components: tuple[str, float], unit: str = "mm[Hg]"
) -> dict[str, Any]:
    """A panel (blood pressure, say): no value of its own, one per (LOINC, value) component."""
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": concept(LOINC_URL, loinc),
        "effectiveDateTime": when,
        "component": [
            {"code": concept(LOINC_URL, code), "valueQuantity": {"value": value, "unit": unit}}
            for code, value in components
        ],
    }


def coded_observation(loinc: str, snomed: str, display: str, when: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": concept(LOINC_URL, loinc),
        "effectiveDateTime": when,
        "valueCodeableConcept": concept(SNOMED_URL, snomed, display),
    }


def procedure(code: str, when: str, system: str = SNOMED_URL) -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "status": "completed",
        "code": concept(system, code),
        "performedDateTime": when,
    }


def bundle(*resources: dict[str, Any], kind: str = "searchset") -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [{"fullUrl": f"urn:uuid:{i}", "resource": r} for i, r in enumerate(resources)],
    }
