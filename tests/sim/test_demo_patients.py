"""Issue 18: the simulator's bundled patients are valid FHIR (what `bedside match` checks), as
files and as the simulator serves them (references rewritten to `Type/id`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ehr_simulator.data import PATIENTS_DIR, PatientStore
from service.cards.fhir_validation import fhir_problems

BUNDLES = sorted(PATIENTS_DIR.glob("*.json"))


def test_there_are_bundled_patients() -> None:
    assert len(BUNDLES) >= 3


@pytest.mark.parametrize("path", BUNDLES, ids=lambda path: path.stem.split("_")[0])
def test_each_bundled_patient_validates(path: Path) -> None:
    assert [str(problem) for problem in fhir_problems(json.loads(path.read_text()))] == []


def test_every_served_resource_validates() -> None:
    store = PatientStore()
    problems = [
        f"{key}: {problem}"
        for key, resource in store.resources.items()
        for problem in fhir_problems(resource)
    ]
    assert problems == []
