"""A reopened chart keeps its cards (issue 16): ties break by id whatever the input order, and
the items the chart showed when last opened (`on_chart`) are exempt from the repeat window
there, never from a dismissal, a snooze, a completed cycle or the learner's profession."""

from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.cards.facts import PatientFacts, facts_from_resources
from service.cards.library import ContentLibrary
from service.cards.matching import Match, match
from service.cards.model import HOOKS
from service.cards.ranking import FatiguePolicy, LearnerState, choose, select
from tests.cards.factories import ICD10_URL, condition, make_item, make_terminology, patient
from tests.cards.test_choose_property import NOW, learner_states, libraries
from tests.cards.test_index_property import AT, patients
from tests.cards.test_ranking import make_match

SPEC = {"conditions": {"any_of": {"icd10": ["E11"]}}}
IDS = [f"item-{n}" for n in range(6)]


def _library() -> ContentLibrary:
    """Six items of one precedence (equally ranked for this patient), scrambled."""
    items = [make_item(id=item_id, applies=SPEC) for item_id in random.sample(IDS, len(IDS))]
    return ContentLibrary(items, make_terminology())


def _facts() -> PatientFacts:
    return facts_from_resources([patient(), condition("E11.9", ICD10_URL)], at=AT)


def _ids(chosen: list[Match]) -> list[str]:
    return [m.item_id for m in chosen]


def _open_chart(state: LearnerState, on_chart: frozenset[str] = frozenset()) -> list[str]:
    policy = FatiguePolicy()
    library, facts = _library(), _facts()
    return _ids(
        choose(
            library, facts, state, policy, hook="patient-view", at=AT, now=NOW, on_chart=on_chart
        )
    )


def _shown(state: LearnerState, item_ids: list[str], ago: timedelta) -> LearnerState:
    shown = {**state.recently_shown, **dict.fromkeys(item_ids, NOW - ago)}
    return LearnerState(
        recently_shown=shown,
        dismissed=state.dismissed,
        snoozed_until=state.snoozed_until,
        learned=state.learned,
    )


def test_equal_ranks_break_by_id_whatever_the_order() -> None:
    matches = [make_match(item_id) for item_id in IDS]
    for _ in range(20):
        shuffled = random.sample(matches, len(matches))
        assert _ids(select(shuffled, LearnerState(), FatiguePolicy(), now=NOW)) == IDS[:2]
    assert {tuple(_open_chart(LearnerState())) for _ in range(20)} == {tuple(IDS[:2])}


def test_the_repeat_window_alone_rotates_a_reopened_chart() -> None:
    """The variation the issue saw: the first opening's cards count as recently shown, so
    without `on_chart` the same chart shows the next two items each time."""
    first = _open_chart(LearnerState())
    reopened = _open_chart(_shown(LearnerState(), first, timedelta(minutes=5)))
    assert first == IDS[:2]
    assert reopened == IDS[2:4]


def test_a_reopened_chart_keeps_its_cards() -> None:
    first = _open_chart(LearnerState())
    state = _shown(LearnerState(), first, timedelta(minutes=5))
    assert _open_chart(state, frozenset(first)) == first
    assert _open_chart(state, frozenset(first)) == first


def test_other_charts_still_respect_the_window() -> None:
    state = _shown(LearnerState(), IDS[:2], timedelta(minutes=5))
    assert _open_chart(state, frozenset({"item-9"})) == IDS[2:4]


def test_a_dismissed_snoozed_or_learned_item_leaves_the_chart() -> None:
    first = IDS[:2]
    shown = _shown(LearnerState(), first, timedelta(minutes=5)).recently_shown
    for state in (
        LearnerState(recently_shown=shown, dismissed=frozenset({"item-0"})),
        LearnerState(recently_shown=shown, snoozed_until={"item-0": NOW + timedelta(days=30)}),
        LearnerState(recently_shown=shown, learned=frozenset({"item-0"})),
    ):
        # item-1 stays; the place item-0 leaves goes to the next item not recently shown
        assert _open_chart(state, frozenset(first)) == ["item-1", "item-2"]


def test_a_kept_item_for_another_profession_is_not_shown() -> None:
    nurse_only = make_match("item-0", audience={"professions": ["nurse"]})
    state = LearnerState(recently_shown={"item-0": NOW}, profession="physician")
    chosen = select([nurse_only], state, FatiguePolicy(), now=NOW, on_chart=frozenset({"item-0"}))
    assert chosen == []


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    library=libraries(),
    facts=patients(),
    state=learner_states(),
    on_chart=st.frozensets(st.sampled_from([f"item-{n}" for n in range(14)]), max_size=4),
    window=st.sampled_from([0, 30]),
)
def test_choose_equals_select_on_a_reopened_chart(
    library: ContentLibrary,
    facts: PatientFacts,
    state: LearnerState,
    on_chart: frozenset[str],
    window: int,
) -> None:
    policy = FatiguePolicy(repeat_window_days=window)
    for hook in HOOKS:
        matches = match(library, facts, hook=hook, at=AT)
        expected = select(matches, state, policy, now=NOW, on_chart=on_chart, library=library)
        chosen = choose(library, facts, state, policy, hook=hook, at=AT, now=NOW, on_chart=on_chart)
        assert chosen == expected
