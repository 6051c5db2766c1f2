"""Property: `choose` (best-first with an early stop) answers exactly what evaluating every
candidate and ranking afterwards (`select(match(...))`) answers, and it does stop early."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.cards import matching
from service.cards.facts import PatientFacts, facts_from_resources
from service.cards.library import ContentLibrary
from service.cards.matching import match
from service.cards.model import HOOKS
from service.cards.ranking import FatiguePolicy, LearnerState, choose, select
from tests.cards.factories import (
    ICD10_URL,
    case_block,
    condition,
    make_item,
    make_terminology,
    patient,
)
from tests.cards.test_index_property import AT, VALUESETS, item_spec, patients

NOW = datetime(2021, 4, 1, 12, tzinfo=UTC)
SPECIALTIES = ["cardiology", "family-medicine", "endocrinology"]
PROFESSIONS = ["physician", "nurse-practitioner"]
TOPICS = ["diabetes", "lipids", "kidney"]

looks = st.fixed_dictionaries(
    {
        "indicator": st.sampled_from(["info", "warning", "critical"]),
        "grade": st.sampled_from([None, "A", "B", "C", "Class IIa", "expert opinion"]),
        "case": st.booleans(),
        "specialties": st.lists(st.sampled_from(SPECIALTIES), max_size=2, unique=True),
        "professions": st.lists(st.sampled_from(PROFESSIONS), max_size=1, unique=True),
        "topics": st.lists(st.sampled_from(TOPICS), max_size=2, unique=True),
    }
)


def _item(n: int, spec: Any, hooks: list[str], days: int, look: dict[str, Any]) -> Any:
    extra: dict[str, Any] = {"type": "case", "case": case_block()} if look["case"] else {}
    return make_item(
        id=f"item-{(n * 5) % 14}",  # ids out of library order: the id tie-break matters
        applies=spec,
        hooks=hooks,
        reviewed=date(2019, 1, 1),
        expires=AT + timedelta(days=days),
        indicator=look["indicator"],
        source={
            "organization": "USPSTF",
            "title": "Test recommendation",
            "year": 2021,
            "url": "https://example.org/rec",
            "grade": look["grade"],
        },
        audience={"specialties": look["specialties"], "professions": look["professions"]},
        topics=look["topics"],
        **extra,
    )


@st.composite
def libraries(draw: st.DrawFn) -> ContentLibrary:
    specs = draw(st.lists(st.tuples(item_spec, looks), max_size=14))
    items = [
        _item(n, spec, hooks, days, look) for n, ((spec, hooks, days), look) in enumerate(specs)
    ]
    return ContentLibrary(items, make_terminology(VALUESETS))


@st.composite
def learner_states(draw: st.DrawFn) -> LearnerState:
    """Any learner state, the learner's signals included: goals, misses (some unsure, some
    after `NOW`), mastered items, shown and hidden items (ids of `libraries`' items)."""
    ids = [f"item-{n}" for n in range(14)]
    some = st.lists(st.sampled_from(ids), max_size=4, unique=True)
    moments = st.integers(-60, 60).map(lambda days: NOW + timedelta(days=days))
    missed = draw(st.dictionaries(st.sampled_from(ids), moments, max_size=4))
    return LearnerState(
        recently_shown=draw(st.dictionaries(st.sampled_from(ids), moments, max_size=6)),
        dismissed=frozenset(draw(some)),
        snoozed_until=draw(st.dictionaries(st.sampled_from(ids), moments, max_size=3)),
        learned=frozenset(draw(some)),
        specialty=draw(st.none() | st.sampled_from(SPECIALTIES)),
        profession=draw(st.none() | st.sampled_from(PROFESSIONS)),
        goals=frozenset(draw(st.lists(st.sampled_from(TOPICS), max_size=2))),
        missed=missed,
        unsure=frozenset(draw(st.lists(st.sampled_from(sorted(missed) or ids), max_size=2))),
        mastered=frozenset(draw(some)),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    library=libraries(),
    facts=patients(),
    state=learner_states(),
    max_cards=st.integers(0, 4),
    window=st.sampled_from([0, 30]),
)
def test_choose_equals_select_of_every_match(
    library: ContentLibrary,
    facts: PatientFacts,
    state: LearnerState,
    max_cards: int,
    window: int,
) -> None:
    policy = FatiguePolicy(max_cards=max_cards, repeat_window_days=window)
    for hook in HOOKS:
        matches = match(library, facts, hook=hook, at=AT)
        expected = select(matches, state, policy, now=NOW, library=library)
        assert choose(library, facts, state, policy, hook=hook, at=AT, now=NOW) == expected


def _counting_evaluations(monkeypatch: Any) -> list[str]:
    evaluated: list[str] = []
    evaluate = matching._evaluate

    def counting(entry: Any, view: Any) -> Any:
        evaluated.append(entry.item.id)
        return evaluate(entry, view)

    monkeypatch.setattr(matching, "_evaluate", counting)
    return evaluated


def test_choose_stops_once_nothing_later_can_outrank(monkeypatch: Any) -> None:
    """200 items apply; the best two are code-triggered warnings. Only those two are
    evaluated, not the other 198 (a learner without a specialty: nothing later competes)."""
    warnings = [
        make_item(
            id=f"warning-{n}",
            indicator="warning",
            applies={"conditions": {"any_of": {"icd10": ["E11"]}}},
        )
        for n in range(2)
    ]
    plain = [
        make_item(id=f"plain-{n:03}", applies={"conditions": {"any_of": {"icd10": ["E11"]}}})
        for n in range(198)
    ]
    library = ContentLibrary([*plain, *warnings], make_terminology())
    facts = facts_from_resources([patient(), condition("E11.9", ICD10_URL)], at=AT, draft_orders=())
    evaluated = _counting_evaluations(monkeypatch)
    chosen = choose(
        library, facts, LearnerState(), FatiguePolicy(), hook="patient-view", at=AT, now=NOW
    )
    assert [m.item_id for m in chosen] == ["warning-0", "warning-1"]
    assert evaluated == ["warning-0", "warning-1"]
    assert len(match(library, facts, hook="patient-view", at=AT)) == 200


def test_equal_precedence_candidates_are_evaluated_by_id_until_settled(monkeypatch: Any) -> None:
    """Forty items of one precedence, in scrambled library order. Without a specialty the two
    smallest ids win and nothing else is evaluated; with one, the search goes on through the
    place until two in-specialty items are kept (item-21, the second cardiology item by id,
    ends it)."""
    spec = {"conditions": {"any_of": {"icd10": ["E11"]}}}
    cardiology = {7, 21, 30, 33}
    items = [
        make_item(
            id=f"item-{(n * 17) % 40:02}",
            applies=spec,
            audience={"specialties": ["cardiology"] if (n * 17) % 40 in cardiology else []},
        )
        for n in range(40)
    ]
    library = ContentLibrary(items, make_terminology())
    facts = facts_from_resources([patient(), condition("E11.9", ICD10_URL)], at=AT)
    evaluated = _counting_evaluations(monkeypatch)
    policy = FatiguePolicy(max_cards=2)

    chosen = choose(library, facts, LearnerState(), policy, hook="patient-view", at=AT, now=NOW)
    assert [m.item_id for m in chosen] == ["item-00", "item-01"]
    assert evaluated == ["item-00", "item-01"]

    evaluated.clear()
    state = LearnerState(specialty="cardiology")
    chosen = choose(library, facts, state, policy, hook="patient-view", at=AT, now=NOW)
    assert [m.item_id for m in chosen] == ["item-07", "item-21"]
    assert evaluated == [f"item-{n:02}" for n in range(22)]
    assert chosen == select(
        match(library, facts, hook="patient-view", at=AT), state, policy, now=NOW
    )


def test_an_equal_precedence_candidate_after_the_limit_still_competes() -> None:
    """max_cards=1: two items of equal precedence; the second in library order is in the
    learner's specialty and must win, so the search cannot stop at the first."""
    spec = {"conditions": {"any_of": {"icd10": ["E11"]}}}
    library = ContentLibrary(
        [
            make_item(id="a-general", applies=spec),
            make_item(id="b-cardiology", applies=spec, audience={"specialties": ["cardiology"]}),
        ],
        make_terminology(),
    )
    facts = facts_from_resources([patient(), condition("E11.9", ICD10_URL)], at=AT)
    state = LearnerState(specialty="cardiology")
    chosen = choose(
        library, facts, state, FatiguePolicy(max_cards=1), hook="patient-view", at=AT, now=NOW
    )
    assert [m.item_id for m in chosen] == ["b-cardiology"]
