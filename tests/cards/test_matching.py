"""Matching and explaining against small in-memory libraries."""

from __future__ import annotations

from datetime import date
from typing import Any

from service.cards.facts import PatientFacts, facts_from_resources
from service.cards.library import ContentLibrary
from service.cards.matching import explain, match, match_exhaustive
from tests.cards.factories import (
    ICD10_URL,
    condition,
    make_item,
    make_terminology,
    med_request,
    observation,
    patient,
    procedure,
)

AT = date(2021, 4, 1)


def library(
    *items: Any, valuesets: dict[str, dict[str, list[str]]] | None = None
) -> ContentLibrary:
    return ContentLibrary(items, make_terminology(valuesets))


def facts(*resources: dict[str, Any], orders: tuple[dict[str, Any], ...] = ()) -> PatientFacts:
    return facts_from_resources(
        [patient("1963-01-01", "female"), *resources], at=AT, draft_orders=orders
    )


def ids(lib: ContentLibrary, patient_facts: PatientFacts, hook: str = "patient-view") -> list[str]:
    found = [m.item.id for m in match(lib, patient_facts, hook=hook, at=AT)]
    assert found == [m.item.id for m in match_exhaustive(lib, patient_facts, hook=hook, at=AT)]
    return found


def test_snomed_condition_matches_with_reason() -> None:
    lib = library(make_item())
    found = match(
        lib, facts(condition("44054006", display="Diabetes type 2")), hook="patient-view", at=AT
    )
    assert [m.item.id for m in found] == ["test-item"]
    assert found[0].reasons == ["condition SNOMED 44054006 (Diabetes type 2) in any_of"]
    assert found[0].code_triggered


def test_icd10_prefix_matching() -> None:
    lib = library(make_item(applies={"conditions": {"any_of": {"icd10": ["E11"]}}}))
    assert ids(lib, facts(condition("E11.65", ICD10_URL))) == ["test-item"]
    assert ids(lib, facts(condition("E10.9", ICD10_URL))) == []
    assert ids(lib, facts(condition("E1", ICD10_URL))) == []


def test_icd10_dotted_prefix_in_content() -> None:
    lib = library(make_item(applies={"conditions": {"any_of": {"icd10": ["e11.6"]}}}))
    assert ids(lib, facts(condition("E11.65", ICD10_URL))) == ["test-item"]
    assert ids(lib, facts(condition("E11.9", ICD10_URL))) == []


def test_none_of_excludes() -> None:
    applies = {
        "conditions": {"any_of": {"snomed": ["44054006"]}, "none_of": {"snomed": ["38341003"]}}
    }
    lib = library(make_item(applies=applies))
    assert ids(lib, facts(condition("44054006"))) == ["test-item"]
    assert ids(lib, facts(condition("44054006"), condition("38341003"))) == []


def test_all_of_needs_every_condition_set() -> None:
    cardiorenal = {"snomed": ["88805009", "709044004"], "icd10": ["I50", "N18"]}
    applies = {"conditions": {"any_of": {"snomed": ["44054006"]}, "all_of": [cardiorenal]}}
    lib = library(make_item(applies=applies))
    assert ids(lib, facts(condition("44054006"))) == []
    assert ids(lib, facts(condition("88805009"))) == []
    assert ids(lib, facts(condition("44054006"), condition("88805009"))) == ["test-item"]
    assert ids(lib, facts(condition("44054006"), condition("N18.3", ICD10_URL))) == ["test-item"]
    only_all = library(make_item(applies={"conditions": {"all_of": [cardiorenal]}}))
    assert ids(only_all, facts(condition("709044004"))) == ["test-item"]  # indexed by all_of


def test_valueset_expansion() -> None:
    applies = {"conditions": {"any_of": {"valuesets": ["htn"]}}}
    lib = library(
        make_item(applies=applies), valuesets={"htn": {"snomed": ["38341003"], "icd10": ["I10"]}}
    )
    assert ids(lib, facts(condition("38341003"))) == ["test-item"]
    assert ids(lib, facts(condition("I10", ICD10_URL))) == ["test-item"]


def test_age_and_sex_demographic_only() -> None:
    lib = library(make_item(applies={"age": {"min": 50, "max": 75}, "sex": "female"}))
    found = match(lib, facts(), hook="patient-view", at=AT)
    assert found[0].reasons == ["sex female", "age 58 in 50-75"]
    assert not found[0].code_triggered
    young = facts_from_resources([patient("2000-01-01", "female")], at=AT)
    assert ids(lib, young) == []
    male = facts_from_resources([patient("1963-01-01", "male")], at=AT)
    assert ids(lib, male) == []


def test_item_without_criteria_matches_everyone() -> None:
    lib = library(make_item(applies={}))
    assert ids(lib, facts_from_resources([], at=AT)) == ["test-item"]


def test_medication_class_matches_brand_diazepam() -> None:
    lib = library(make_item(applies={"medications": {"any_of": {"classes": ["benzodiazepine"]}}}))
    found = match(
        lib, facts(med_request("563026", "Diazepam [Valium]")), hook="patient-view", at=AT
    )
    assert found[0].reasons == [
        "medication diazepam (Diazepam [Valium]) [class benzodiazepine] in any_of"
    ]


def test_rxnorm_codes_match_exactly() -> None:
    lib = library(make_item(applies={"medications": {"any_of": {"rxnorm": ["563026"]}}}))
    assert ids(lib, facts(med_request("563026"))) == ["test-item"]
    assert ids(lib, facts(med_request("197591"))) == []


def test_orders_on_order_hooks() -> None:
    applies = {
        "orders": {"any_of": {"classes": ["opioid-analgesic"]}},
        "medications": {"any_of": {"classes": ["benzodiazepine"]}},
    }
    lib = library(make_item(applies=applies, hooks=["order-select", "order-sign"]))
    patient_facts = facts(
        med_request("563026"), orders=(med_request("7052", "Morphine", status="draft"),)
    )
    assert ids(lib, patient_facts, hook="order-sign") == ["test-item"]
    assert ids(lib, patient_facts, hook="patient-view") == []
    assert ids(lib, facts(med_request("563026")), hook="order-sign") == []


def test_expired_items_never_match() -> None:
    lib = library(make_item(reviewed=date(2019, 1, 1), expires=date(2021, 3, 31)))
    assert ids(lib, facts(condition())) == []


def test_labs_latest_and_window() -> None:
    applies = {"labs": [{"loinc": ["4548-4"], "op": ">", "value": 9, "within_days": 365}]}
    lib = library(make_item(applies=applies))
    assert ids(lib, facts(observation("4548-4", 9.5, "2021-01-01"))) == ["test-item"]
    newer_low = (observation("4548-4", 9.5, "2020-12-01"), observation("4548-4", 7, "2021-01-01"))
    assert ids(lib, facts(*newer_low)) == []
    assert ids(lib, facts(observation("4548-4", 9.5, "2019-01-01"))) == []


def test_labs_any_value() -> None:
    applies = {"labs": [{"loinc": ["4548-4"], "op": ">=", "value": 9, "which": "any"}]}
    lib = library(make_item(applies=applies))
    values = (observation("4548-4", 9.5, "2020-12-01"), observation("4548-4", 7, "2021-01-01"))
    assert ids(lib, facts(*values)) == ["test-item"]


def test_labs_missing() -> None:
    applies = {
        "conditions": {"any_of": {"snomed": ["44054006"]}},
        "labs_missing": [{"loinc": ["4548-4"], "within_days": 365}],
    }
    lib = library(make_item(applies=applies))
    assert ids(lib, facts(condition())) == ["test-item"]
    assert ids(lib, facts(condition(), observation("4548-4", 6, "2021-01-01"))) == []
    assert ids(lib, facts(condition(), observation("4548-4", 6, "2019-01-01"))) == ["test-item"]


def test_procedures_none_of_within_window() -> None:
    applies = {
        "age": {"min": 45, "max": 75},
        "procedures": {"none_of": {"snomed": ["73761001"], "within_days": 3650}},
    }
    lib = library(make_item(applies=applies))
    assert ids(lib, facts()) == ["test-item"]
    assert ids(lib, facts(procedure("73761001", "2015-01-01"))) == []
    assert ids(lib, facts(procedure("73761001", "2005-01-01"))) == ["test-item"]


def test_procedures_any_of_loinc_uses_observations() -> None:
    applies = {"procedures": {"any_of": {"loinc": ["4548-4"], "within_days": 30}}}
    lib = library(make_item(applies=applies))
    assert ids(lib, facts(observation("4548-4", 6, "2021-03-15"))) == ["test-item"]


def test_smoking_and_pregnancy_criteria() -> None:
    lib = library(make_item(applies={"pregnant": True}))
    assert ids(lib, facts(condition("77386006"))) == ["test-item"]
    assert ids(lib, facts()) == []


def test_fhirpath_fails_closed() -> None:
    lib = library(make_item(applies={"fhirpath": "Patient.active"}))
    assert ids(lib, facts()) == []


def test_explain_lists_reasons_for_and_against() -> None:
    applies = {"age": {"min": 65}, "conditions": {"any_of": {"snomed": ["44054006"]}}}
    lib = library(make_item(applies=applies))
    result = explain(lib, facts(condition()), "test-item", hook="patient-view", at=AT)
    assert not result.applies
    assert "age 58 not in 65-" in result.reasons_against
    assert "condition SNOMED 44054006 in any_of" in result.reasons_for
    assert "hook patient-view in [patient-view]" in result.reasons_for


def test_explain_hook_expiry_and_unknown_item() -> None:
    lib = library(make_item(expires=date(2021, 2, 1), reviewed=date(2020, 1, 1)))
    result = explain(lib, facts(condition()), "test-item", hook="order-sign", at=AT)
    assert "hook order-sign not in [patient-view]" in result.reasons_against
    assert "expired on 2021-02-01" in result.reasons_against
    missing = explain(lib, facts(), "nope", hook="patient-view", at=AT)
    assert not missing.applies


def test_library_access() -> None:
    item = make_item()
    lib = library(item)
    assert len(lib) == 1
    assert lib.get("test-item") == item
    assert lib.get("other") is None
    assert "test-item" in lib
    assert list(lib) == [item]


def test_age_is_measured_at_the_evaluation_date() -> None:
    lib = library(make_item(applies={"age": {"min": 59}}))
    built_earlier = facts_from_resources([patient("1962-01-01")], at=date(2020, 1, 1))
    assert built_earlier.age == 58
    assert [m.item.id for m in match(lib, built_earlier, hook="patient-view", at=AT)] == [
        "test-item"
    ]


def test_reasons_are_stable_when_several_codes_hit() -> None:
    applies = {"conditions": {"any_of": {"snomed": ["44054006", "38341003"]}}}
    lib = library(make_item(applies=applies))
    found = match(
        lib, facts(condition("44054006"), condition("38341003")), hook="patient-view", at=AT
    )
    assert found[0].reasons == ["condition SNOMED 38341003 in any_of"]
