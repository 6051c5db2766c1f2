"""Ranking and the fatigue policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from service.cards.matching import Match
from service.cards.ranking import FatiguePolicy, LearnerState, grade_rank, select
from tests.cards.factories import make_item

NOW = datetime(2021, 4, 1, 12, tzinfo=UTC)


def make_match(
    item_id: str, *, code: bool = True, criteria: int = 1, grade: str = "B", **overrides: Any
) -> Match:
    source = {
        "organization": "USPSTF",
        "title": "T",
        "year": 2021,
        "url": "https://example.org",
        "grade": grade,
    }
    item = make_item(id=item_id, source=source, **overrides)
    return Match(item, ["reason"], code, criteria)


def ranked(matches: list[Match], state: LearnerState | None = None, **policy: int) -> list[str]:
    chosen = select(matches, state or LearnerState(), FatiguePolicy(**policy), now=NOW)
    return [m.item.id for m in chosen]


def test_default_policy_caps_at_two() -> None:
    matches = [make_match(f"item-{i}") for i in range(5)]
    assert len(ranked(matches)) == 2
    assert len(ranked(matches, max_cards=4)) == 4


def test_code_triggered_beats_demographic() -> None:
    matches = [make_match("demo", code=False, criteria=3), make_match("code", criteria=1)]
    assert ranked(matches) == ["code", "demo"]


def test_more_criteria_rank_higher() -> None:
    assert ranked([make_match("one"), make_match("three", criteria=3)]) == ["three", "one"]


def test_grade_ranks() -> None:
    matches = [make_match("c", grade="C"), make_match("a", grade="A"), make_match("b")]
    assert ranked(matches, max_cards=3) == ["a", "b", "c"]
    assert grade_rank("Category B, type 3 evidence") == 1
    assert grade_rank("Strong recommendation") == 0
    assert grade_rank(None) > grade_rank("whatever")


def test_specialty_breaks_ties() -> None:
    cardio = make_match("cardio", audience={"specialties": ["cardiology"]})
    other = make_match("aaa-other")
    assert ranked([other, cardio], LearnerState(specialty="cardiology")) == ["cardio", "aaa-other"]


def test_dismissed_learned_snoozed_removed() -> None:
    matches = [make_match(name) for name in ("d", "l", "s", "ok")]
    state = LearnerState(
        dismissed=frozenset({"d"}),
        learned=frozenset({"l"}),
        snoozed_until={"s": NOW + timedelta(days=1)},
    )
    assert ranked(matches, state, max_cards=5) == ["ok"]


def test_expired_snooze_shows_again() -> None:
    state = LearnerState(snoozed_until={"s": NOW - timedelta(seconds=1)})
    assert ranked([make_match("s")], state) == ["s"]


def test_repeat_window() -> None:
    state = LearnerState(
        recently_shown={"recent": NOW - timedelta(days=29), "old": NOW - timedelta(days=31)}
    )
    matches = [make_match("recent"), make_match("old")]
    assert ranked(matches, state) == ["old"]
    assert ranked(matches, state, repeat_window_days=7) == ["old", "recent"]


def test_profession_filter() -> None:
    pharm = make_match("pharm", audience={"professions": ["pharmacist"]})
    anyone = make_match("anyone")
    assert ranked([pharm, anyone], LearnerState(profession="physician")) == ["anyone"]
    assert ranked([pharm, anyone], LearnerState()) == ["anyone", "pharm"]


def test_duplicates_collapse() -> None:
    assert ranked([make_match("x"), make_match("x")]) == ["x"]


def test_acc_aha_class_of_recommendation_is_read_as_such() -> None:
    from service.cards.ranking import grade_rank

    assert grade_rank("Class I, level A") == 0
    assert grade_rank("Class 1, strong") == 0
    assert grade_rank("Class IIa") == 1
    assert grade_rank("Class 2b") == 2
    assert grade_rank("Class III: no benefit") == 4
    assert grade_rank("I") == 4  # USPSTF I: insufficient evidence


def test_warning_outranks_info_and_guideline_outranks_case_on_a_tie() -> None:
    from datetime import UTC, datetime

    from service.cards.matching import Match
    from service.cards.ranking import FatiguePolicy, LearnerState, select
    from tests.cards.factories import case_block, make_item

    now = datetime(2021, 4, 1, tzinfo=UTC)
    info = make_item(id="a-info", indicator="info")
    warning = make_item(id="z-warning", indicator="warning")
    chosen = select(
        [Match(info, ["r"], True, 2), Match(warning, ["r"], True, 1)],
        LearnerState(),
        FatiguePolicy(max_cards=1),
        now=now,
    )
    assert [m.item.id for m in chosen] == ["z-warning"]
    case = make_item(id="a-case", type="case", case=case_block(), credit={"format": "enduring"})
    guideline = make_item(id="z-guideline")
    chosen = select(
        [Match(case, ["r"], True, 1), Match(guideline, ["r"], True, 1)],
        LearnerState(),
        FatiguePolicy(max_cards=1),
        now=now,
    )
    assert [m.item.id for m in chosen] == ["z-guideline"]
