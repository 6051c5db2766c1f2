"""Practice measures: `observe_practice` counts opportunities with the kinds' exclusions,
concordant and discordant calls, only the measures of the call's hook, in the view the matcher
left on the facts; and `service_orders`, what a measure sees of a test being ordered. What
`content check` refuses is tests/cards/test_measure_checks.py."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from service.cards.facts import PatientFacts, facts_from_resources
from service.cards.library import ContentLibrary, load_library
from service.cards.matching import match, match_exhaustive
from service.cards.measures import PracticeObservation, explain_practice, observe_practice
from service.cards.model import HOOKS
from tests.cards.clinical_panel import bundle_of, draft_orders_of, load_panel
from tests.cards.factories import (
    ICD10_URL,
    SNOMED_URL,
    condition,
    item_data,
    make_item,
    make_terminology,
    med_request,
    observation,
    patient,
    service_request,
)
from tests.cards.measure_factories import (
    MAMMOGRAM,
    MEASURE_POLICY,
    MORPHINE,
    NALOXONE,
    SCREENING_MEASURE,
    measure_items,
)

AT = date(2026, 12, 1)
TERMINOLOGY = make_terminology({"palliative": {"icd10": ["Z515"]}})  # as parsed: normalised


def _library(items: list[dict[str, Any]] | None = None) -> ContentLibrary:
    built = [make_item(**data) for data in (items if items is not None else measure_items())]
    return ContentLibrary(built, TERMINOLOGY, policy=MEASURE_POLICY)


def _facts(*resources: dict[str, Any], orders: tuple[dict[str, Any], ...] = ()) -> PatientFacts:
    return facts_from_resources(
        [patient("1966-01-01"), *resources], at=AT, draft_orders=orders, terminology=TERMINOLOGY
    )


def _observed(library: ContentLibrary, facts: PatientFacts, hook: str) -> dict[str, bool]:
    found = observe_practice(library, facts, hook=hook, at=AT)
    return {observation.item_id: observation.concordant for observation in found}


# ---------------------------------------------------------------- evaluation


def test_an_observation_names_the_measure_and_the_verdict_only() -> None:
    assert PracticeObservation.__slots__ == ("item_id", "concordant")


def test_concordant_and_not_concordant_calls() -> None:
    library = _library()
    with_naloxone = _facts(orders=(MORPHINE, NALOXONE, MAMMOGRAM))
    assert _observed(library, with_naloxone, "order-sign") == {
        "naloxone": True,
        "mammography": True,
        "combination": True,
    }
    without = _facts(orders=(MORPHINE,))
    assert _observed(library, without, "order-sign") == {
        "naloxone": False,
        "mammography": False,
        "combination": True,
    }


def test_an_inverse_measure_is_not_concordant_when_the_wrong_action_is_seen() -> None:
    library = _library()
    on_diazepam = _facts(med_request("563026", "Diazepam [Valium]"), orders=(MORPHINE,))
    assert _observed(library, on_diazepam, "order-sign")["combination"] is False


def test_the_opportunity_does_not_depend_on_the_action() -> None:
    """A patient on no opioid order is no opportunity, naloxone or not."""
    library = _library()
    assert "naloxone" not in _observed(library, _facts(orders=(NALOXONE,)), "order-sign")


def test_the_kinds_exclusions_apply_to_the_opportunity() -> None:
    library = _library()
    palliative = condition("Z51.5", ICD10_URL)
    found = _observed(library, _facts(palliative, orders=(MORPHINE, MAMMOGRAM)), "order-sign")
    assert found == {}


def test_only_the_measures_of_the_calls_hook_are_observed() -> None:
    library = _library()
    facts = _facts(orders=(MORPHINE, NALOXONE))
    assert _observed(library, facts, "patient-view") == {"mammography": False}
    assert _observed(library, facts, "order-select") == {}
    assert _observed(library, facts, "encounter-start") == {}
    assert [m.item.id for m in library.measures_for("order-sign")] == [
        "naloxone",
        "mammography",
        "combination",
    ]
    assert [item.id for item in library.measures] == ["naloxone", "mammography", "combination"]


def test_an_expired_item_measures_nothing() -> None:
    items = [
        item_data(
            id="mammography",
            kinds=["screening"],
            expires=date(2026, 11, 30),
            measure=SCREENING_MEASURE,
            hooks=["patient-view", "order-sign"],
        )
    ]
    assert _observed(_library(items), _facts(), "patient-view") == {}


def test_the_lab_codes_a_measure_reads_are_observation_codes() -> None:
    measure = {
        "title": "Statin with a high LDL-C",
        "hooks": ["patient-view"],
        "opportunity": {"labs": [{"loinc": ["13457-7"], "op": ">=", "value": 190}]},
        "concordant": {"medications": {"any_of": {"classes": ["statin"]}}},
    }
    library = _library([item_data(id="ldl", kinds=["screening"], measure=measure)])
    assert "13457-7" in library.observation_codes
    high = _facts(observation("13457-7", 200, "2026-06-01", unit="mg/dL"))
    assert _observed(library, high, "patient-view") == {"ldl": False}


def test_observe_reuses_the_view_the_matcher_left_on_the_facts() -> None:
    """What the matcher's view knows (here, planted: the drug-safety kind excludes this
    patient) is what the measures of the same call see; the matcher itself never reuses."""
    library = _library()
    facts = _facts(orders=(MORPHINE,))
    match(library, facts, hook="order-sign", at=AT)
    tables = facts.view_tables
    assert tables is not None
    tables.memo["kind:drug-safety"] = (False, "planted")  # type: ignore[attr-defined]
    assert _observed(library, facts, "order-sign") == {"mammography": False}
    assert facts.view_tables is tables
    match(library, facts, hook="order-sign", at=AT)
    assert facts.view_tables is not tables
    assert _observed(library, facts, "order-sign")["naloxone"] is False


def test_a_view_left_by_another_library_is_not_reused() -> None:
    first, second = _library(), _library()
    facts = _facts(orders=(MORPHINE,))
    match(first, facts, hook="order-sign", at=AT)
    tables = facts.view_tables
    observe_practice(second, facts, hook="order-sign", at=AT)
    assert facts.view_tables is not tables


def test_explain_says_why_each_measure_of_the_hook_counts_or_not() -> None:
    library = _library()
    rows = explain_practice(library, _facts(orders=(MORPHINE,)), hook="order-sign", at=AT)
    by_id = {row.item_id: row for row in rows}
    assert by_id["naloxone"].opportunity
    assert by_id["naloxone"].concordant is False
    assert any("concordant" in reason for reason in by_id["naloxone"].reasons)
    assert by_id["mammography"].title == "Mammography ordered when due"


# ---------------------------------------------------------------- tests ordered (service_orders)


def test_service_orders_match_a_test_being_ordered() -> None:
    applies = {"service_orders": {"any_of": {"loinc": ["24606-6"]}}}
    library = _library([item_data(id="ordered", hooks=["order-sign"], applies=applies)])
    ids = [m.item.id for m in match(library, _facts(orders=(MAMMOGRAM,)), hook="order-sign", at=AT)]
    assert ids == ["ordered"]
    assert match(library, _facts(orders=(MORPHINE,)), hook="order-sign", at=AT) == []
    colonoscopy = service_request("73761001", SNOMED_URL, "Colonoscopy")
    facts = _facts(orders=(colonoscopy, MAMMOGRAM))
    assert [m.item.id for m in match_exhaustive(library, facts, hook="order-sign", at=AT)] == [
        "ordered"
    ]


def test_a_service_order_none_of_silences_an_item() -> None:
    applies = {"age": {"min": 50}, "service_orders": {"none_of": {"loinc": ["24606-6"]}}}
    library = _library([item_data(id="due", hooks=["order-sign"], applies=applies)])
    assert match(library, _facts(orders=(MAMMOGRAM,)), hook="order-sign", at=AT) == []
    assert len(match(library, _facts(orders=(MORPHINE,)), hook="order-sign", at=AT)) == 1


# ---------------------------------------------------------------- hooks: a property


@settings(max_examples=60, deadline=None)
@given(
    measure_hooks=st.lists(
        st.lists(st.sampled_from(["patient-view", "order-select", "order-sign"]), min_size=1),
        min_size=1,
        max_size=4,
    ),
    hook=st.sampled_from(HOOKS),
    ordered=st.booleans(),
)
def test_a_call_never_counts_a_measure_of_another_hook(
    measure_hooks: list[list[str]], hook: str, ordered: bool
) -> None:
    items = [
        item_data(
            id=f"m{position}",
            hooks=list(HOOKS),
            measure={
                "title": "Any adult",
                "hooks": sorted(set(hooks)),
                "opportunity": {"age": {"min": 18}},
                "concordant": {"sex": "female"},
            },
        )
        for position, hooks in enumerate(measure_hooks)
    ]
    library = ContentLibrary([make_item(**data) for data in items], TERMINOLOGY)
    facts = _facts(orders=(MORPHINE,) if ordered else ())
    found = observe_practice(library, facts, hook=hook, at=AT)
    allowed = {f"m{p}" for p, hooks in enumerate(measure_hooks) if hook in hooks}
    assert {observation.item_id for observation in found} == allowed


def test_the_bundled_measures_count_only_calls_of_their_hooks() -> None:
    library = load_library()
    hooks_of = {item.id: set(item.measure.hooks) for item in library.measures if item.measure}
    for case in load_panel():
        for hook in HOOKS:
            facts = facts_from_resources(
                _panel_resources(case),
                at=case.at,
                draft_orders=draft_orders_of(case),
                terminology=library.terminology,
            )
            for found in observe_practice(library, facts, hook=hook, at=case.at):
                assert hook in hooks_of[found.item_id], (case.id, hook, found.item_id)


def _panel_resources(case: Any) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in bundle_of(case)["entry"]]
