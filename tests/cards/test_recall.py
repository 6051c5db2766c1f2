"""The contextual recall card (issue 20, items 2 and 5), pure: for the clinical panel's
patients (expectations written from the guideline text), a due case question is recalled
where the guideline covers the patient, never for a patient the item's kinds exclude, never
on a call with a critical card, never in place of a card (it counts in the cap) and not
again within a day; and for any library, patient and learner, what it offers holds."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.cards.facts import PatientFacts, facts_from_resources
from service.cards.library import ContentLibrary, load_library
from service.cards.matching import Match, explain
from service.cards.ranking import FatiguePolicy, LearnerState, ReviewDue, choose
from service.cards.recall import RECALL_GAP, offer_recall, recall_allowed
from service.cards.resources import resources_from_bundle
from tests.cards.clinical_panel import PanelCase, bundle_of, draft_orders_of, load_panel
from tests.cards.factories import make_item
from tests.cards.test_choose_property import NOW as PROPERTY_NOW
from tests.cards.test_choose_property import learner_states, libraries
from tests.cards.test_index_property import AT, patients

CASES = load_panel()
WIDE = FatiguePolicy(max_cards=40)  # more than any panel patient matches: room is left


@pytest.fixture(scope="module")
def library() -> ContentLibrary:
    return load_library()


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def _facts(library: ContentLibrary, case: PanelCase) -> PatientFacts:
    return facts_from_resources(
        resources_from_bundle(bundle_of(case)),
        at=case.at,
        draft_orders=draft_orders_of(case),
        terminology=library.terminology,
        observations=library.observation_codes,
    )


def _review(now: datetime, *, overdue_days: int = 1, reason: str = "missed") -> ReviewDue:
    queued = now - timedelta(days=overdue_days + 1)
    return ReviewDue(str(uuid.uuid4()), "q1", reason, queued, now - timedelta(days=overdue_days))


def _learner(now: datetime, *item_ids: str, **extra: object) -> LearnerState:
    """A learner who did these cases (their cycles complete: learned) and missed a question of
    each, now due."""
    reviews = {item_id: _review(now, overdue_days=n + 1) for n, item_id in enumerate(item_ids)}
    return LearnerState(
        learned=frozenset(item_ids),
        missed={item_id: review.queued_at for item_id, review in reviews.items()},
        due_reviews=reviews,
        **extra,  # type: ignore[arg-type]
    )


def _case_items(library: ContentLibrary) -> frozenset[str]:
    return frozenset(item.id for item in library if item.case is not None)


def _offer(
    library: ContentLibrary,
    case: PanelCase,
    state: LearnerState,
    chosen: list[Match] | None = None,
    policy: FatiguePolicy = WIDE,
) -> tuple[list[Match], str | None]:
    now, facts = _noon(case.at), _facts(library, case)
    if chosen is None:
        chosen = choose(library, facts, state, policy, hook=case.hook, at=case.at, now=now)
    recall = offer_recall(
        library, facts, state, chosen, policy, hook=case.hook, at=case.at, now=now
    )
    return chosen, recall.item.id if recall is not None else None


def test_a_due_question_is_recalled_where_the_guideline_covers_the_patient(
    library: ContentLibrary,
) -> None:
    """Each panel patient whose reviewers expect a case: a learner with a question of that
    case due gets one recall card for it, after the same cards a learner without it gets."""
    cases = _case_items(library)
    recalled = 0
    for case in CASES:
        for item_id in sorted(case.must & cases):
            state = _learner(_noon(case.at), item_id)
            chosen, recall = _offer(library, case, state)
            without, _ = _offer(library, case, replace(state, due_reviews={}))
            assert chosen == without, case.id  # the recall card never changes the cards
            assert recall == item_id, case.id
            full = FatiguePolicy(max_cards=len(chosen))
            in_full = _offer(library, case, state, chosen, full)[1]  # it counts in the cap:
            if chosen and chosen[-1].item.indicator == "info":
                assert in_full == item_id, case.id  # in the place of the last, teaching card
            else:
                assert in_full is None, case.id  # never in a warning's place
            recalled += 1
    assert recalled >= 40  # every (patient, expected case) pair of the panel: 49 when written


def test_never_for_a_patient_the_guideline_or_the_kinds_exclude(library: ContentLibrary) -> None:
    """Each panel patient who must never see a case (hospice, hysterectomy, a BRCA carrier...):
    a due question of that case is not recalled on their chart, whatever the learner's
    state of the item."""
    cases = _case_items(library)
    checked = 0
    for case in CASES:
        for item_id in sorted(case.never & cases):
            state = _learner(_noon(case.at), item_id)
            assert _offer(library, case, state, chosen=[])[1] is None, (case.id, item_id)
            checked += 1
    assert checked >= 150


def test_never_on_a_call_with_a_critical_card(library: ContentLibrary) -> None:
    """The panel's patients who must get a critical card (an ACE inhibitor in pregnancy,
    metformin with an eGFR below 30, codeine for a child): no recall card on those calls,
    though one would be offered there without the critical card."""
    cases = _case_items(library)
    would_have = 0
    for case in CASES:
        criticals = {
            i for i in case.must if (item := library.get(i)) and item.indicator == "critical"
        }
        if not criticals:
            continue
        state = _learner(_noon(case.at), *sorted(cases))
        chosen, recall = _offer(library, case, state)
        assert criticals <= {m.item_id for m in chosen}, case.id
        assert recall is None, case.id
        rest = [m for m in chosen if m.item.indicator != "critical"]
        would_have += _offer(library, case, state, chosen=rest)[1] is not None
    assert would_have >= 2


def test_at_most_once_a_day(library: ContentLibrary) -> None:
    case = next(c for c in CASES if c.id == "cx-t2dm-adult-gets-case")
    now = _noon(case.at)
    for since, offered in (
        (timedelta(hours=1), False),
        (RECALL_GAP - timedelta(seconds=1), False),
        (RECALL_GAP, True),
        (timedelta(days=3), True),
    ):
        state = _learner(now, "case-t2dm-new-diagnosis", last_recall_at=now - since)
        recall = _offer(library, case, state)[1]
        assert (recall == "case-t2dm-new-diagnosis") is offered, since


def test_the_longest_overdue_question_that_matches_comes_first(library: ContentLibrary) -> None:
    """Three questions due: the most overdue is of a case the library no longer has, the
    next of the PrEP case (never for a patient who has HIV), the last of the syphilis
    screening case (which the guideline gives him): that one is recalled."""
    case = next(c for c in CASES if c.id == "cb-prep-has-hiv")
    now = _noon(case.at)
    assert "case-syphilis-screening-latent" in case.must
    assert "case-hiv-prep-start" in case.never
    reviews = {
        "retired-case": _review(now, overdue_days=40),
        "case-hiv-prep-start": _review(now, overdue_days=30),
        "case-syphilis-screening-latent": _review(now, overdue_days=2),
    }
    state = LearnerState(learned=frozenset(reviews), due_reviews=reviews)
    assert _offer(library, case, state)[1] == "case-syphilis-screening-latent"
    later = {**reviews, "case-syphilis-screening-latent": _review(now, overdue_days=-1)}
    assert _offer(library, case, replace(state, due_reviews=later))[1] is None  # due tomorrow


def test_no_recall_without_room_a_due_question_or_a_match() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    due = LearnerState(due_reviews={"x": _review(now)})
    assert recall_allowed(due, [], FatiguePolicy(max_cards=1), now)
    assert not recall_allowed(due, [], FatiguePolicy(max_cards=0), now)
    warning, info = (_match(indicator) for indicator in ("warning", "info"))
    assert not recall_allowed(due, [info, warning], FatiguePolicy(max_cards=2), now)
    assert recall_allowed(due, [warning, info], FatiguePolicy(max_cards=2), now)
    assert not recall_allowed(LearnerState(), [], FatiguePolicy(), now)
    assert (
        offer_recall(
            ContentLibrary([]),
            _facts_any(),
            due,
            [],
            FatiguePolicy(),
            hook="patient-view",
            at=AT,
            now=now,
        )
        is None
    )  # an item the library no longer has


def _match(indicator: str) -> Match:
    item = make_item(id=f"a-{indicator}-card", indicator=indicator)
    return Match(item, [], code_triggered=False, criteria_count=1)


def _facts_any() -> PatientFacts:
    return facts_from_resources([], at=AT)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    library=libraries(),
    facts=patients(),
    state=learner_states(),
    due=st.dictionaries(
        st.sampled_from([f"item-{n}" for n in range(14)]), st.integers(-5, 5), max_size=5
    ),
    chosen_count=st.integers(0, 3),
    max_cards=st.integers(0, 4),
    recalled_hours_ago=st.none() | st.integers(0, 48),
    hook=st.sampled_from(["patient-view", "order-select"]),
)
def test_what_is_offered_holds_for_any_library_patient_and_learner(
    library: ContentLibrary,
    facts: PatientFacts,
    state: LearnerState,
    due: dict[str, int],
    chosen_count: int,
    max_cards: int,
    recalled_hours_ago: int | None,
    hook: str,
) -> None:
    now = PROPERTY_NOW
    reviews = {item_id: _review(now, overdue_days=days) for item_id, days in due.items()}
    last = None if recalled_hours_ago is None else now - timedelta(hours=recalled_hours_ago)
    learner = LearnerState(
        learned=state.learned, dismissed=state.dismissed, due_reviews=reviews, last_recall_at=last
    )
    policy = FatiguePolicy(max_cards=max_cards)
    chosen = choose(
        library, facts, learner, FatiguePolicy(max_cards=chosen_count), hook=hook, at=AT, now=now
    )
    recall = offer_recall(library, facts, learner, chosen, policy, hook=hook, at=AT, now=now)
    # a free place under the cap, or the last card's when the cap is full and it only teaches
    if len(chosen) < max_cards:
        place: int | None = len(chosen)
    elif max_cards > 0 and len(chosen) == max_cards and chosen[-1].item.indicator == "info":
        place = max_cards - 1
    else:
        place = None
    displaced = chosen[place] if place is not None and place < len(chosen) else None
    eligible = sorted(
        (review.due, item_id)
        for item_id, review in reviews.items()
        if review.due <= now
        and item_id not in {m.item_id for m in chosen if m is not displaced}
        and explain(library, facts, item_id, hook=hook, at=AT).applies
    )
    allowed = (
        place is not None
        and all(m.item.indicator != "critical" for m in chosen)
        and (last is None or now - last >= timedelta(hours=24))
    )
    if not allowed or not eligible:
        assert recall is None
    else:
        assert recall is not None
        assert recall.displaces is displaced
        assert recall.item.id == eligible[0][1]
        assert recall.review == reviews[recall.item.id]
        assert recall.why == f"recall:{recall.review.queued_at.date().isoformat()}"
