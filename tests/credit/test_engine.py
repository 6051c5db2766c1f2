"""The pure rules engine: no database, no framework; many small cases."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from service.credit import engine
from service.credit.engine import (
    LedgerFact,
    case_passed,
    choose_credit_type,
    claim_deadline,
    evaluate_claim,
    is_complete,
    missing_steps,
)
from service.credit.rules import CreditRules, load_rules
from tests.credit.factories import NOW, make_facts


def _codes(decision: object) -> list[str]:
    return [r.code for r in decision.refusals]  # type: ignore[attr-defined]


def _ledger(n: int, year: int = 2026, credit_type: str = "ama-pra-1") -> list[LedgerFact]:
    return [LedgerFact(credit_type, 0.5, date(year, 2, 1)) for _ in range(n)]


def test_engine_imports_no_framework() -> None:
    source = Path(engine.__file__).read_text()
    imported = {
        (node.module or "").split(".")[0]
        if isinstance(node, ast.ImportFrom)
        else node.names[0].name.split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
    }
    assert imported.isdisjoint({"sqlalchemy", "fastapi", "httpx"})


def test_complete_cycle_earns_half_a_credit_for_an_md(rules: CreditRules) -> None:
    decision = evaluate_claim(make_facts(), "physician-md", [], rules, NOW)
    assert decision.allowed
    assert decision.credit_type is not None
    assert decision.credit_type.id == "ama-pra-1"
    assert decision.amount == 0.5
    assert decision.activity is not None
    assert decision.activity.id == "BEDSIDE-POC-2026"
    assert decision.notes == ()


@pytest.mark.parametrize("profession", ["physician-md", "physician-do"])
def test_physicians_get_ama_credit(rules: CreditRules, profession: str) -> None:
    decision = evaluate_claim(make_facts(), profession, [], rules, NOW)
    assert decision.credit_type is not None
    assert decision.credit_type.id == "ama-pra-1"


@pytest.mark.parametrize("profession", ["registered-nurse", "nurse-practitioner"])
def test_nurses_get_contact_hours(rules: CreditRules, profession: str) -> None:
    decision = evaluate_claim(make_facts(), profession, [], rules, NOW)
    assert decision.credit_type is not None
    assert decision.credit_type.id == "ancc-contact-hours"


@pytest.mark.parametrize("profession", ["physician-assistant", "pharmacist", "other"])
def test_others_get_participation_with_an_explanation(rules: CreditRules, profession: str) -> None:
    decision = evaluate_claim(make_facts(), profession, [], rules, NOW)
    assert decision.allowed
    assert decision.credit_type is not None
    assert decision.credit_type.is_participation
    assert "certificate of participation" in decision.notes[0]
    assert "AMA PRA Category 1 Credit™" in decision.notes[0]


def test_no_matching_type_is_profession_not_eligible(rules: CreditRules) -> None:
    data = rules.model_dump(mode="json")
    data["credit_types"] = [t for t in data["credit_types"] if t["id"] == "ama-pra-1"]
    data["caps"] = []
    strict = CreditRules.model_validate(data)
    decision = evaluate_claim(make_facts(), "pharmacist", [], strict, NOW)
    assert _codes(decision) == ["profession-not-eligible"]
    assert "pharmacist" in decision.refusals[0].message


def test_unknown_profession_asks_for_the_profile(rules: CreditRules) -> None:
    decision = evaluate_claim(make_facts(), None, [], rules, NOW)
    assert _codes(decision) == ["profile-incomplete"]
    assert "profession" in decision.refusals[0].message


@pytest.mark.parametrize(
    ("overrides", "phrase"),
    [
        ({"question": None}, "your clinical question"),
        ({"question": "   "}, "your clinical question"),
        ({"source_citation": ""}, "the source you consulted"),
        ({"application": None}, "how this applies to your practice"),
        ({"application": "other"}, "a few words on how this applies"),
    ],
)
def test_incomplete_cycle_names_what_is_missing(
    rules: CreditRules, overrides: dict[str, object], phrase: str
) -> None:
    decision = evaluate_claim(make_facts(**overrides), "physician-md", [], rules, NOW)
    assert _codes(decision) == ["cycle-incomplete"]
    assert phrase in decision.refusals[0].message
    assert decision.refusals[0].message.startswith("Before claiming, please add")


def test_other_application_with_text_is_complete(rules: CreditRules) -> None:
    facts = make_facts(application="other", application_text="Shared decision with family")
    assert is_complete(facts, rules)
    assert evaluate_claim(facts, "physician-md", [], rules, NOW).allowed


@pytest.mark.parametrize(
    "application", ["confirmed-plan", "discuss-with-patient", "not-applicable"]
)
def test_every_application_choice_documents_the_step(rules: CreditRules, application: str) -> None:
    assert missing_steps(make_facts(application=application), rules) == []


def test_enduring_case_needs_the_assessment(rules: CreditRules) -> None:
    facts = make_facts(credit_format="enduring")
    assert "the case questions" in missing_steps(facts, rules)
    assert _codes(evaluate_claim(facts, "physician-md", [], rules, NOW)) == ["cycle-incomplete"]


@pytest.mark.parametrize(
    ("score", "passing", "passed"),
    [(0.7, 0.7, True), (0.69, 0.7, False), (0.5, None, False), (0.7, None, True), (1.0, 1.0, True)],
)
def test_case_passing_level(
    rules: CreditRules, score: float, passing: float | None, passed: bool
) -> None:
    facts = make_facts(credit_format="enduring", case_score=score, passing_score=passing)
    assert case_passed(facts, rules) is passed


def test_failed_case_says_the_score_and_level(rules: CreditRules) -> None:
    facts = make_facts(credit_format="enduring", case_score=0.4, passing_score=0.8)
    decision = evaluate_claim(facts, "physician-md", [], rules, NOW)
    assert _codes(decision) == ["case-not-passed"]
    assert "40%" in decision.refusals[0].message
    assert "80%" in decision.refusals[0].message


def test_explicit_case_passed_wins_over_score(rules: CreditRules) -> None:
    facts = make_facts(credit_format="enduring", case_score=0.1, case_passed=True)
    assert evaluate_claim(facts, "physician-md", [], rules, NOW).allowed


def test_passed_case_uses_the_enduring_activity(rules: CreditRules) -> None:
    facts = make_facts(credit_format="enduring", case_passed=True, item_id="case-x")
    decision = evaluate_claim(facts, "physician-md", [], rules, NOW)
    assert decision.activity == rules.activities.enduring_default


def test_case_specific_activity(rules: CreditRules) -> None:
    data = rules.model_dump(mode="json")
    data["activities"]["enduring"] = {"case-x": {"id": "CASE-X", "title": "Case X"}}
    custom = CreditRules.model_validate(data)
    facts = make_facts(credit_format="enduring", case_passed=True, item_id="case-x")
    decision = evaluate_claim(facts, "physician-md", [], custom, NOW)
    assert decision.activity is not None
    assert decision.activity.id == "CASE-X"


def test_claim_window(rules: CreditRules) -> None:
    facts = make_facts()
    deadline = claim_deadline(facts, rules)
    assert deadline == NOW + timedelta(days=730)
    assert evaluate_claim(facts, "physician-md", [], rules, deadline).allowed
    late = evaluate_claim(facts, "physician-md", [], rules, deadline + timedelta(seconds=1))
    assert _codes(late) == ["window-passed"]
    assert "730 days" in late.refusals[0].message


def test_several_reasons_at_once(rules: CreditRules) -> None:
    facts = make_facts(question=None)
    late = NOW + timedelta(days=800)
    assert _codes(evaluate_claim(facts, None, [], rules, late)) == [
        "cycle-incomplete",
        "window-passed",
        "profile-incomplete",
    ]


def test_cap_is_reached_at_twenty(rules: CreditRules) -> None:
    assert evaluate_claim(make_facts(), "physician-md", _ledger(39), rules, NOW).allowed
    decision = evaluate_claim(make_facts(), "physician-md", _ledger(40), rules, NOW)
    assert _codes(decision) == ["cap-reached"]
    assert "20" in decision.refusals[0].message
    assert "2026" in decision.refusals[0].message


def test_reversals_free_the_cap(rules: CreditRules) -> None:
    ledger = [*_ledger(40), LedgerFact("ama-pra-1", -0.5, date(2026, 2, 1))]
    assert evaluate_claim(make_facts(), "physician-md", ledger, rules, NOW).allowed


def test_cap_counts_only_its_year_and_type(rules: CreditRules) -> None:
    ledger = [*_ledger(40, year=2025), *_ledger(40, credit_type="participation")]
    assert evaluate_claim(make_facts(), "physician-md", ledger, rules, NOW).allowed


def test_participation_has_no_cap(rules: CreditRules) -> None:
    ledger = _ledger(100, credit_type="participation")
    assert evaluate_claim(make_facts(), "pharmacist", ledger, rules, NOW).allowed


def test_multi_year_cap(rules: CreditRules) -> None:
    data = rules.model_dump(mode="json")
    data["caps"] = [{"credit_type": "ama-pra-1", "max": 60, "period": "calendar-years", "years": 3}]
    aafp = CreditRules.model_validate(data)
    ledger = _ledger(60, year=2025) + _ledger(60, year=2026)
    decision = evaluate_claim(make_facts(), "physician-md", ledger, aafp, NOW)
    assert _codes(decision) == ["cap-reached"]
    assert "2025-2027" in decision.refusals[0].message
    later = make_facts(
        completed_at=datetime(2028, 1, 2, tzinfo=UTC), started_at=datetime(2028, 1, 1, tzinfo=UTC)
    )
    assert evaluate_claim(
        later, "physician-md", ledger, aafp, datetime(2028, 1, 3, tzinfo=UTC)
    ).allowed


def test_credit_year_is_the_completion_year(rules: CreditRules) -> None:
    facts = make_facts(completed_at=datetime(2026, 12, 31, 23, tzinfo=UTC))
    decision = evaluate_claim(facts, "physician-md", [], rules, datetime(2027, 1, 5, tzinfo=UTC))
    assert decision.activity is not None
    assert decision.activity.id == "BEDSIDE-POC-2026"
    assert decision.earned_at is not None
    assert decision.earned_at.year == 2026


def test_full_2026_does_not_block_2027(rules: CreditRules) -> None:
    facts = make_facts(completed_at=datetime(2027, 1, 2, tzinfo=UTC))
    assert evaluate_claim(
        facts, "physician-md", _ledger(40), rules, datetime(2027, 1, 2, tzinfo=UTC)
    ).allowed


def test_already_claimed(rules: CreditRules) -> None:
    decision = evaluate_claim(make_facts(claimed=True), "physician-md", [], rules, NOW)
    assert _codes(decision) == ["already-claimed"]


def test_format_missing_from_a_type_falls_through(rules: CreditRules) -> None:
    data = rules.model_dump(mode="json")
    data["credit_types"][0]["amounts"] = {"poc": 0.5}  # AMA only for point of care
    data["credit_types"][0]["per_hour"] = {}
    custom = CreditRules.model_validate(data)
    assert choose_credit_type("physician-md", "enduring", custom) == custom.credit_type(
        "participation"
    )
    assert choose_credit_type("physician-md", "poc", custom) == custom.credit_type("ama-pra-1")


def test_amounts_come_from_configuration() -> None:
    data = load_rules().model_dump(mode="json")
    data["credit_types"][0]["amounts"] = {"poc": 0.25, "enduring": 1.0}
    data["credit_types"][0]["per_hour"] = {}
    custom = CreditRules.model_validate(data)
    assert evaluate_claim(make_facts(), "physician-md", [], custom, NOW).amount == 0.25
    case = make_facts(credit_format="enduring", case_passed=True, case_minutes=45)
    assert evaluate_claim(case, "physician-md", [], custom, NOW).amount == 1.0


@pytest.mark.parametrize(
    ("minutes", "credits"),
    # AMA: enduring material earns 1 credit per hour of its estimated time, designated in
    # quarter credits rounded to the nearest quarter hour (at least one quarter)
    [(5, 0.25), (10, 0.25), (20, 0.25), (25, 0.5), (30, 0.5), (45, 0.75), (60, 1.0), (None, 0.25)],
)
def test_case_credit_follows_its_minutes(
    rules: CreditRules, minutes: int | None, credits: float
) -> None:
    case = make_facts(credit_format="enduring", case_passed=True, case_minutes=minutes)
    decision = evaluate_claim(case, "physician-md", [], rules, NOW)
    assert decision.allowed
    assert decision.amount == credits
    # point-of-care cycles keep their fixed amount whatever a case would take
    assert evaluate_claim(make_facts(), "physician-md", [], rules, NOW).amount == 0.5
