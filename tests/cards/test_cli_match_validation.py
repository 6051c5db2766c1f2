"""Issue 18: `bedside match` validates the file it is handed as FHIR (every problem with its
path, exit 1) instead of answering "0 applicable items", and refuses an unknown `--explain`
item; the hook path never loads the FHIR models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from service.cards.fhir_validation import fhir_problems
from service.cli import main
from tests.cards.factories import bundle, condition, item_data, med_request, patient, write_library
from tests.interpreter import fresh_interpreter


@pytest.fixture
def library_dir(tmp_path: Path) -> Path:
    return write_library(tmp_path / "lib", [item_data()])


def _match(tmp_path: Path, library_dir: Path, body: object, *extra: str) -> int:
    file = tmp_path / "input.json"
    file.write_text(json.dumps(body), encoding="utf-8")
    arguments = ["match", str(file), "--at", "2021-04-01", "--content-dir", str(library_dir)]
    return main([*arguments, *extra])


def _malformed() -> dict[str, Any]:
    broken = condition()
    broken["code"] = "diabetes"
    return bundle(patient(birth="not-a-date", gender="banana"), condition(), broken)


def test_a_malformed_bundle_is_refused_with_each_path(
    tmp_path: Path, library_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _match(tmp_path, library_dir, _malformed()) == 1
    captured = capsys.readouterr()
    assert "applicable items" not in captured.out
    errors = [line for line in captured.err.splitlines() if not line.startswith("warning:")]
    assert errors == [
        "Bundle.entry[0].resource(Patient).birthDate: not a date",
        "Bundle.entry[0].resource(Patient).gender: 'banana' is not one of "
        "male, female, other, unknown",
        "Bundle.entry[2].resource(Condition).code: expected an object, not a string",
        f"{tmp_path / 'input.json'}: 3 FHIR errors: nothing matched",
    ]


def test_a_lone_patient_is_named_by_its_type(
    tmp_path: Path, library_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _match(tmp_path, library_dir, patient(birth="not-a-date")) == 1
    assert "Patient.birthDate: not a date" in capsys.readouterr().err.splitlines()


def test_a_hook_request_is_validated_by_prefetch_key_and_draft_orders(
    tmp_path: Path, library_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    order = med_request("7052", "Morphine", status="draft")
    order["intent"] = "wish"
    body = {
        "hook": "order-sign",
        "hookInstance": "x",
        "context": {"draftOrders": bundle(order)},
        "prefetch": {"patient": patient(gender="banana"), "conditions": None},
    }
    assert _match(tmp_path, library_dir, body) == 1
    err = capsys.readouterr().err
    assert "context.draftOrders(Bundle).entry[0].resource(MedicationRequest).intent: 'wish'" in err
    assert "prefetch.patient(Patient).gender: 'banana' is not one of" in err


def test_an_absent_element_bedside_reads_is_an_error_one_it_never_reads_a_warning() -> None:
    observation = {"resourceType": "Observation", "status": "final"}  # no code: never matched
    problems = fhir_problems(bundle(observation, condition()))
    assert [(str(p), p.warning) for p in problems] == [
        ("Bundle.entry[0].resource(Observation).code: required element missing", False),
        (
            "Bundle.entry[1].resource(Condition).subject: required element missing "
            "(not read by Bedside)",
            True,
        ),
    ]


def test_unknown_and_untyped_resources_are_named() -> None:
    body = bundle({"resourceType": "Banana"}, {"id": "x"})
    assert [str(p) for p in fhir_problems(body)] == [
        "Bundle.entry[0].resource(Banana).resourceType: not a FHIR R4 resource type",
        "Bundle.entry[1].resource: no resourceType: not a FHIR resource",
    ]


def test_a_valid_bundle_still_matches(
    tmp_path: Path, library_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _match(tmp_path, library_dir, bundle(patient(), condition())) == 0
    captured = capsys.readouterr()
    assert "1 applicable items" in captured.out
    assert "subject: required element missing (not read by Bedside)" in captured.err


def test_explain_of_an_unknown_item_fails(
    tmp_path: Path, library_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _match(tmp_path, library_dir, bundle(patient()), "--explain", "no-such-item")
    assert code == 2
    assert capsys.readouterr().err.strip() == "no item no-such-item in the library"


def test_the_hook_path_never_loads_the_fhir_models(tmp_path: Path) -> None:
    script = (
        "import sys\nimport service.asgi\nimport service.cards.cli\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'fhir'))"
    )
    assert fresh_interpreter(script, {"BEDSIDE_DATA_DIR": str(tmp_path)}) == "[]"
