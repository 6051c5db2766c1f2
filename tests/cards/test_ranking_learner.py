"""Ranking that knows the learner (issue 20, item 3): within one precedence place, goal and
missed topics rise, items never shown come before ones shown, mastered ones drop, then the
specialty, then the id; the learner never lifts an item over a better place (safety first).
And why a card was shown, as a code and as one line of plain words."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.cards import matching
from service.cards.facts import PatientFacts, facts_from_resources
from service.cards.library import BUNDLED_DIR, ContentLibrary
from service.cards.matching import Match, match
from service.cards.precedence import item_key
from service.cards.ranking import (
    FatiguePolicy,
    LearnerState,
    choose,
    select,
    why_code,
    why_codes,
)
from service.cards.topics import parse_topics
from service.cards.why import DEFAULT_WHY, why_line
from tests.cards.factories import (
    ICD10_URL,
    case_block,
    condition,
    make_item,
    make_terminology,
    patient,
)
from tests.cards.test_choose_property import TOPICS, learner_states
from tests.cards.test_index_property import AT
from tests.cards.test_ranking import make_match

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
SPEC = {"conditions": {"any_of": {"icd10": ["E11"]}}}


def _ids(chosen: list[Match]) -> list[str]:
    return [m.item_id for m in chosen]


def ranked(matches: list[Match], state: LearnerState, **kwargs: Any) -> list[str]:
    policy = FatiguePolicy(max_cards=len(matches))
    return _ids(select(matches, state, policy, now=NOW, **kwargs))


def test_a_goal_topic_rises_within_its_place() -> None:
    other = make_match("a-other", topics=["lipids"])
    goal = make_match("b-goal", topics=["diabetes", "kidney"])
    assert ranked([other, goal], LearnerState()) == ["a-other", "b-goal"]
    assert ranked([other, goal], LearnerState(goals=frozenset({"kidney"}))) == ["b-goal", "a-other"]


def test_no_learner_signal_lifts_an_item_over_a_more_urgent_one() -> None:
    """A warning (an interaction) outranks an info card the learner asked for, missed, never
    saw and has in their specialty; a guideline outranks such a case on the same criteria."""
    warning = make_match("z-warning", indicator="warning", topics=["lipids"])
    favourite = make_match(
        "a-favourite", topics=["diabetes"], audience={"specialties": ["endocrinology"]}
    )
    state = LearnerState(
        goals=frozenset({"diabetes"}),
        missed={"a-favourite": NOW - timedelta(days=3)},
        recently_shown={"z-warning": NOW - timedelta(days=200)},
        mastered=frozenset({"z-warning"}),
        specialty="endocrinology",
    )
    assert ranked([favourite, warning], state) == ["z-warning", "a-favourite"]
    guideline = make_match("z-guideline")
    case = make_match(
        "a-case", type="case", case=case_block(), credit={"format": "enduring"}, topics=["lipids"]
    )
    lifted = LearnerState(goals=frozenset({"lipids"}), missed={"a-case": NOW})
    assert ranked([case, guideline], lifted) == ["z-guideline", "a-case"]


def test_a_missed_item_and_its_topic_rise_until_mastered() -> None:
    library = ContentLibrary(
        [make_item(id="missed-case", type="case", case=case_block(), topics=["kidney"])]
    )
    plain = make_match("a-plain", topics=["lipids"])
    same_topic = make_match("b-kidney", topics=["kidney"])
    missed_case = make_match("c-missed", topics=[])
    state = LearnerState(missed={"missed-case": NOW - timedelta(days=9), "c-missed": NOW})
    matches = [plain, same_topic, missed_case]
    # the missed item itself rises without a library; its topic needs the library
    assert ranked(matches, state) == ["c-missed", "a-plain", "b-kidney"]
    assert ranked(matches, state, library=library) == ["b-kidney", "c-missed", "a-plain"]
    mastered = LearnerState(missed=state.missed, mastered=frozenset({"missed-case", "c-missed"}))
    # answered well twice: no longer a miss; the item and its topic drop below the others
    assert ranked(matches, mastered, library=library) == ["a-plain", "b-kidney", "c-missed"]


def test_a_miss_after_now_does_not_count_yet() -> None:
    state = LearnerState(missed={"b": NOW + timedelta(days=1)})
    assert ranked([make_match("a"), make_match("b")], state) == ["a", "b"]


def test_items_never_shown_come_before_items_shown_before() -> None:
    """Shown 40 days ago (outside the 30-day window, so not hidden): after any new item of
    its place, and after a new one even when it is in the learner's specialty."""
    shown = make_match("a-shown", audience={"specialties": ["cardiology"]})
    new = make_match("b-new")
    state = LearnerState(
        recently_shown={"a-shown": NOW - timedelta(days=40)}, specialty="cardiology"
    )
    assert ranked([shown, new], state) == ["b-new", "a-shown"]
    # on the chart that showed it when last opened, it is not "shown before": it keeps its place
    assert ranked([shown, new], state, on_chart=frozenset({"a-shown"})) == ["a-shown", "b-new"]


def test_mastered_topics_drop_behind_the_specialty() -> None:
    library = ContentLibrary(
        [make_item(id="done-case", type="case", case=case_block(), topics=["lipids"])]
    )
    lipids = make_match("a-lipids", topics=["lipids"], audience={"specialties": ["cardiology"]})
    other = make_match("b-other", topics=["kidney"])
    untagged = make_match("c-untagged")
    state = LearnerState(
        missed={"done-case": NOW - timedelta(days=30)},
        mastered=frozenset({"done-case"}),
        specialty="cardiology",
    )
    matches = [lipids, other, untagged]
    assert ranked(matches, state) == ["a-lipids", "b-other", "c-untagged"]  # no library: no topic
    assert ranked(matches, state, library=library) == ["b-other", "c-untagged", "a-lipids"]


def _counting(monkeypatch: Any) -> list[str]:
    evaluated: list[str] = []
    evaluate = matching._evaluate

    def counting(entry: Any, view: Any) -> Any:
        evaluated.append(entry.item.id)
        return evaluate(entry, view)

    monkeypatch.setattr(matching, "_evaluate", counting)
    return evaluated


def _one_place(topics: dict[int, list[str]]) -> ContentLibrary:
    items = [
        make_item(id=f"item-{(n * 17) % 40:02}", applies=SPEC, topics=topics.get((n * 17) % 40, []))
        for n in range(40)
    ]
    return ContentLibrary(items, make_terminology())


def _diabetic() -> PatientFacts:
    return facts_from_resources([patient(), condition("E11.9", ICD10_URL)], at=AT)


def test_the_early_stop_waits_for_items_the_learner_has_not_seen(monkeypatch: Any) -> None:
    library, facts = _one_place({}), _diabetic()
    evaluated = _counting(monkeypatch)
    now = datetime(2021, 4, 1, 12, tzinfo=UTC)
    state = LearnerState(recently_shown=dict.fromkeys(["item-00", "item-01"], now - timedelta(90)))
    chosen = choose(library, facts, state, FatiguePolicy(), hook="patient-view", at=AT, now=now)
    assert _ids(chosen) == ["item-02", "item-03"]
    assert evaluated == ["item-00", "item-01", "item-02", "item-03"]


def test_the_early_stop_waits_for_goal_topics(monkeypatch: Any) -> None:
    library, facts = _one_place({7: ["diabetes"], 21: ["diabetes"], 30: ["diabetes"]}), _diabetic()
    evaluated = _counting(monkeypatch)
    now = datetime(2021, 4, 1, 12, tzinfo=UTC)
    state = LearnerState(goals=frozenset({"diabetes"}))
    chosen = choose(library, facts, state, FatiguePolicy(), hook="patient-view", at=AT, now=now)
    assert _ids(chosen) == ["item-07", "item-21"]
    assert evaluated == [f"item-{n:02}" for n in range(22)]


@st.composite
def one_place_libraries(draw: st.DrawFn) -> ContentLibrary:
    """Items that all match `_diabetic()`, in two precedence places at most (info, warning):
    ties at the cutoff place, where the learner's key decides, are the rule here."""
    items = [
        make_item(
            id=f"item-{(n * 5) % 14}",
            applies=SPEC,
            indicator=draw(st.sampled_from(["info", "info", "warning"])),
            topics=draw(st.lists(st.sampled_from(TOPICS), max_size=2, unique=True)),
            audience={"specialties": draw(st.sampled_from([[], ["cardiology"]]))},
        )
        for n in range(draw(st.integers(0, 14)))
    ]
    return ContentLibrary(items, make_terminology())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    library=one_place_libraries(),
    state=learner_states(),
    max_cards=st.integers(1, 4),
    window=st.sampled_from([0, 30]),
    on_chart=st.frozensets(st.sampled_from([f"item-{n}" for n in range(14)]), max_size=3),
)
def test_choose_equals_select_where_the_learner_decides(
    library: ContentLibrary,
    state: LearnerState,
    max_cards: int,
    window: int,
    on_chart: frozenset[str],
) -> None:
    facts, now = _diabetic(), datetime(2021, 4, 1, 12, tzinfo=UTC)
    policy = FatiguePolicy(max_cards=max_cards, repeat_window_days=window)
    matches = match(library, facts, hook="patient-view", at=AT)
    expected = select(matches, state, policy, now=now, on_chart=on_chart, library=library)
    chosen = choose(
        library, facts, state, policy, hook="patient-view", at=AT, now=now, on_chart=on_chart
    )
    assert chosen == expected


@settings(max_examples=300, deadline=None)
@given(
    looks=st.lists(
        st.tuples(
            st.sampled_from(["info", "warning", "critical"]),
            st.booleans(),
            st.integers(1, 3),
            st.sampled_from(TOPICS),
        ),
        max_size=8,
    ),
    state=learner_states(),
)
def test_learner_signals_never_change_the_precedence_order(
    looks: list[tuple[str, bool, int, str]], state: LearnerState
) -> None:
    """Whatever the learner's goals, misses, history or mastery: the chosen cards are in
    precedence order, and no card is left out for a worse-placed one."""
    now = datetime(2021, 4, 1, 12, tzinfo=UTC)
    matches = [
        Match(make_item(id=f"item-{n}", indicator=indicator, topics=[topic]), ["r"], code, count)
        for n, (indicator, code, count, topic) in enumerate(looks)
    ]
    policy = FatiguePolicy(max_cards=2)
    chosen = select(matches, state, policy, now=now)
    unranked = select(matches, LearnerState(**_hiding(state)), policy, now=now)

    def key(m: Match) -> tuple[int, ...]:
        return item_key(m.item, code_triggered=m.code_triggered, criteria_count=m.criteria_count)

    assert [key(m) for m in chosen] == sorted(key(m) for m in chosen)
    assert [key(m) for m in chosen] == [key(m) for m in unranked]


def _hiding(state: LearnerState) -> dict[str, Any]:
    """Only what hides items (the same candidates), none of what ranks them."""
    return {
        "recently_shown": state.recently_shown,
        "dismissed": state.dismissed,
        "snoozed_until": state.snoozed_until,
        "learned": state.learned,
        "profession": state.profession,
    }


# --- why this card -------------------------------------------------------------------------


def _topics() -> dict[str, str]:
    path = BUNDLED_DIR / "topics.yaml"
    topics, issues = parse_topics(path.read_text(encoding="utf-8"), path.name)
    assert not issues
    return dict(topics)


TODAY = date(2026, 12, 6)


def test_why_lines_say_it_in_plain_words() -> None:
    topics = _topics()
    assert (
        why_line("goal:diabetes", topics, TODAY)
        == "You asked to focus on Diabetes and prediabetes."
    )
    assert (
        why_line("missed:2026-11-27", topics, TODAY) == "You missed a question on this 9 days ago."
    )
    assert (
        why_line("missed:2026-12-05", topics, TODAY) == "You missed a question on this yesterday."
    )
    assert why_line("unsure:2026-12-06", topics, TODAY) == (
        "You marked a question on this as unsure today."
    )
    assert why_line("recall:2026-11-27", topics, TODAY) == (
        "A question from 9 days ago is due for a quick review."
    )
    assert why_line("new", topics, TODAY) == "New to you."
    assert why_line("specialty", topics, TODAY) == "In your specialty."
    assert why_line(None, topics, TODAY) == "It matches this patient's record."


def test_unknown_or_garbled_codes_give_the_default_line() -> None:
    topics = _topics()
    for code in (
        "",
        "goal:",
        "goal:no-such-topic",
        "missed:",
        "missed:27/11/2026",
        "missed:2026-12-07",  # after today
        "recall:yesterday",
        "new:x",
        "specialty:cardiology",
        "because",
        "goal:diabetes:extra",
    ):
        assert why_line(code, topics, TODAY) == DEFAULT_WHY, code


@given(code=st.text(max_size=90), days=st.integers(-1000, 1000))
def test_why_line_answers_any_code_with_one_sentence(code: str, days: int) -> None:
    line = why_line(code, {"diabetes": "Diabetes and prediabetes"}, TODAY + timedelta(days))
    assert line.endswith(".")
    assert "\n" not in line


def test_why_codes_follow_the_ranking_signals() -> None:
    library = ContentLibrary(
        [make_item(id="kidney-case", type="case", case=case_block(), topics=["kidney"])]
    )
    state = LearnerState(
        goals=frozenset({"diabetes"}),
        missed={
            "own-miss": datetime(2026, 11, 27, 9, tzinfo=UTC),
            "own-unsure": datetime(2026, 11, 30, 9, tzinfo=UTC),
            "kidney-case": datetime(2026, 11, 20, 9, tzinfo=UTC),
        },
        unsure=frozenset({"own-unsure"}),
        recently_shown={"seen": NOW - timedelta(days=60), "seen-cardio": NOW - timedelta(days=60)},
        specialty="cardiology",
    )
    cases: dict[str, tuple[str | None, dict[str, Any]]] = {
        "own-miss": ("missed:2026-11-27", {"topics": ["diabetes"]}),
        "own-unsure": ("unsure:2026-11-30", {}),
        "goal": ("goal:diabetes", {"topics": ["kidney", "diabetes"]}),
        "kidney": ("missed:2026-11-20", {"topics": ["kidney"]}),
        "fresh": ("new", {"audience": {"specialties": ["cardiology"]}}),
        "seen-cardio": ("specialty", {"audience": {"specialties": ["cardiology"]}}),
        "seen": (None, {}),
    }
    matches = [make_match(item_id, **extra) for item_id, (_, extra) in cases.items()]
    codes = why_codes(matches, state, NOW, library=library)
    assert dict(zip(cases, codes, strict=True)) == {k: code for k, (code, _) in cases.items()}
    seen_on_chart = why_code(matches[-1], state, NOW, on_chart=frozenset({"seen"}))
    assert seen_on_chart == "new"  # as ranked there: a reopened chart says what it said


@given(state=learner_states())
def test_every_why_code_reads_as_a_line_of_its_own(state: LearnerState) -> None:
    items = [make_item(id=f"item-{n}", topics=[TOPICS[n % 3]]) for n in range(14)]
    topics = {topic: topic.title() for topic in TOPICS}
    for code in why_codes([Match(i, ["r"], True, 1) for i in items], state, NOW):
        assert code is None or len(code) <= 80
        line = why_line(code, topics, NOW.date() + timedelta(days=90))
        assert (line == DEFAULT_WHY) == (code is None)
