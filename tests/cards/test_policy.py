"""The library's named facts and safety policy: `content check` refuses a policy that cannot
be honoured, the compiler applies a kind's exclusions to every item of that kind, facts are
evaluated once per call, and explanations name the policy, value set and code."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml

from service.cards.criteria import FactView
from service.cards.facts import facts_from_resources
from service.cards.library import ContentLibrary
from service.cards.loader import read_library
from service.cards.matching import explain, match
from tests.cards.factories import (
    ICD10_URL,
    condition,
    item_data,
    patient,
    write_library,
)

AT = date(2026, 12, 1)
FACTS = {
    "facts": {
        "palliative-care": {
            "title": "Palliative care",
            "any": [{"conditions": {"any_of": {"valuesets": ["palliative"]}}}],
        },
        "old-mi": {
            "title": "Myocardial infarction, ever",
            "any": [{"conditions": {"ever": True, "any_of": {"snomed": ["22298006"]}}}],
        },
    }
}
POLICY = {
    "kinds": {
        "screening": {"title": "Screening", "excluded_by": ["palliative-care"]},
        "primary-prevention": {"title": "Primary prevention", "excluded_by": ["old-mi"]},
    }
}
VALUESETS = {"palliative": {"icd10": ["Z51.5"]}}
SCREENING = {"age": {"min": 50}}


def _library(root: Path, items: list[dict[str, Any]], **files: Any) -> Path:
    write_library(root, items, valuesets=VALUESETS)
    for name, data in {"facts.yaml": FACTS, "policy.yaml": POLICY, **files}.items():
        (root / name).write_text(yaml.safe_dump(data), encoding="utf-8")
    return root


def _messages(root: Path) -> list[str]:
    return [issue.message for issue in read_library(root).errors]


def test_a_valid_policy_checks_clean(tmp_path: Path) -> None:
    root = _library(tmp_path, [item_data(kinds=["screening"], applies=SCREENING)])
    assert _messages(root) == []


def test_an_item_without_kinds_fails_where_the_library_has_a_policy(tmp_path: Path) -> None:
    root = _library(tmp_path, [item_data(applies=SCREENING)])
    assert any("kinds: missing" in message for message in _messages(root))


def test_unknown_kinds_and_facts_fail(tmp_path: Path) -> None:
    data = item_data(kinds=["nonsense"], applies={"facts": {"any_of": ["no-such-fact"]}})
    messages = _messages(_library(tmp_path, [data]))
    assert any("unknown kind 'nonsense'" in message for message in messages)
    assert any("unknown fact 'no-such-fact'" in message for message in messages)


def test_an_exclusion_that_cannot_be_honoured_fails(tmp_path: Path) -> None:
    facts = {
        "facts": {
            **FACTS["facts"],
            "palliative-care": {
                "title": "Palliative care",
                "any": [{"conditions": {"any_of": {"valuesets": ["missing-set"]}}}],
            },
        }
    }
    root = _library(tmp_path, [item_data(kinds=["screening"], applies=SCREENING)])
    (root / "facts.yaml").write_text(yaml.safe_dump(facts), encoding="utf-8")
    messages = _messages(root)
    assert any("unknown value set 'missing-set'" in message for message in messages)
    assert any("cannot be honoured" in message for message in messages)


def test_a_kind_naming_an_unknown_fact_fails(tmp_path: Path) -> None:
    policy = {"kinds": {"screening": {"title": "S", "excluded_by": ["hospice"]}}}
    root = _library(tmp_path, [item_data(kinds=["screening"], applies=SCREENING)])
    (root / "policy.yaml").write_text(yaml.safe_dump(policy), encoding="utf-8")
    assert any("unknown fact 'hospice'" in message for message in _messages(root))


def test_cyclic_facts_fail(tmp_path: Path) -> None:
    facts = {
        "facts": {
            **FACTS["facts"],
            "a": {"title": "A", "any": [{"facts": {"any_of": ["b"]}}]},
            "b": {"title": "B", "any": [{"facts": {"any_of": ["a"]}}]},
        }
    }
    root = _library(tmp_path, [item_data(kinds=["screening"], applies=SCREENING)])
    (root / "facts.yaml").write_text(yaml.safe_dump(facts), encoding="utf-8")
    assert any("fact 'a' is cyclic" in message for message in _messages(root))


def test_an_item_requiring_a_fact_its_kind_excludes_fails(tmp_path: Path) -> None:
    data = item_data(kinds=["primary-prevention"], applies={"facts": {"all_of": ["old-mi"]}})
    messages = _messages(_library(tmp_path, [data]))
    assert any("could never show" in message for message in messages)


def _loaded(root: Path) -> ContentLibrary:
    loaded = read_library(root)
    assert not loaded.errors, loaded.errors
    return ContentLibrary(loaded.items, loaded.terminology, policy=loaded.policy)


def test_the_kind_excludes_every_item_of_it(tmp_path: Path) -> None:
    items = [
        item_data(id="screen-a", kinds=["screening"], applies=SCREENING),
        item_data(id="screen-b", kinds=["screening"], applies={"age": {"min": 60}}),
        item_data(id="other", kinds=["primary-prevention"], applies=SCREENING),
    ]
    library = _loaded(_library(tmp_path, items))
    palliative = condition("Z51.5", ICD10_URL, display="Encounter for palliative care")
    facts = facts_from_resources([patient("1950-01-01"), palliative], at=AT)
    assert {m.item.id for m in match(library, facts, hook="patient-view", at=AT)} == {"other"}
    result = explain(library, facts, "screen-a", hook="patient-view", at=AT)
    assert not result.applies
    assert any(
        "policy: screening items exclude palliative-care" in reason
        and "[value set palliative]" in reason
        for reason in result.reasons_against
    )


def test_a_resolved_condition_counts_only_where_ever_is_set(tmp_path: Path) -> None:
    items = [item_data(id="primary", kinds=["primary-prevention"], applies=SCREENING)]
    library = _loaded(_library(tmp_path, items))
    resolved_mi = condition("22298006", clinical="resolved", display="Myocardial infarction")
    facts = facts_from_resources([patient("1950-01-01"), resolved_mi], at=AT)
    assert match(library, facts, hook="patient-view", at=AT) == []


def test_a_fact_is_evaluated_once_per_call(tmp_path: Path) -> None:
    items = [item_data(id=f"screen-{n}", kinds=["screening"], applies=SCREENING) for n in range(3)]
    library = _loaded(_library(tmp_path, items))
    fact = library.policy.facts["palliative-care"]
    palliative = condition("Z51.5", ICD10_URL)  # a code of the fact: it must be evaluated
    view = FactView(
        facts_from_resources([patient("1950-01-01"), palliative], at=AT), library.terminology
    )
    calls = 0
    original = type(fact)._evaluate

    def counting(self: Any, view: FactView) -> tuple[bool, str]:
        nonlocal calls
        calls += 1
        return original(self, view)

    type(fact)._evaluate = counting  # type: ignore[method-assign]
    try:
        for entry in library.compiled_items:
            for criterion in entry.criteria:
                criterion.check(view)
    finally:
        type(fact)._evaluate = original  # type: ignore[method-assign]
    assert calls == 1
