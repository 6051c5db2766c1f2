"""The credit-rules file: bundled defaults, validation with useful messages."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from service.credit.rules import DEFAULT_RULES_FILE, Cap, RulesError, load_rules


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def _defaults() -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load(DEFAULT_RULES_FILE.read_text())
    return data


def test_bundled_defaults_follow_the_standards() -> None:
    rules = load_rules()
    ama = rules.credit_type("ama-pra-1")
    assert ama.amounts == {"poc": 0.5, "enduring": 0.25}
    assert ama.per_hour == {"enduring": 1.0}
    assert "Internet point-of-care activity" in ama.designation_for("poc", 0.5)
    assert "enduring material for a maximum of 0.75 AMA PRA" in ama.designation_for(
        "enduring", 0.75
    )
    assert ama.professions == ["physician-md", "physician-do"]
    assert "AMA PRA Category 1 Credit™" in ama.label
    assert rules.claim_window_days == 730
    assert next((c.credit_type, c.max) for c in rules.caps) == ("ama-pra-1", 20)
    abp, abim = rules.board("abp"), rules.board("ABIM")
    assert abp is not None
    assert abp.once_only
    assert abim is not None
    assert not abim.once_only
    assert rules.activities.for_poc(2026).id == "BEDSIDE-POC-2026"
    assert rules.activities.for_poc(2031).id == "BEDSIDE-POC-2031"
    assert "patient" in rules.statements.patient_data_reminder


def test_explicit_file_is_loaded(tmp_path: Path) -> None:
    data = _defaults()
    data["claim_window_days"] = 180
    assert load_rules(_write(tmp_path, data)).claim_window_days == 180


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("provider"), "provider"),
        (lambda d: d.update(claim_window_days=0), "claim_window_days"),
        (lambda d: d["credit_types"][0].update(professions=["surgeon"]), "unknown professions"),
        (lambda d: d["credit_types"][0].update(amounts={"poc": -1}), "positive"),
        (lambda d: d["caps"].append({"credit_type": "nope", "max": 1}), "unknown credit types"),
        (lambda d: d.update(surprise=True), "surprise"),
        (lambda d: d["credit_types"].append(dict(d["credit_types"][0])), "unique"),
        (lambda d: d["credit_types"][0]["designation"].pop("enduring"), "no designation"),
        (lambda d: d["credit_types"][0].update(amounts={"poc": 1}), "per_hour formats"),
        (lambda d: d.update(planners=[]), "planners"),
    ],
)
def test_invalid_files_are_refused_with_the_reason(
    tmp_path: Path, change: object, message: str
) -> None:
    data = _defaults()
    change(data)  # type: ignore[operator]
    with pytest.raises(RulesError, match=message):
        load_rules(_write(tmp_path, data))


def test_bundled_values_are_marked_as_demo_values(tmp_path: Path) -> None:
    placeholders = load_rules().placeholders()
    for field in ("provider.name", "provider.address", "provider.accme_id", "planners[0].name"):
        assert field in placeholders
    data = _defaults()
    data["provider"] = {
        "name": "Lakeside Medical Education Institute",
        "address": "200 Lake Street, Madison, WI 53703, USA",
        "accme_id": "4001234",
    }
    own = load_rules(_write(tmp_path, data)).placeholders()
    assert not any(field.startswith("provider.") for field in own)
    assert "statements.accreditation" in own  # still the demo text
    # the marker is a word: "DEMOGRAPHIC" is not a placeholder
    data["statements"]["accreditation"] = "Uses DEMOGRAPHIC data only in aggregate."
    assert "statements.accreditation" not in load_rules(_write(tmp_path, data)).placeholders()


def test_unreadable_and_non_mapping_files(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(tmp_path / "absent.yaml")
    with pytest.raises(RulesError, match="mapping"):
        load_rules(_write(tmp_path, ["a", "list"]))
    bad = tmp_path / "bad.yaml"
    bad.write_text("provider: [unclosed")
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(bad)


@pytest.mark.parametrize(
    ("years", "day", "start", "end"),
    [
        (1, date(2026, 6, 1), 2026, 2027),
        (3, date(2026, 6, 1), 2025, 2028),
        (3, date(2027, 12, 31), 2025, 2028),
        (3, date(2028, 1, 1), 2028, 2031),
    ],
)
def test_cap_periods(years: int, day: date, start: int, end: int) -> None:
    period = "calendar-year" if years == 1 else "calendar-years"
    cap = Cap(credit_type="x", max=1, period=period, years=years)
    assert cap.period_of(day) == (date(start, 1, 1), date(end, 1, 1))
