"""The bundled practice measures against the measure panel: every call counts exactly the
measures its case lists, with the verdict written from the measure's definition, and never one
it must not; every bundled measure has a concordant call, a call that is not, and a patient it
must never count (tests/fixtures/clinical_panel/measures)."""

from __future__ import annotations

import pytest

from service.cards.library import ContentLibrary, load_library
from service.cards.model import HOOKS
from tests.cards.measure_panel import MeasureCase, load_measure_panel, observed

CASES = load_measure_panel()
MIN_MEASURES = 14


@pytest.fixture(scope="module")
def library() -> ContentLibrary:
    return load_library()


def test_the_panel_is_well_formed(library: ContentLibrary) -> None:
    ids = [case.id for case in CASES]
    assert len(set(ids)) == len(ids), "case ids repeat"
    measures = {item.id for item in library.measures}
    for case in CASES:
        named = set(case.observe) | case.never
        assert named, f"{case.id}: expects nothing"
        assert not set(case.observe) & case.never, f"{case.id}: a measure both counted and never"
        assert named <= measures, f"{case.id}: unknown measures {sorted(named - measures)}"
        assert case.call.hook in HOOKS


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_call_counts_exactly_what_its_measures_define(
    library: ContentLibrary, case: MeasureCase
) -> None:
    found = observed(library, case)
    assert not set(found) & case.never, f"{case.id}: counted {sorted(set(found) & case.never)}"
    assert found == case.observe, case.id


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_reusing_the_matchers_view_changes_nothing(
    library: ContentLibrary, case: MeasureCase
) -> None:
    assert observed(library, case, after_match=True) == observed(library, case, after_match=False)


def test_every_bundled_measure_has_both_outcomes_and_an_exclusion(
    library: ContentLibrary,
) -> None:
    measures = [item.id for item in library.measures]
    assert len(measures) >= MIN_MEASURES
    concordant = {m for case in CASES for m, verdict in case.observe.items() if verdict}
    missed = {m for case in CASES for m, verdict in case.observe.items() if not verdict}
    never = {m for case in CASES for m in case.never}
    assert sorted(set(measures) - concordant) == [], "measures with no concordant call"
    assert sorted(set(measures) - missed) == [], "measures with no call that is not concordant"
    assert sorted(set(measures) - never) == [], "measures with no patient they must never count"
