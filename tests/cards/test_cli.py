"""`bedside match`, `content stats` and `content synth`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.cli import main
from tests.cards.factories import (
    bundle,
    condition,
    item_data,
    med_request,
    patient,
    write_library,
)


@pytest.fixture
def library_dir(tmp_path: Path) -> Path:
    benzo = item_data(
        id="benzo-opioid",
        hooks=["order-sign"],
        applies={
            "orders": {"any_of": {"classes": ["opioid-analgesic"]}},
            "medications": {"any_of": {"classes": ["benzodiazepine"]}},
        },
    )
    return write_library(tmp_path / "lib", [item_data(), benzo])


def write_json(path: Path, body: object) -> Path:
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def test_match_bundle_json(
    tmp_path: Path, library_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write_json(tmp_path / "p.json", bundle(patient(), condition(), kind="transaction"))
    code = main(
        [
            "match",
            str(file),
            "--hook",
            "patient-view",
            "--at",
            "2021-04-01",
            "--json",
            "--content-dir",
            str(library_dir),
        ]
    )
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [
        {
            "id": "test-item",
            "title": "A test guideline",
            "type": "guideline",
            "reasons": ["condition SNOMED 44054006 in any_of"],
        }
    ]


def test_match_hook_request_with_draft_orders(
    tmp_path: Path, library_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {
        "hook": "order-sign",
        "hookInstance": "x",
        "context": {"draftOrders": bundle(med_request("7052", "Morphine", status="draft"))},
        "prefetch": {"patient": patient(), "meds": bundle(med_request("563026"))},
    }
    file = write_json(tmp_path / "req.json", body)
    code = main(["match", str(file), "--at", "2021-04-01", "--content-dir", str(library_dir)])
    out = capsys.readouterr().out
    assert code == 0
    assert "benzo-opioid: A test guideline" in out
    assert "  - draft order morphine (Morphine) [class opioid-analgesic] in any_of" in out


def test_match_explain(
    tmp_path: Path, library_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write_json(tmp_path / "p.json", bundle(patient()))
    code = main(
        [
            "match",
            str(file),
            "--hook",
            "patient-view",
            "--at",
            "2021-04-01",
            "--json",
            "--explain",
            "test-item",
            "--content-dir",
            str(library_dir),
        ]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["applies"] is False
    assert "no active condition in any_of" in result["reasons_against"]


def test_match_unreadable_file(
    tmp_path: Path, library_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.json").write_text("{nope")
    code = main(["match", str(tmp_path / "bad.json"), "--content-dir", str(library_dir)])
    assert code == 2
    assert "cannot read" in capsys.readouterr().err


def test_stats(library_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["content", "stats", str(library_dir)]) == 0
    out = capsys.readouterr().out
    assert "items: 2" in out
    assert "hook: order-sign 1, patient-view 1" in out


def test_synth_passes_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "synth"
    assert main(["content", "synth", "--count", "60", "--out", str(out_dir)]) == 0
    assert main(["content", "check", str(out_dir)]) == 0
    assert "60 valid items: 0 errors" in capsys.readouterr().out
