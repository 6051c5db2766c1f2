"""What `content check` refuses in a practice measure (docs/content-format.md, "Practice
measures"), and `bedside match --measures`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.cards.library import BUNDLED_DIR
from service.cards.loader import read_library
from service.cli import main
from tests.cards.factories import item_data, patient, write_library
from tests.cards.measure_factories import (
    COMBINATION_MEASURE,
    MAMMOGRAM,
    MEASURE_POLICY,
    MORPHINE,
    NALOXONE_MEASURE,
    SCREENING_MEASURE,
    measure_items,
)

AT = date(2026, 12, 1)

# ---------------------------------------------------------------- content check


def _messages(root: Path, *items: dict[str, Any], policy: bool = False) -> list[str]:
    write_library(root, list(items), valuesets={"palliative": {"icd10": ["Z51.5"]}})
    if policy:
        policy_data = MEASURE_POLICY.model_dump(mode="json", exclude_none=True)
        for name, key in (("facts.yaml", "facts"), ("policy.yaml", "kinds")):
            (root / name).write_text(yaml.safe_dump({key: policy_data[key]}), encoding="utf-8")
    return [issue.message for issue in read_library(root, today=AT).errors]


def _with(measure: dict[str, Any], **item: Any) -> dict[str, Any]:
    return item_data(hooks=["patient-view", "order-select", "order-sign"], measure=measure, **item)


def test_a_valid_measure_checks_clean(tmp_path: Path) -> None:
    assert _messages(tmp_path, _with(NALOXONE_MEASURE), policy=False) == []


def test_a_bundled_library_of_at_least_14_measures_checks_clean() -> None:
    loaded = read_library(BUNDLED_DIR, today=date(2026, 12, 6))
    assert loaded.errors == ()
    assert sum(item.measure is not None for item in loaded.items) >= 14


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"discordant": {"sex": "male"}}, "exactly one of `concordant`"),
        ({"concordant": None}, "exactly one of `concordant`"),
        ({"hooks": ["order-sign", "order-sign"]}, "measure.hooks repeats a hook"),
        ({"hooks": ["order-select", "order-sign"]}, "each order counts twice"),
        ({"opportunity": {}}, "measure.opportunity is empty"),
        ({"concordant": {}}, "measure.concordant is empty"),
        (
            {"opportunity": {"orders": {"any_of": {"valuesets": ["no-such-set"]}}}},
            "unknown value set 'no-such-set'",
        ),
        (
            {"opportunity": {"orders": {"any_of": {"valuesets": ["no-such-set"]}}}},
            "no call is ever an opportunity",
        ),
        (
            {"concordant": {"orders": {"any_of": {"classes": ["no-such-class"]}}}},
            "the action is never seen",
        ),
        (
            {"concordant": {"service_orders": {"any_of": {"snomed": ["12345"]}}}},
            "measure.concordant.service_orders.any_of.snomed",
        ),
        (
            {"hooks": ["patient-view"]},
            "needs a draft order, which a patient-view call never carries",
        ),
        (
            {
                "opportunity": {
                    "orders": {
                        "any_of": {"classes": ["opioid-analgesic"]},
                        "none_of": {"rxnorm": ["1725059"]},
                    }
                }
            },
            "rules out the concordant action",
        ),
        (
            {"concordant": {"orders": {"any_of": {"classes": ["opioid-analgesic"]}}}},
            "already requires the concordant action",
        ),
    ],
)
def test_content_check_refuses_a_measure_that_cannot_count(
    tmp_path: Path, change: dict[str, Any], expected: str
) -> None:
    measure = {
        key: value for key, value in {**NALOXONE_MEASURE, **change}.items() if value is not None
    }
    messages = _messages(tmp_path, _with(measure))
    assert any(expected in message for message in messages), messages


def test_a_measure_may_observe_a_hook_its_card_does_not_show_on(tmp_path: Path) -> None:
    """A screening card shows when the chart opens; its measure also watches the orders signed
    later that day (a card at every signing would be noise)."""
    messages = _messages(tmp_path, item_data(hooks=["patient-view"], measure=NALOXONE_MEASURE))
    assert messages == []


def test_an_inverse_measure_that_every_opportunity_fails_is_refused(tmp_path: Path) -> None:
    measure = {
        **COMBINATION_MEASURE,
        "discordant": {"orders": {"any_of": {"classes": ["opioid-analgesic", "benzodiazepine"]}}},
    }
    messages = _messages(tmp_path, _with(measure))
    assert any("already requires the discordant action: none is concordant" in m for m in messages)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"hooks": ["encounter-start"]}, "measure.hooks.0"),
        ({"title": "x" * 101}, "measure.title"),
        ({"numerator": {"sex": "female"}}, "measure.numerator"),
        ({"opportunity": {"sexx": "female"}}, "measure.opportunity.sexx"),
    ],
)
def test_the_measure_schema_refuses_unknown_and_malformed_fields(
    tmp_path: Path, change: dict[str, Any], expected: str
) -> None:
    messages = _messages(tmp_path, _with({**NALOXONE_MEASURE, **change}))
    assert any(expected in message for message in messages), messages


def test_the_policy_checks_a_measures_facts(tmp_path: Path) -> None:
    unknown = {**SCREENING_MEASURE, "opportunity": {"facts": {"any_of": ["no-such-fact"]}}}
    excluded = {**SCREENING_MEASURE, "opportunity": {"facts": {"any_of": ["palliative-care"]}}}
    messages = _messages(
        tmp_path,
        _with(unknown, id="unknown", kinds=["screening"]),
        _with(excluded, id="excluded", kinds=["screening"]),
        policy=True,
    )
    assert any("unknown fact 'no-such-fact'" in message for message in messages)
    assert any(
        "measure.opportunity.facts names 'palliative-care'" in m and "no call is ever" in m
        for m in messages
    ), messages


def test_a_measure_error_is_placed_on_its_line(tmp_path: Path) -> None:
    repeated = {**NALOXONE_MEASURE, "hooks": ["order-sign", "order-sign"]}
    write_library(tmp_path, [item_data(measure=repeated)])
    text = (tmp_path / "items" / "area" / "test-item.md").read_text(encoding="utf-8")
    hooks_line = 1 + text.split("\n").index("  hooks:")
    issues = [i for i in read_library(tmp_path).errors if "repeats a hook" in i.message]
    assert [issue.line for issue in issues] == [hooks_line]


# ---------------------------------------------------------------- bedside match --measures


def test_bedside_match_measures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    library = write_library(tmp_path / "lib", measure_items())
    for name, data in (("facts.yaml", "facts"), ("policy.yaml", "kinds")):
        dumped = MEASURE_POLICY.model_dump(mode="json", exclude_none=True)
        (library / name).write_text(yaml.safe_dump({data: dumped[data]}), encoding="utf-8")
    (library / "valuesets").mkdir(exist_ok=True)
    (library / "valuesets" / "palliative.yaml").write_text(
        yaml.safe_dump(
            {"name": "palliative", "title": "Palliative", "codes": {"icd10": ["Z51.5"]}}
        ),
        encoding="utf-8",
    )
    body = {
        "hook": "order-sign",
        "hookInstance": "d1c3b2a0-0000-4000-8000-000000000001",
        "context": {
            "userId": "Practitioner/1",
            "patientId": "p1",
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": MORPHINE}, {"resource": MAMMOGRAM}],
            },
        },
        "prefetch": {"patient": patient("1966-01-01")},
    }
    file = tmp_path / "call.json"
    file.write_text(json.dumps(body), encoding="utf-8")
    args = ["match", str(file), "--at", "2026-12-01", "--measures", "--content-dir", str(library)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert (
        "naloxone: opportunity, not concordant (Naloxone offered with an opioid prescription)"
        in text
    )
    assert "mammography: opportunity, concordant" in text
    assert "3 of 3 practice measures count this call (order-sign, at 2026-12-01)" in text
    assert main([*args, "--json"]) == 0
    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["combination"]["concordant"] is True
    assert rows["naloxone"]["opportunity"] is True
