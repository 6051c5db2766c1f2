"""Property: the compiled index gives exactly the answer of evaluating every item."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.cards.facts import PatientFacts, facts_from_resources
from service.cards.library import ContentLibrary
from service.cards.matching import match, match_exhaustive
from service.cards.model import HOOKS
from tests.cards.factories import (
    ICD10_URL,
    RXNORM_URL,
    SNOMED_URL,
    coded_observation,
    condition,
    make_item,
    make_terminology,
    med_request,
    observation,
    patient,
    procedure,
    service_request,
)

AT = date(2021, 4, 1)
SNOMED = ["44054006", "38341003", "55822004", "73761001", "77386006"]
ICD10_CODES = ["E11.65", "E11.9", "I10", "I25.10", "J45.909", "O09.90"]
ICD10_PREFIXES = ["E11", "E116", "E1165", "I10", "I25", "J45", "O09"]
INGREDIENTS = ["diazepam", "hydrocodone", "metformin", "warfarin", "morphine"]
RXNORM = ["563026", "856980", "860975", "855332", "7052", "999999"]
LOINC = ["4548-4", "2093-3", "8480-6"]
VALUESETS = {
    "vs-a": {"snomed": ["44054006"], "icd10": ["I10"], "rxnorm": ["563026"], "loinc": ["4548-4"]}
}

windows = st.none() | st.integers(1, 3000)


def sublist(pool: list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(pool), max_size=3, unique=True)


codeset = st.fixed_dictionaries(
    {},
    optional={
        "snomed": sublist(SNOMED),
        "icd10": sublist(ICD10_PREFIXES),
        "valuesets": sublist(["vs-a"]),
    },
)
medset = st.fixed_dictionaries(
    {},
    optional={
        "ingredients": sublist(INGREDIENTS),
        "classes": sublist(["benzodiazepine", "statin", "opioid-analgesic"]),
        "rxnorm": sublist(RXNORM),
        "valuesets": sublist(["vs-a"]),
    },
)
procset = st.fixed_dictionaries(
    {}, optional={"snomed": sublist(SNOMED), "loinc": sublist(LOINC), "within_days": windows}
)
serviceset = st.fixed_dictionaries(
    {},
    optional={"snomed": sublist(SNOMED), "loinc": sublist(LOINC), "valuesets": sublist(["vs-a"])},
)
lab_rule = st.fixed_dictionaries(
    {
        "loinc": st.lists(st.sampled_from(LOINC), min_size=1, max_size=2, unique=True),
        "op": st.sampled_from(["<", "<=", ">", ">="]),
        "value": st.integers(0, 300),
    },
    optional={"within_days": windows, "which": st.sampled_from(["latest", "any"])},
)


def any_none(inner: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={"any_of": inner, "none_of": inner})


CRITERIA: dict[str, st.SearchStrategy[Any]] = {
    "age": st.fixed_dictionaries(
        {}, optional={"min": st.integers(0, 90), "max": st.integers(0, 120)}
    ),
    "sex": st.sampled_from(["female", "male"]),
    "pregnant": st.booleans(),
    "smoking": st.lists(st.sampled_from(["current", "former", "never"]), unique=True),
    "conditions": any_none(codeset),
    "medications": any_none(medset),
    "orders": any_none(medset),
    "service_orders": any_none(serviceset),
    "labs": st.lists(lab_rule, max_size=2),
    "labs_missing": st.lists(
        st.fixed_dictionaries(
            {"loinc": st.lists(st.sampled_from(LOINC), min_size=1, max_size=2, unique=True)},
            optional={"within_days": windows},
        ),
        max_size=1,
    ),
    "procedures": any_none(procset),
}
# A few criteria per item, so that code-triggered items do match generated patients.
applies = st.lists(st.sampled_from(sorted(CRITERIA)), max_size=3, unique=True).flatmap(
    lambda keys: st.fixed_dictionaries({key: CRITERIA[key] for key in keys})
)
item_spec = st.tuples(
    applies, st.lists(st.sampled_from(HOOKS), min_size=1, unique=True), st.integers(-100, 400)
)


@st.composite
def libraries(draw: st.DrawFn) -> ContentLibrary:
    specs = draw(st.lists(item_spec, max_size=12))
    items = [
        make_item(
            id=f"item-{n}",
            applies=spec,
            hooks=hooks,
            reviewed=date(2019, 1, 1),
            expires=AT + timedelta(days=days),
        )
        for n, (spec, hooks, days) in enumerate(specs)
    ]
    return ContentLibrary(items, make_terminology(VALUESETS))


day = st.integers(0, 4000).map(lambda n: (AT - timedelta(days=n)).isoformat())


def several(pool: list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(pool), min_size=1, max_size=4, unique=True)


@st.composite
def patient_inputs(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A patient's resources and draft orders (none half of the time)."""
    resources: list[dict[str, Any]] = []
    if draw(st.booleans()):
        birth = (AT - timedelta(days=draw(st.integers(0, 110 * 365)))).isoformat()
        resources.append(patient(birth, draw(st.sampled_from(["female", "male", "other"]))))
    for code in draw(several(SNOMED)):
        resources.append(
            condition(
                code, SNOMED_URL, clinical=draw(st.sampled_from(["active", "resolved", None]))
            )
        )
    resources.extend(condition(code, ICD10_URL) for code in draw(several(ICD10_CODES)))
    resources.extend(
        med_request(code, draw(st.sampled_from(["", "Morphine 10 MG"])))
        for code in draw(several(RXNORM))
    )
    for code in draw(st.lists(st.sampled_from(LOINC), max_size=6)):
        resources.append(observation(code, draw(st.integers(0, 300)), draw(day)))
    if draw(st.booleans()):
        resources.append(
            coded_observation(
                "72166-2",
                draw(st.sampled_from(["449868002", "8517006", "266919005"])),
                "",
                draw(day),
            )
        )
    resources.extend(procedure(code, draw(day)) for code in draw(several(SNOMED)))
    orders = [med_request(code, "", status="draft") for code in draw(several(RXNORM))]
    orders += [service_request(code) for code in draw(st.lists(st.sampled_from(LOINC), max_size=2))]
    orders += [
        service_request(code, SNOMED_URL)
        for code in draw(st.lists(st.sampled_from(SNOMED), max_size=2))
    ]
    orders += [
        {
            "resourceType": "MedicationRequest",
            "status": "draft",
            "medicationCodeableConcept": {
                "coding": [{"system": RXNORM_URL, "code": "x"}],
                "text": "Diazepam 5 MG Oral Tablet",
            },
        }
    ]
    return resources, orders if draw(st.booleans()) else []


def patients() -> st.SearchStrategy[PatientFacts]:
    return patient_inputs().map(
        lambda inputs: facts_from_resources(inputs[0], at=AT, draft_orders=inputs[1])
    )


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(library=libraries(), facts=patients(), at_shift=st.integers(-30, 30))
def test_index_equals_exhaustive_evaluation(
    library: ContentLibrary, facts: PatientFacts, at_shift: int
) -> None:
    at = AT + timedelta(days=at_shift)
    for hook in HOOKS:
        indexed = match(library, facts, hook=hook, at=at)
        exhaustive = match_exhaustive(library, facts, hook=hook, at=at)
        assert indexed == exhaustive


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(library=libraries(), inputs=patient_inputs())
def test_reading_only_the_librarys_observations_matches_the_same(
    library: ContentLibrary, inputs: tuple[list[dict[str, Any]], list[dict[str, Any]]]
) -> None:
    """The hook reads only the observations whose LOINC codes some criterion looks up
    (`ContentLibrary.observation_codes`): every hook matches exactly as with all of them."""
    resources, orders = inputs
    every = facts_from_resources(resources, at=AT, draft_orders=orders)
    wanted = facts_from_resources(
        resources, at=AT, draft_orders=orders, observations=library.observation_codes
    )
    for hook in HOOKS:
        assert match(library, wanted, hook=hook, at=AT) == match(library, every, hook=hook, at=AT)
