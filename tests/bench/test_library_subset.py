"""The library-scaling comparison is like-for-like: the small library is a subset of the large
one that shows the benchmark bodies the same cards (`bench/scenarios.py: plan_subset`), and
the report refuses to judge a comparison whose probes saw different card counts. Structure
and card selection only: nothing here measures a time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from types import MappingProxyType

import pytest

from bench.bodies import standard_bodies
from bench.report import targets
from bench.scenarios import (
    SubsetPlan,
    body_facts,
    cards_agree,
    plan_subset,
    ranked_matches,
    write_subset,
)
from bench.servers import EVALUATION_DATE
from service.cards import (
    ContentLibrary,
    FatiguePolicy,
    LearnerState,
    PatientFacts,
    choose,
    load_library,
)
from service.cli import main as bedside

AT = date.fromisoformat(EVALUATION_DATE)
NOW = datetime(AT.year, AT.month, AT.day, 12, tzinfo=UTC)
BODIES = ("pv-50k", "pv-250k")  # what `library_scaling` sends
LARGE, SMALL = 10_000, 100  # the sizes the benchmark compares
Libraries = tuple[ContentLibrary, ContentLibrary, SubsetPlan, dict[str, tuple[str, PatientFacts]]]


@pytest.fixture(scope="module")
def libraries(tmp_path_factory: pytest.TempPathFactory) -> Libraries:
    """The benchmark's large library (`bedside content synth`), the subset `library_scaling`
    would build from it, both loaded, and the bodies' facts."""
    root = tmp_path_factory.mktemp("libraries")
    assert bedside(["content", "synth", "--count", str(LARGE), "--out", str(root / "large")]) == 0
    large = load_library(root / "large")
    bodies = standard_bodies()
    facts = {name: body_facts(bodies[name], AT) for name in BODIES}
    ranked = {name: ranked_matches(large, hook, f, AT) for name, (hook, f) in facts.items()}
    plan = plan_subset(large, ranked, SMALL)
    small = load_library(write_subset(root / "large", root / "small", plan.keep))
    return large, small, plan, facts


def _cards(library: ContentLibrary, facts: PatientFacts, shown: dict[str, datetime]) -> list[str]:
    state = LearnerState(recently_shown=MappingProxyType(dict(shown)))
    chosen = choose(library, facts, state, FatiguePolicy(), hook="patient-view", at=AT, now=NOW)
    return [candidate.item.id for candidate in chosen]


def test_the_small_library_is_a_subset_of_the_large_one(libraries: Libraries) -> None:
    large, small, plan, _ = libraries
    assert len(small) == SMALL == len(plan.keep)
    for item in small:
        assert large.get(item.id) == item


def test_its_applicable_items_are_the_large_librarys_best_ranked(libraries: Libraries) -> None:
    large, small, plan, facts = libraries
    for name, (hook, patient) in facts.items():
        in_large = ranked_matches(large, hook, patient, AT)
        in_small = ranked_matches(small, hook, patient, AT)
        # a prefix of the large library's ranking: no other applicable item got in
        assert in_small == in_large[: len(in_small)], name
        assert len(in_small) == plan.prefix[name]
        assert len(in_small) >= 2, name  # enough for the first call's max_cards
    assert plan.fillers == SMALL - len(
        {i for hook, patient in facts.values() for i in ranked_matches(small, hook, patient, AT)}
    )


def test_both_libraries_show_a_clinician_the_same_cards(libraries: Libraries) -> None:
    """The probe's first call, and the calls of a load run: the repeat window blocks what a
    clinician was shown, so each call goes further down the ranking; the small library keeps
    up for `plan.prefix[body] // 2` calls of a body."""
    large, small, plan, facts = libraries
    for name, (_, patient) in facts.items():
        assert _cards(small, patient, {}) == _cards(large, patient, {})
        assert len(_cards(large, patient, {})) == FatiguePolicy().max_cards
        shown: dict[str, datetime] = {}
        for call in range(plan.prefix[name] // 2):
            in_large = _cards(large, patient, shown)
            assert _cards(small, patient, shown) == in_large, (name, call)
            assert len(in_large) == FatiguePolicy().max_cards
            shown.update(dict.fromkeys(in_large, NOW))


def test_the_plain_prefix_library_would_not_be_comparable(libraries: Libraries) -> None:
    """What the benchmark compared before: `synth --count 100` is the first 100 items of the
    10,000 and shows these patients fewer cards (why the subset exists at all)."""
    large, _, _, facts = libraries
    prefix = ContentLibrary(large.items[:SMALL], large.terminology)
    assert any(
        len(_cards(prefix, patient, {})) < len(_cards(large, patient, {}))
        for _, patient in facts.values()
    )


def test_plan_subset_keeps_closed_prefixes(tmp_path: Path) -> None:
    assert bedside(["content", "synth", "--count", "300", "--out", str(tmp_path / "lib")]) == 0
    library = load_library(tmp_path / "lib")
    ids = [item.id for item in library.items]
    # everything fits: every applicable item is kept, the rest are fillers
    plan = plan_subset(library, {"a": [ids[7], ids[3]], "b": [ids[3], ids[250]]}, 10)
    assert plan.all_matches_kept
    assert plan.prefix == {"a": 2, "b": 2}
    assert plan.fillers == 7
    assert {ids[3], ids[7], ids[250]} <= set(plan.keep)
    assert len(plan.keep) == 10
    # too many: the best-ranked of each body, nothing ranked below them
    tight = plan_subset(library, {"a": ids[:6], "b": ids[10:16]}, 5)
    assert tight.prefix == {"a": 2, "b": 2}
    assert not tight.all_matches_kept
    assert set(tight.keep) == {ids[0], ids[1], ids[10], ids[11], ids[6]}
    # ids[1], kept for "a", ranks third for "b": b's prefix grows to include its second
    ranked = {"a": [ids[0], ids[1]], "b": [ids[2], ids[3], ids[1]]}
    assert plan_subset(library, ranked, 4).prefix == {"a": 2, "b": 3}
    narrow = plan_subset(library, ranked, 3)
    assert narrow.prefix == {"a": 1, "b": 1}
    assert set(narrow.keep) == {ids[0], ids[2], ids[4]}
    with pytest.raises(ValueError, match="too few"):
        plan_subset(library, {"a": ids[:250]}, 301)


def test_cards_agree_compares_counts_and_items() -> None:
    one = {"cards": 1, "items": ["x"]}
    assert cards_agree({"s": one, "l": one}) == {"count": True, "items": True}
    assert cards_agree({"s": one, "l": {"cards": 1, "items": ["y"]}}) == {
        "count": True,
        "items": False,
    }
    assert not cards_agree({"s": one, "l": {"cards": 2, "items": ["x", "y"]}})["count"]
    assert not cards_agree({"s": {"cards": -1, "items": []}, "l": {"cards": -1}})["count"]


def _library_results(small_cards: int, large_cards: int, *, after: bool) -> dict[str, object]:
    def row(cards: int, p50: float) -> dict[str, object]:
        return {
            "rps": 100.0,
            "p50_ms": p50,
            "p99_ms": 2 * p50,
            "cpu_ms_per_request": 3.0,
            "failures": 0,
            "probe": {"status": 200, "cards": cards},
        }

    bodies = {"pv-50k": {"library-100": row(2, 40.0), "library-10000": row(2, 42.0)}}
    library: dict[str, object] = {
        "bodies": bodies,
        "ratios_large_over_small": {"pv-50k": {"p50_ratio": 1.05}},
    }
    if after:
        probe = {"status": 200, "items": []}
        library["cards"] = {
            "pv-50k": {
                "library-100": {
                    "first": probe | {"cards": 2},
                    "after_load": probe | {"cards": small_cards},
                },
                "library-10000": {
                    "first": probe | {"cards": 2},
                    "after_load": probe | {"cards": large_cards},
                },
            }
        }
    else:
        bodies["pv-50k"]["library-100"]["probe"] = {"status": 200, "cards": small_cards}
        bodies["pv-50k"]["library-10000"]["probe"] = {"status": 200, "cards": large_cards}
    return {"library": library}


@pytest.mark.parametrize("after", [True, False])
def test_the_report_flags_a_comparison_with_unequal_cards(after: bool) -> None:
    name = "large / small library p50 latency"
    fair = next(t for t in targets(_library_results(2, 2, after=after)) if t["target"] == name)
    assert fair["met"] is True
    assert fair["value"] == 1.05
    assert not fair.get("note")
    unfair = next(t for t in targets(_library_results(0, 2, after=after)) if t["target"] == name)
    assert unfair["met"] is None
    assert unfair["value"] == 1.05
    assert "library-100 0" in unfair["note"]
    assert "library-10000 2" in unfair["note"]
