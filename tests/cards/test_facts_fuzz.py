"""Hostile input: facts extraction never crashes, whatever the types."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from service.cards.facts import facts_from_resources
from service.cards.library import ContentLibrary
from service.cards.matching import match
from service.cards.resources import Resource, resources_from_bundle
from tests.cards.factories import make_item, make_terminology

AT = date(2021, 4, 1)
LIBRARY = ContentLibrary(
    [make_item(applies={"age": {"min": 1}}), make_item(id="b")], make_terminology()
)
TERMINOLOGY = make_terminology()
FIELDS = [
    "code",
    "coding",
    "system",
    "display",
    "text",
    "clinicalStatus",
    "verificationStatus",
    "status",
    "birthDate",
    "gender",
    "valueQuantity",
    "value",
    "unit",
    "valueCodeableConcept",
    "effectiveDateTime",
    "effectivePeriod",
    "start",
    "issued",
    "component",
    "medicationCodeableConcept",
    "medicationReference",
    "reference",
    "contained",
    "id",
    "performedDateTime",
    "performedPeriod",
    "abatementDateTime",
    "entry",
    "resource",
    "resourceType",
]
TYPES = [
    "Patient",
    "Condition",
    "MedicationRequest",
    "MedicationStatement",
    "Observation",
    "Procedure",
    "ServiceRequest",
    "Bundle",
    "Medication",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.sampled_from(
        [
            "active",
            "http://snomed.info/sct",
            "http://loinc.org",
            "4548-4",
            "44054006",
            "2020-01-01",
            "2020-13",
            "#m",
            "",
            "female",
        ]
    )
    | st.text(max_size=8)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=4)
    ),
    max_leaves=12,
)
resources = st.fixed_dictionaries({"resourceType": st.sampled_from(TYPES)}).flatmap(
    lambda base: st.dictionaries(st.sampled_from(FIELDS), values, max_size=6).map(
        lambda extra: {**extra, **base}
    )
)
anything: st.SearchStrategy[Any] = resources | values


@settings(max_examples=120, deadline=None)
@given(items=st.lists(anything, max_size=6), orders=st.lists(anything, max_size=3))
def test_facts_never_crash(items: list[Any], orders: list[Any]) -> None:
    facts = facts_from_resources(items, at=AT, draft_orders=orders, terminology=TERMINOLOGY)
    match(LIBRARY, facts, hook="patient-view", at=AT)


def test_huge_numbers_are_skipped() -> None:
    resource = {
        "resourceType": "Observation",
        "effectiveDateTime": "2021-01-01",
        "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
        "valueQuantity": {"value": 10**400},
    }
    assert facts_from_resources([resource], at=AT).labs == {}


@settings(max_examples=100, deadline=None)
@given(value=anything)
def test_bundles_never_crash(value: Any) -> None:
    for resource in resources_from_bundle(value):
        assert isinstance(resource, Resource)
