"""A case card says why it is relevant to this patient (issue 16): a vignette about a
42-year-old woman on a 58-year-old man's chart must not read as a wrong-patient card.

The line comes from the match's reasons, which are the criteria's own words: every case here
runs the real matcher, so a change to a criterion's reason format fails here."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from service.cards.facts import facts_from_resources
from service.cards.library import ContentLibrary
from service.cards.matching import Match, match
from service.cards.model import Policy
from service.cards.render import relevance, render_card
from tests.cards.factories import (
    ICD10_URL,
    SNOMED_URL,
    case_block,
    coded_observation,
    condition,
    make_item,
    make_terminology,
    med_request,
    observation,
    patient,
    procedure,
)

AT = date(2021, 4, 1)
HYPERLIPIDEMIA = condition("55822004", SNOMED_URL, display="Hyperlipidemia")
POLICY = Policy.model_validate(
    {
        "facts": {
            "type-2-diabetes": {
                "title": "Type 2 diabetes",
                "any": [{"conditions": {"any_of": {"snomed": ["44054006"]}}}],
            }
        }
    }
)


def _match(applies: dict[str, Any], *resources: dict[str, Any]) -> Match:
    item = make_item(
        id="case-x", type="case", case=case_block(), credit={"format": "enduring"}, applies=applies
    )
    library = ContentLibrary([item], make_terminology(), policy=POLICY)
    facts = facts_from_resources(list(resources), at=AT)
    (found,) = match(library, facts, hook="patient-view", at=AT)
    return found


MAN_58 = patient("1962-05-01", "male")
CASES = {
    "condition by SNOMED, semantic tag dropped": (
        {"conditions": {"any_of": {"snomed": ["44054006"]}}},
        [MAN_58, condition(display="Diabetes mellitus type 2 (disorder)")],
        "Diabetes mellitus type 2",
    ),
    "condition by ICD-10 prefix": (
        {"conditions": {"any_of": {"icd10": ["E11"]}}},
        [MAN_58, condition("E11.9", ICD10_URL, display="Type 2 diabetes without complications")],
        "Type 2 diabetes without complications",
    ),
    "past condition": (
        {"conditions": {"any_of": {"snomed": ["22298006"]}, "ever": True}},
        [MAN_58, condition("22298006", clinical="resolved", display="Myocardial infarction")],
        "Myocardial infarction (history)",
    ),
    "medication by class: the ingredient": (
        {"medications": {"any_of": {"classes": ["benzodiazepine"]}}},
        [MAN_58, med_request()],
        "diazepam",
    ),
    "named fact: its condition": (
        {"facts": {"any_of": ["type-2-diabetes"]}},
        [MAN_58, condition(display="Type 2 diabetes")],
        "Type 2 diabetes",
    ),
    "two findings at most, age left out": (
        {
            "age": {"min": 40, "max": 75},
            "conditions": {"any_of": {"snomed": ["55822004"]}},
            "medications": {"any_of": {"ingredients": ["diazepam"]}},
            "facts": {"any_of": ["type-2-diabetes"]},
        },
        [MAN_58, HYPERLIPIDEMIA, med_request(), condition(display="Type 2 diabetes")],
        "Hyperlipidemia, diazepam",
    ),
    "lab value": (
        {"labs": [{"loinc": ["39156-5"], "op": ">=", "value": 30}]},
        [MAN_58, observation("39156-5", 31.5, "2021-01-10", unit="kg/m2")],
        "result 31.5 kg/m2 (>= 30)",
    ),
    "smoking": (
        {"smoking": ["current"]},
        [MAN_58, coded_observation("72166-2", "449868002", "Current every day smoker", "2021-01")],
        "current smoker",
    ),
    "demographics when nothing clinical triggered": (
        {"sex": "female", "age": {"min": 40, "max": 49}},
        [patient("1976-02-01", "female")],
        "female, age 40-49",
    ),
    "open age band": ({"age": {"min": 65}}, [patient("1950-01-01")], "age 65+"),
    "a procedure code without a display says nothing: demographics": (
        {"age": {"min": 50}, "procedures": {"any_of": {"snomed": ["73761001"]}}},
        [MAN_58, procedure("73761001", "2020-01-01")],
        "age 50+",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_the_line_names_what_triggered(case: str) -> None:
    applies, resources, expected = CASES[case]
    assert relevance(_match(applies, *resources).reasons) == (
        f"**Relevant to this patient:** {expected}"
    )


def test_a_record_display_cannot_inject_markdown() -> None:
    hostile = condition(display="[click](javascript:alert(1)) *now* <b>x</b>")
    line = relevance(_match({"conditions": {"any_of": {"snomed": ["44054006"]}}}, hostile).reasons)
    assert "\\[click\\](javascript:alert(1))" in line
    assert "\\*now\\*" in line
    assert "\\<b>" in line


def test_a_long_display_is_shortened() -> None:
    long = condition(display="Disorder " * 20)
    line = relevance(_match({"conditions": {"any_of": {"snomed": ["44054006"]}}}, long).reasons)
    assert len(line) < 100
    assert line.endswith("…")


def test_no_line_when_the_reasons_name_nothing() -> None:
    assert relevance(["policy: screening items exclude [hospice]; none holds"]) == ""


def _card(found: Match) -> dict[str, Any]:
    return render_card(
        found.item,
        card_uuid="u-1",
        launch_url="https://b/app/launch",
        app_context="signed",
        credit_label="earn 0.5 CME",
        reasons=found.reasons,
    )


def test_a_case_card_says_first_why_it_is_relevant() -> None:
    """The vignette is about a 60-year-old woman; the chart is a 58-year-old man's."""
    found = _match(
        {"conditions": {"any_of": {"snomed": ["55822004"]}}, "age": {"min": 40, "max": 75}},
        MAN_58,
        HYPERLIPIDEMIA,
    )
    card = _card(found)
    first, vignette = card["detail"].split("\n\n")[:2]
    assert first == "**Relevant to this patient:** Hyperlipidemia"
    assert vignette == "A 60-year-old synthetic patient."
    assert card["summary"] == "A short test summary."
    assert len(card["summary"]) < 140


def test_a_guideline_card_is_unchanged() -> None:
    item = make_item()
    library = ContentLibrary([item], make_terminology())
    facts = facts_from_resources([MAN_58, condition()], at=AT)
    (found,) = match(library, facts, hook="patient-view", at=AT)
    assert _card(found)["detail"].startswith("Do the **thing**.")
