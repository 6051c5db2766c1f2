"""Patient facts from plain-dict FHIR resources."""

from __future__ import annotations

from datetime import date

import pytest

from service.cards.facts import age_at, facts_from_resources
from service.cards.library import load_library
from service.cards.resources import resources_from_bundle, resources_from_prefetch
from service.cards.terminology import Terminology
from tests.cards.factories import (
    ICD10_URL,
    RXNORM_URL,
    bundle,
    coded_observation,
    condition,
    make_terminology,
    med_request,
    observation,
    observation_panel,
    patient,
    procedure,
)

AT = date(2021, 4, 1)


def test_age_and_sex() -> None:
    facts = facts_from_resources([patient("1960-06-15", "female")], at=AT)
    assert facts.age == 60
    assert facts.sex == "female"


def test_age_on_birthday_and_partial_dates() -> None:
    assert age_at(date(1960, 4, 1), AT) == 61
    assert facts_from_resources([patient("1960", "male")], at=AT).age == 61
    assert facts_from_resources([patient("2022-01-01")], at=AT).age is None


def test_unknown_gender_is_none() -> None:
    assert facts_from_resources([patient(gender="unknown")], at=AT).sex is None


def test_active_condition_kept_with_all_codings() -> None:
    resource = condition("44054006", display="Diabetes")
    resource["code"]["coding"].append({"system": ICD10_URL, "code": "e11.65"})
    facts = facts_from_resources([resource], at=AT)
    assert facts.conditions[0].codes == (("snomed", "44054006"), ("icd10", "E1165"))
    assert facts.conditions[0].display == "Diabetes"


def test_resolved_inactive_remission_ignored() -> None:
    resources = [condition(clinical=status) for status in ("resolved", "inactive", "remission")]
    assert facts_from_resources(resources, at=AT).conditions == ()


def test_recurrence_relapse_and_absent_status_are_active() -> None:
    resources = [
        condition(clinical="recurrence"),
        condition(clinical="relapse"),
        condition(clinical=None),
    ]
    assert len(facts_from_resources(resources, at=AT).conditions) == 3


def test_absent_status_with_abatement_is_not_active() -> None:
    resource = condition(clinical=None)
    resource["abatementDateTime"] = "2020-01-01"
    assert facts_from_resources([resource], at=AT).conditions == ()


def test_refuted_and_entered_in_error_ignored() -> None:
    resources = [condition(verification="refuted"), condition(verification="entered-in-error")]
    assert facts_from_resources(resources, at=AT).conditions == ()


def test_brand_diazepam_maps_to_ingredient_via_table() -> None:
    facts = facts_from_resources(
        [med_request("563026", "Valium brand")], at=AT, terminology=make_terminology()
    )
    assert facts.medications[0].ingredients == frozenset({"diazepam"})
    assert facts.medications[0].rxnorm == ("563026",)


def test_unknown_code_falls_back_to_display() -> None:
    display = "Hydrocodone Bitartrate 10 MG / Acetaminophen 325 MG Oral Tablet"
    facts = facts_from_resources(
        [med_request("999999", display)], at=AT, terminology=make_terminology()
    )
    assert facts.medications[0].ingredients == frozenset({"hydrocodone", "acetaminophen"})


@pytest.fixture(scope="module")
def bundled_terminology() -> Terminology:
    return load_library().terminology


@pytest.mark.parametrize(
    ("display", "expected"),
    [
        # the table splits these by route: the name's dose form picks the routed ingredient
        ("diclofenac sodium 75 MG Delayed Release Oral Tablet", "diclofenac (systemic)"),
        ("24 HR Diclofenac Sodium 100 MG Extended Release Oral Tablet", "diclofenac (systemic)"),
        ("diclofenac sodium 10 MG/ML Topical Gel", "diclofenac (topical)"),
        ("diclofenac epolamine 0.013 MG/MG Medicated Patch [Flector]", "diclofenac (topical)"),
        ("ketorolac tromethamine 30 MG/ML Injectable Solution", "ketorolac (systemic)"),
        ("ketorolac tromethamine 15.8 MG/ACTUAT Nasal Spray", "ketorolac (systemic)"),
        # free-text orders as clinicians abbreviate them
        ("ketorolac 15.75 mg intranasal spray", "ketorolac (systemic)"),
        ("ketorolac 30 mg IV", "ketorolac (systemic)"),
        ("diclofenac 50 mg tab", "diclofenac (systemic)"),
        # a dose-form word outranks an abbreviation
        ("diclofenac 1% gel, apply near the IV site", "diclofenac (topical)"),
        # a bare "spray" names no route (nasal ketorolac is systemic, a topical spray says so)
        ("diclofenac 4% spray", "diclofenac"),
        ("ketorolac tromethamine 5 MG/ML Ophthalmic Solution", "ketorolac (ophthalmic)"),
        ("Ibuprofen 50 MG/ML Topical Cream", "ibuprofen (topical)"),
        # no route split for oral ibuprofen: the bare ingredient
        ("Ibuprofen 400 MG Oral Tablet", "ibuprofen"),
        # no dose form: the bare ingredient, which the systemic class does not name
        ("diclofenac", "diclofenac"),
    ],
)
def test_unknown_code_takes_the_route_of_the_dose_form(
    bundled_terminology: Terminology, display: str, expected: str
) -> None:
    facts = facts_from_resources(
        [med_request("999999", display)], at=AT, terminology=bundled_terminology
    )
    assert facts.medications[0].ingredients == frozenset({expected})


def _allergy(code: str, clinical: str | None = None, verification: str | None = None) -> dict:
    resource: dict = {
        "resourceType": "AllergyIntolerance",
        "code": {"coding": [{"system": RXNORM_URL, "code": code}]},
    }
    if clinical:
        resource["clinicalStatus"] = {"coding": [{"code": clinical}]}
    if verification:
        resource["verificationStatus"] = {"coding": [{"code": verification}]}
    return resource


def test_allergies_active_unconfirmed_or_without_status_are_read(
    bundled_terminology: Terminology,
) -> None:
    """A suspected (unconfirmed) allergy still counts: it only ever hides a card."""
    resources = [
        _allergy("83367", "active"),
        _allergy("1191"),
        _allergy("36567", "active", "unconfirmed"),
    ]
    facts = facts_from_resources(resources, at=AT, terminology=bundled_terminology)
    assert [a.ingredients for a in facts.allergies] == [
        frozenset({"atorvastatin"}),
        frozenset({"aspirin"}),
        frozenset({"simvastatin"}),
    ]
    assert facts.allergies[0].codes == (("rxnorm", "83367"),)


@pytest.mark.parametrize(
    ("clinical", "verification"),
    [("resolved", None), ("inactive", None), (None, "refuted"), ("active", "entered-in-error")],
)
def test_allergies_resolved_inactive_or_refuted_are_ignored(
    bundled_terminology: Terminology, clinical: str | None, verification: str | None
) -> None:
    resources = [_allergy("83367", clinical, verification)]
    facts = facts_from_resources(resources, at=AT, terminology=bundled_terminology)
    assert facts.allergies == ()


def test_only_active_medications() -> None:
    resources = [med_request(status=s) for s in ("stopped", "completed", "draft", "on-hold")]
    assert facts_from_resources(resources, at=AT).medications == ()


def test_latest_lab_per_loinc_with_date() -> None:
    resources = [
        observation("4548-4", 7.1, "2020-01-01"),
        observation("4548-4", 9.5, "2021-02-01"),
        observation("4548-4", 8.0, "2020-06-01"),
    ]
    facts = facts_from_resources(resources, at=AT)
    latest = facts.latest_labs["4548-4"]
    assert (latest.value, latest.when, latest.unit) == (9.5, date(2021, 2, 1), "%")
    assert [v.value for v in facts.labs["4548-4"]] == [9.5, 8.0, 7.1]


def test_observation_components_become_labs() -> None:
    resource = observation_panel("85354-9", "2021-03-01", ("8480-6", 150))
    facts = facts_from_resources([resource], at=AT)
    assert facts.latest_labs["8480-6"].value == 150
    assert "85354-9" in facts.observed


def test_only_the_wanted_observations_are_read() -> None:
    """With `observations`, other LOINC codes are skipped, a panel keeps its wanted
    components, and smoking status and pregnancy are read whatever is wanted."""
    panel = observation_panel("85354-9", "2021-03-01", ("8480-6", 150), ("8462-4", 95))
    resources = [
        observation("4548-4", 9.5, "2021-02-01"),
        observation("2093-3", 210, "2021-02-01"),
        panel,
        coded_observation("72166-2", "449868002", "Smokes daily", "2020-01-01"),
        coded_observation("82810-3", "77386006", "Pregnant", "2021-03-01"),
    ]
    facts = facts_from_resources(resources, at=AT, observations=frozenset({"4548-4", "8480-6"}))
    assert set(facts.labs) == {"4548-4", "8480-6"}
    assert set(facts.observed) == {"4548-4", "8480-6", "72166-2", "82810-3"}
    assert facts.smoking == "current"
    assert facts.pregnant is True
    every = facts_from_resources(resources, at=AT)
    assert set(every.labs) == {"4548-4", "2093-3", "8480-6", "8462-4"}
    assert "85354-9" in every.observed


def test_entered_in_error_observation_ignored() -> None:
    resource = observation("4548-4", 9.0, "2021-01-01")
    resource["status"] = "entered-in-error"
    assert facts_from_resources([resource], at=AT).labs == {}


def test_smoking_status_latest_value() -> None:
    resources = [
        coded_observation("72166-2", "449868002", "Smokes daily", "2015-01-01"),
        coded_observation("72166-2", "8517006", "Ex-smoker", "2020-01-01"),
    ]
    assert facts_from_resources(resources, at=AT).smoking == "former"
    never = coded_observation("72166-2", "266919005", "Never smoker", "2020-01-01")
    assert facts_from_resources([never], at=AT).smoking == "never"
    current = coded_observation("72166-2", "77176002", "Smoker", "2020-01-01")
    assert facts_from_resources([current], at=AT).smoking == "current"


def test_active_tobacco_diagnosis_overrides_a_never_smoker_observation() -> None:
    never = coded_observation("72166-2", "266919005", "Never smoker", "2020-01-01")
    daily = condition("449868002", display="Smokes tobacco daily")
    assert facts_from_resources([never, daily], at=AT).smoking == "current"
    nicotine = condition("F17.210", ICD10_URL)
    assert facts_from_resources([never, nicotine], at=AT).smoking == "current"
    resolved = condition("449868002", clinical="resolved")
    assert facts_from_resources([never, resolved], at=AT).smoking == "never"
    assert facts_from_resources([condition("8517006")], at=AT).smoking == "former"


def test_smoking_unknown_without_observation() -> None:
    assert facts_from_resources([patient()], at=AT).smoking is None


def test_pregnancy_from_condition_or_observation() -> None:
    assert facts_from_resources([condition("77386006")], at=AT).pregnant is True
    assert facts_from_resources([condition("Z34.00", ICD10_URL)], at=AT).pregnant is True
    status = coded_observation("82810-3", "77386006", "Pregnant", "2021-03-01")
    assert facts_from_resources([status], at=AT).pregnant is True
    assert facts_from_resources([patient()], at=AT).pregnant is False


def test_childbirth_and_puerperium_codes_are_not_pregnancy() -> None:
    for code in ("O10.03", "O90.89", "O80"):  # puerperium, after delivery, delivery
        assert facts_from_resources([condition(code, ICD10_URL)], at=AT).pregnant is False, code
    assert facts_from_resources([condition("O09.513", ICD10_URL)], at=AT).pregnant is True


def test_procedures_with_dates() -> None:
    facts = facts_from_resources([procedure("73761001", "2015-05-05T10:00:00Z")], at=AT)
    assert facts.procedures[0].codes == (("snomed", "73761001"),)
    assert facts.procedures[0].when == date(2015, 5, 5)


def test_draft_orders() -> None:
    service_request = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
    }
    facts = facts_from_resources(
        [],
        at=AT,
        terminology=make_terminology(),
        draft_orders=[
            med_request("7052", "Morphine", status="draft"),
            service_request,
            {"resourceType": "Patient"},
        ],
    )
    assert facts.orders[0].ingredients == frozenset({"morphine"})
    assert facts.orders[1].codes == (("loinc", "4548-4"),)
    assert len(facts.orders) == 2


def test_contained_medication_reference() -> None:
    resource = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "medicationReference": {"reference": "#m"},
        "contained": [
            {
                "resourceType": "Medication",
                "id": "m",
                "code": {
                    "coding": [
                        {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "563026"}
                    ]
                },
            }
        ],
    }
    facts = facts_from_resources([resource], at=AT, terminology=make_terminology())
    assert facts.medications[0].ingredients == frozenset({"diazepam"})


def test_resources_from_transaction_and_searchset_bundles() -> None:
    inner = bundle(condition(), kind="searchset")
    outer = bundle(patient(), inner, kind="transaction")
    kinds = [r.resource_type for r in resources_from_bundle(outer)]
    assert kinds == ["Patient", "Condition"]
    assert resources_from_bundle(patient())[0].resource_type == "Patient"
    assert resources_from_bundle(None) == []
    assert resources_from_bundle({"resourceType": "Bundle", "entry": "nope"}) == []


def test_resources_from_prefetch_skips_null_and_outcomes() -> None:
    prefetch = {
        "patient": patient(),
        "conditions": bundle(condition()),
        "meds": None,
        "labs": {"resourceType": "OperationOutcome", "issue": []},
    }
    kinds = sorted(r.resource_type for r in resources_from_prefetch(prefetch))
    assert kinds == ["Condition", "Patient"]


def test_wrong_types_are_skipped() -> None:
    hostile = [
        {"resourceType": "Patient", "birthDate": 1960, "gender": ["female"]},
        {"resourceType": "Condition", "code": {"coding": "x"}, "clinicalStatus": 3},
        {"resourceType": "Condition", "code": {"coding": [None, 1, {"code": 5}]}},
        {
            "resourceType": "MedicationRequest",
            "status": "active",
            "medicationCodeableConcept": {"coding": [{"system": None}], "text": 7},
        },
        {
            "resourceType": "Observation",
            "code": [],
            "valueQuantity": {"value": True},
            "effectiveDateTime": "not a date",
        },
        {
            "resourceType": "Observation",
            "effectiveDateTime": "2020-13-45",
            "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
            "valueQuantity": {"value": "9"},
        },
        {"resourceType": "Procedure", "code": None, "performedPeriod": "x"},
        "not a resource",
        None,
        5,
    ]
    facts = facts_from_resources(hostile, at=AT, draft_orders=[None, {"resourceType": 3}])  # type: ignore[list-item]
    assert facts.age is None
    assert facts.conditions == ()
    assert facts.labs == {}
