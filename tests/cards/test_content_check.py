"""`bedside content check`: each error class is caught, with file:line."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from service.cards.issues import ContentError
from service.cards.library import load_library
from service.cli import main
from tests.cards.factories import case_block, item_data, item_text, write_library


def run_check(
    root: Path, capsys: pytest.CaptureFixture[str], *items: dict[str, Any], **kwargs: Any
) -> tuple[int, str]:
    write_library(root, list(items), **kwargs)
    code = main(["content", "check", str(root), "--today", "2026-01-01"])
    captured = capsys.readouterr()
    return code, captured.err + captured.out


def conditions(**codes: list[str]) -> dict[str, Any]:
    return {"conditions": {"any_of": codes}}


def test_valid_library_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_check(tmp_path, capsys, item_data())
    assert code == 0, out
    assert "0 errors" in out


def test_missing_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = item_data()
    del data["question"]
    code, out = run_check(tmp_path, capsys, data)
    assert code == 1
    assert "test-item.md:2: question: missing required field" in out


def test_unknown_field_with_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = item_data(applies={"conditions": {"any_of": {"snomed": ["44054006"]}}, "agee": 3})
    code, out = run_check(tmp_path, capsys, data)
    assert code == 1
    lines = item_text(data).splitlines()
    expected = next(n for n, line in enumerate(lines, start=1) if "agee" in line)
    assert f"test-item.md:{expected}: applies.agee: unknown field" in out


def test_wrong_type(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_check(tmp_path, capsys, item_data(hooks="patient-view"))
    assert code == 1
    assert "hooks:" in out


def test_summary_too_long(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_check(tmp_path, capsys, item_data(summary="x" * 140))
    assert code == 1
    assert "summary must be under 140 characters (has 140)" in out


def test_duplicate_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_library(tmp_path, [item_data()])
    other = tmp_path / "items" / "other" / "test-item.md"
    other.parent.mkdir()
    other.write_text(item_text(item_data()), encoding="utf-8")
    code, out = run_check(tmp_path, capsys)
    assert code == 1
    assert "duplicate id 'test-item'" in out


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        ({"snomed": ["44054007"]}, "invalid SNOMED CT (Verhoeff) check digit"),
        ({"snomed": ["12ab"]}, "is not a SNOMED CT identifier"),
        ({"icd10": ["E1"]}, "is not an ICD-10-CM code"),
    ],
)
def test_malformed_condition_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], codes: dict[str, list[str]], message: str
) -> None:
    code, out = run_check(tmp_path, capsys, item_data(applies=conditions(**codes)))
    assert code == 1
    assert message in out


def test_malformed_loinc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    applies = {"labs": [{"loinc": ["4548-5"], "op": ">", "value": 9}]}
    code, out = run_check(tmp_path, capsys, item_data(applies=applies))
    assert code == 1
    assert "applies.labs.0.loinc: '4548-5' has an invalid LOINC check digit" in out


def test_malformed_rxnorm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    applies = {"medications": {"any_of": {"rxnorm": ["RX12"]}}}
    code, out = run_check(tmp_path, capsys, item_data(applies=applies))
    assert code == 1
    assert "is not an RxNorm code" in out


@pytest.mark.parametrize("cpt", ["45378", "3044F", "0042T"])
def test_cpt_shaped_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str], cpt: str) -> None:
    applies = {"procedures": {"none_of": {"snomed": [cpt]}}}
    code, out = run_check(tmp_path, capsys, item_data(applies=applies))
    assert code == 1
    assert "looks like a CPT code" in out


def test_cpt_in_valueset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = item_data(applies={"procedures": {"any_of": {"valuesets": ["visits"]}}})
    code, out = run_check(tmp_path, capsys, data, valuesets={"visits": {"snomed": ["99213"]}})
    assert code == 1
    assert "visits.yaml:1: codes.snomed: '99213' looks like a CPT code" in out


def test_unknown_valueset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_check(tmp_path, capsys, item_data(applies=conditions(valuesets=["nope"])))
    assert code == 1
    assert "unknown value set 'nope'" in out


def test_unknown_class(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    applies = {"medications": {"any_of": {"classes": ["unicorns"]}}}
    code, out = run_check(tmp_path, capsys, item_data(applies=applies))
    assert code == 1
    assert "unknown drug class 'unicorns'" in out


def test_unknown_ingredient(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    applies = {"orders": {"any_of": {"ingredients": ["unobtainium"]}}}
    code, out = run_check(tmp_path, capsys, item_data(applies=applies))
    assert code == 1
    assert "unknown ingredient 'unobtainium'" in out


def test_expires_before_reviewed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = item_data(reviewed=date(2026, 6, 1), expires=date(2026, 5, 1))
    code, out = run_check(tmp_path, capsys, data)
    assert code == 1
    assert "expires (2026-05-01) must be after reviewed (2026-06-01)" in out


@pytest.mark.parametrize("correct", [(False, False, False), (True, True, False)])
def test_case_needs_exactly_one_correct(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], correct: tuple[bool, ...]
) -> None:
    data = item_data(type="case", case=case_block(correct), credit={"format": "enduring"})
    code, out = run_check(tmp_path, capsys, data)
    assert code == 1
    assert "exactly one is required" in out


def test_case_type_requires_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_check(tmp_path, capsys, item_data(type="case"))
    assert code == 1
    assert "type case requires a `case` block" in out


def test_authors_need_reviewer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    authors = [{"name": "A", "role": "author", "disclosure": "None."}]
    code, out = run_check(tmp_path, capsys, item_data(authors=authors))
    assert code == 1
    assert "at least one author and one reviewer" in out


def test_invalid_yaml_and_missing_front_matter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_library(tmp_path, [])
    (tmp_path / "items" / "bad.md").write_text("---\nid: [unclosed\n---\nbody\n")
    (tmp_path / "items" / "plain.md").write_text("just text\n")
    code, out = run_check(tmp_path, capsys)
    assert code == 1
    assert "bad.md:" in out
    assert "invalid YAML" in out
    assert "plain.md:1: expected YAML front matter" in out


def test_expiring_soon_is_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = item_data(reviewed=date(2025, 1, 1), expires=date(2026, 2, 1))
    code, out = run_check(tmp_path, capsys, data)
    assert code == 0
    assert "within 60 days (warning)" in out


def test_load_library_raises_with_file_lines(tmp_path: Path) -> None:
    write_library(tmp_path, [item_data(summary="y" * 150)])
    with pytest.raises(ContentError) as caught:
        load_library(tmp_path)
    assert "test-item.md:" in str(caught.value)
    assert caught.value.issues[0].line > 1


def test_load_library_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(ContentError, match="not found"):
        load_library(tmp_path / "absent")


def test_custom_dir_without_terminology_uses_bundled(tmp_path: Path) -> None:
    applies = {"medications": {"any_of": {"classes": ["benzodiazepine"]}}}
    write_library(tmp_path, [item_data(applies=applies)], terminology=False)
    library = load_library(tmp_path)
    assert len(library) == 1
    assert "diazepam" in library.terminology.classes["benzodiazepine"]


def test_objectives_are_required(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = item_data()
    del data["objectives"]
    code, out = run_check(tmp_path, capsys, data)
    assert code == 1
    assert "at least one learning objective is required" in out


def _case(**changes: Any) -> dict[str, Any]:
    block = case_block()
    block.update(changes)
    return item_data(type="case", case=block, credit={"format": "enduring"})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        # a case teaches through at least three questions...
        (_case(questions=case_block()["questions"][:2]), "at least 3 questions (has 2)"),
        # ...each with a right answer and at least two plausible wrong ones
        (
            _case(
                questions=[
                    case_block((True, False))["questions"][0],
                    *case_block()["questions"][1:],
                ]
            ),
            "case question 'q1' needs at least 3 options",
        ),
        # a pass mark that needs every answer right is 100% in disguise
        (_case(passing_score=0.7), "needs all 3 answers right: set it at most 0.67"),
        (_case(passing_score=1.0), "needs all 3 answers right"),
        # credit follows the time a case takes
        (
            {**_case(), "case": {k: v for k, v in case_block().items() if k != "minutes"}},
            "case.minutes is required",
        ),
    ],
)
def test_case_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: dict[str, Any], message: str
) -> None:
    code, out = run_check(tmp_path, capsys, data)
    assert code == 1
    assert message in out


def test_a_well_shaped_case_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_check(tmp_path, capsys, _case(passing_score=0.66))
    assert code == 0, out


@pytest.mark.parametrize("labels", [["CDC (2026)"], ["CDC (2026)", "CDC (2026)"]])
def test_perspectives_put_at_least_two_authorities_side_by_side(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], labels: list[str]
) -> None:
    source = item_data()["source"]
    views = [{"label": label, "position": "A view.", "source": source} for label in labels]
    code, out = run_check(tmp_path, capsys, item_data(perspectives=views))
    assert code == 1
    assert "perspectives: at least two, each with its own label" in out
