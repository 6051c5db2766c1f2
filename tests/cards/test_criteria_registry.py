"""The criterion registry's contract (`service/cards/applies.py: CRITERIA`): every kind
declares its key and schema, compiles its own part of `applies` into predicates of its own
class, says which index keys it files an item under and which LOINC codes it reads; and a new
kind needs nothing but its class and its registration."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterable
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from service.cards.applies import CRITERIA, CriterionRegistry
from service.cards.codes import LOINC
from service.cards.criteria import (
    CompileContext,
    CompiledApplies,
    CriterionKind,
    FactView,
)
from service.cards.facts import PatientFacts, facts_from_resources
from service.cards.index_keys import INDEX_KINDS, LAB
from service.cards.model import ContentItem, Policy
from service.cards.patient_criteria import Sex
from service.cards.policy import compile_policy
from tests.cards.factories import (
    ICD10_URL,
    condition,
    item_data,
    make_terminology,
    med_request,
    observation,
    patient,
)

AT = date(2021, 4, 1)
TERMINOLOGY = make_terminology()
# A present value of every registered kind, as an item's YAML gives it. A new kind adds one.
EXAMPLES: dict[str, Any] = {
    "sex": "female",
    "age": {"min": 40, "max": 75},
    "pregnant": False,
    "smoking": ["current", "former"],
    "smoked_within_days": 5479,
    "orders": {"any_of": {"ingredients": ["diazepam"]}, "none_of": {"rxnorm": ["7052"]}},
    "service_orders": {"any_of": {"loinc": ["24606-6"]}, "none_of": {"snomed": ["73761001"]}},
    "conditions": {
        "any_of": {"snomed": ["44054006"], "icd10": ["E11"]},
        "all_of": [{"icd10": ["I10"]}],
        "none_of": {"icd10": ["Z51.5"]},
        "ever": True,
    },
    "procedures": {"any_of": {"loinc": ["8480-6"], "within_days": 365}},
    "medications": {"any_of": {"classes": ["benzodiazepine"]}, "none_of": {"rxnorm": ["161"]}},
    "allergies": {"any_of": {"ingredients": ["diazepam"]}, "none_of": {"snomed": ["387458008"]}},
    "labs": [{"loinc": ["4548-4"], "op": ">", "value": 9}],
    "labs_missing": [{"loinc": ["2093-3"], "within_days": 365}],
    "facts": {"any_of": ["diabetes"], "none_of": ["hospice"]},
    "fhirpath": "Patient.active",
}
POLICY = Policy.model_validate(
    {
        "facts": {
            "diabetes": {"title": "Diabetes", "any": [{"conditions": EXAMPLES["conditions"]}]},
            "hospice": {
                "title": "Hospice",
                "any": [{"conditions": {"any_of": {"icd10": ["Z51.5"]}}}],
            },
        }
    }
)
CONTEXT = CompileContext(TERMINOLOGY, compile_policy(POLICY, TERMINOLOGY).facts)


def _patient() -> PatientFacts:
    resources = [
        patient("1960-06-15"),
        condition("44054006"),
        condition("I10", ICD10_URL),
        med_request(),
        observation("4548-4", 9.5, "2021-02-01"),
        observation("8480-6", 150, "2021-03-01", unit="mm[Hg]"),
    ]
    return facts_from_resources(resources, at=AT, terminology=TERMINOLOGY)


def _compiled(kind: type[CriterionKind[Any]]) -> CompiledApplies:
    applies = CRITERIA.model.model_validate({kind.key: EXAMPLES[kind.key]})
    value = kind.value_of(applies)
    assert value is not None, f"{kind.key}: the example parses as absent"
    return kind.compile(value, CONTEXT)


def test_every_kind_has_an_example_and_a_field_of_its_own() -> None:
    assert set(EXAMPLES) == set(CRITERIA.by_key)
    assert list(CRITERIA.model.model_fields) == [kind.key for kind in CRITERIA.kinds]
    item = ContentItem.model_validate(item_data(applies=EXAMPLES))
    assert isinstance(item.applies, CRITERIA.model)


@pytest.mark.parametrize("kind", CRITERIA.kinds, ids=lambda kind: kind.key)
def test_every_kind_declares_and_honours_the_contract(kind: type[CriterionKind[Any]]) -> None:
    assert not inspect.isabstract(kind), f"{kind.__name__} leaves compile or check abstract"
    assert dataclasses.is_dataclass(kind)
    assert kind.index_kinds <= set(INDEX_KINDS)
    assert (kind.trigger_rank is None) == (not kind.index_kinds)
    compiled = _compiled(kind)
    assert compiled.criteria
    assert all(type(criterion) is kind for criterion in compiled.criteria)
    assert not any(hasattr(criterion, "__dict__") for criterion in compiled.criteria)
    if kind.trigger_rank is None:
        assert compiled.trigger is None
    else:
        assert compiled.trigger, f"{kind.key}: a positive example files the item nowhere"
        assert {key[0] for key in compiled.trigger} <= kind.index_kinds
    view = FactView(_patient(), TERMINOLOGY)
    for criterion in compiled.criteria:
        holds, reason = criterion.check(view)
        assert isinstance(holds, bool)
        assert reason


# Kinds whose LOINC codes are those of tests being ordered (draft orders), not observations.
ORDER_CODE_KINDS = {"service_orders"}


@pytest.mark.parametrize(
    "kind",
    [kind for kind in CRITERIA.kinds if kind.key not in ORDER_CODE_KINDS],
    ids=lambda kind: kind.key,
)
def test_listed_loinc_codes_are_observation_codes(kind: type[CriterionKind[Any]]) -> None:
    """A kind whose YAML lists LOINC codes names them as observation codes (the hook reads
    only those), as tests/cards/test_observation_codes.py checks for the library."""
    applies = CRITERIA.model.model_validate({kind.key: EXAMPLES[kind.key]})
    value = kind.value_of(applies)
    listed = {
        code
        for _loc, part in kind.parts(value)
        for system, codes in part.code_lists()
        if system == LOINC
        for code in codes
    }
    read = {
        code for criterion in _compiled(kind).criteria for code in criterion.observation_codes()
    }
    assert listed <= read


def test_the_registry_refuses_a_key_or_a_rank_twice() -> None:
    with pytest.raises(ValueError, match="share an `applies` key"):
        CriterionRegistry(*CRITERIA.kinds, Sex)

    @dataclasses.dataclass(frozen=True, slots=True)
    class Rival(LabSeen):
        key = "rival"

    with pytest.raises(ValueError, match="share a trigger rank"):
        CriterionRegistry(LabSeen, Rival)


# A new kind, as an engineer would add one: the class, then its entry in a registry.


@dataclasses.dataclass(frozen=True, slots=True)
class LabSeen(CriterionKind[tuple[str, ...]]):
    """`lab_seen: [LOINC...]`: some value of the codes is on record, whatever its date."""

    key = "lab_seen"
    schema = tuple[str, ...]
    default = ()
    trigger_rank = 99
    index_kinds = frozenset({LAB})

    codes: tuple[str, ...]

    @classmethod
    def compile(cls, value: tuple[str, ...], context: CompileContext) -> CompiledApplies:
        del context
        found = CompiledApplies()
        found.add(cls(value), [(LAB, code) for code in value])
        return found

    def check(self, view: FactView) -> tuple[bool, str]:
        seen = [code for code in self.codes if view.facts.labs.get(code)]
        return (True, f"LOINC {seen[0]} on record") if seen else (False, "no value on record")

    def observation_codes(self) -> Iterable[str]:
        return self.codes


def test_a_new_kind_needs_only_its_class_and_its_registration() -> None:
    registry = CriterionRegistry(*CRITERIA.kinds, LabSeen)
    applies = registry.model.model_validate({"sex": "female", "lab_seen": ["4548-4"]})
    compiled = registry.compile(applies, CONTEXT)
    assert [type(criterion) for criterion in compiled.criteria] == [Sex, LabSeen]
    assert compiled.trigger == [(LAB, "4548-4")]
    view = FactView(_patient(), TERMINOLOGY)
    assert [criterion.check(view) for criterion in compiled.criteria] == [
        (True, "sex female"),
        (True, "LOINC 4548-4 on record"),
    ]
    assert {code for c in compiled.criteria for code in c.observation_codes()} == {"4548-4"}
    with pytest.raises(ValidationError, match="lab_sen"):
        registry.model.model_validate({"lab_sen": ["4548-4"]})  # unknown keys stay refused
    # the library's own registry is untouched
    assert "lab_seen" not in CRITERIA.by_key
    with pytest.raises(ValidationError):
        CRITERIA.model.model_validate({"lab_seen": ["4548-4"]})
