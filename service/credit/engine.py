"""The pure rules engine: given a cycle, the learner's profession and ledger, and the rules,
what may be claimed, how much, and why not, in words a clinician understands.

No I/O and no framework imports: plain frozen dataclasses in, a `ClaimDecision` out. The
service (service/credit/service.py) gathers the facts and records the outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from service.credit.rules import Activity, Cap, CreditRules, CreditType

# Refusals the learner can fix by documenting more (422); the others are final (409).
FIXABLE = frozenset({"cycle-incomplete", "case-not-passed", "profile-incomplete"})

PROFESSION_NAMES = {
    "physician-md": "physician (MD)",
    "physician-do": "physician (DO)",
    "nurse-practitioner": "nurse practitioner",
    "physician-assistant": "physician assistant",
    "registered-nurse": "registered nurse",
    "pharmacist": "pharmacist",
    "other": "clinician",
}


@dataclass(frozen=True)
class CycleFacts:
    """What the engine needs to know about a learning cycle."""

    item_id: str
    credit_format: str
    question: str | None
    source_citation: str | None
    application: str | None
    application_text: str | None
    started_at: datetime
    completed_at: datetime | None = None
    case_score: float | None = None
    case_passed: bool | None = None
    passing_score: float | None = None
    case_minutes: int | None = None
    claimed: bool = False


@dataclass(frozen=True)
class LedgerFact:
    """One ledger line of the learner: claims positive, reversals negative."""

    credit_type: str
    amount: float
    earned_on: date


@dataclass(frozen=True)
class Refusal:
    """Why a claim is refused: a stable code and a message for the clinician."""

    code: str
    message: str


@dataclass(frozen=True)
class ClaimDecision:
    """The engine's answer. When `allowed`, credit_type, amount and activity are set."""

    allowed: bool
    credit_type: CreditType | None = None
    amount: float = 0.0
    activity: Activity | None = None
    earned_at: datetime | None = None
    refusals: tuple[Refusal, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


def case_passed(cycle: CycleFacts, rules: CreditRules) -> bool | None:
    """Whether the case assessment is passed; None when not yet taken."""
    if cycle.case_passed is not None:
        return cycle.case_passed
    if cycle.case_score is None:
        return None
    threshold = cycle.passing_score
    return cycle.case_score >= (rules.default_passing_score if threshold is None else threshold)


def missing_steps(cycle: CycleFacts, rules: CreditRules) -> list[str]:
    """The documentation still missing before the cycle is complete, in plain words."""
    missing: list[str] = []
    if _blank(cycle.question):
        missing.append("your clinical question")
    if _blank(cycle.source_citation):
        missing.append("the source you consulted")
    if cycle.application is None:
        missing.append("how this applies to your practice")
    elif cycle.application == "other" and _blank(cycle.application_text):
        missing.append("a few words on how this applies to your practice")
    if cycle.credit_format == "enduring" and case_passed(cycle, rules) is None:
        missing.append("the case questions")
    return missing


def is_complete(cycle: CycleFacts, rules: CreditRules) -> bool:
    """Complete: question, source and application documented (and a passed case)."""
    if missing_steps(cycle, rules):
        return False
    return cycle.credit_format != "enduring" or case_passed(cycle, rules) is True


def claim_deadline(cycle: CycleFacts, rules: CreditRules) -> datetime:
    """The last moment this cycle can be claimed."""
    return cycle.started_at + timedelta(days=rules.claim_window_days)


def choose_credit_type(
    profession: str, credit_format: str, rules: CreditRules
) -> CreditType | None:
    """The first configured credit type this profession may earn in this format."""
    for credit_type in rules.credit_types:
        if credit_type.accepts(profession) and credit_format in credit_type.amounts:
            return credit_type
    return None


def cap_refusal(
    cap: Cap, credit_type: CreditType, amount: float, earned_on: date, ledger: Sequence[LedgerFact]
) -> Refusal | None:
    """A refusal when adding `amount` would pass the cap of its period."""
    start, end = cap.period_of(earned_on)
    used = sum(
        f.amount for f in ledger if f.credit_type == cap.credit_type and start <= f.earned_on < end
    )
    if used + amount <= cap.max + 1e-9:
        return None
    span = str(start.year) if end.year - start.year == 1 else f"{start.year}-{end.year - 1}"
    return Refusal(
        "cap-reached",
        f"You have reached the limit of {cap.max:g} {credit_type.label} for {span} "
        f"({used:g} already earned). This question cannot add more credit in that period.",
    )


def _documentation_refusals(cycle: CycleFacts, rules: CreditRules) -> list[Refusal]:
    missing = missing_steps(cycle, rules)
    if missing:
        return [
            Refusal("cycle-incomplete", "Before claiming, please add " + ", ".join(missing) + ".")
        ]
    if cycle.credit_format == "enduring" and case_passed(cycle, rules) is False:
        threshold = (
            cycle.passing_score if cycle.passing_score is not None else rules.default_passing_score
        )
        score = "" if cycle.case_score is None else f"Your score was {cycle.case_score:.0%}; "
        return [
            Refusal(
                "case-not-passed",
                f"{score}credit for this case needs at least {threshold:.0%}. "
                "You can review the case and answer again.",
            )
        ]
    return []


def _eligibility(
    profession: str | None, cycle: CycleFacts, rules: CreditRules
) -> tuple[CreditType | None, list[Refusal]]:
    if profession is None:
        message = "Please tell us your profession in your profile so we can award the right credit."
        return None, [Refusal("profile-incomplete", message)]
    credit_type = choose_credit_type(profession, cycle.credit_format, rules)
    if credit_type is None:
        who = PROFESSION_NAMES.get(profession, profession)
        message = f"This activity offers no credit or certificate for a {who}."
        return None, [Refusal("profession-not-eligible", message)]
    return credit_type, []


def _participation_notes(
    credit_type: CreditType, profession: str, cycle: CycleFacts, rules: CreditRules
) -> tuple[str, ...]:
    """Why a learner receives a certificate of participation rather than credit."""
    if not credit_type.is_participation:
        return ()
    designated = [
        t.label
        for t in rules.credit_types
        if not t.is_participation and cycle.credit_format in t.amounts
    ]
    if not designated:
        return ()
    who = PROFESSION_NAMES.get(profession, profession)
    return (
        f"{' and '.join(designated)} cannot be awarded to a {who}; "
        "you receive a certificate of participation instead.",
    )


def _cap_refusal(
    credit_type: CreditType,
    amount: float,
    earned_at: datetime,
    ledger: Sequence[LedgerFact],
    rules: CreditRules,
) -> Refusal | None:
    for cap in rules.caps:
        if cap.credit_type == credit_type.id:
            refusal = cap_refusal(cap, credit_type, amount, earned_at.date(), ledger)
            if refusal is not None:
                return refusal
    return None


def evaluate_claim(
    cycle: CycleFacts,
    profession: str | None,
    ledger: Sequence[LedgerFact],
    rules: CreditRules,
    now: datetime,
) -> ClaimDecision:
    """Decide a claim: every reason it must be refused, or what it earns."""
    if cycle.claimed:
        message = "You have already claimed credit for this question."
        return ClaimDecision(False, refusals=(Refusal("already-claimed", message),))
    refusals = _documentation_refusals(cycle, rules)
    deadline = claim_deadline(cycle, rules)
    if now > deadline:
        message = (
            f"The time to claim this question ended on {deadline:%d %B %Y} "
            f"({rules.claim_window_days} days after you started it)."
        )
        refusals.append(Refusal("window-passed", message))
    credit_type, eligibility = _eligibility(profession, cycle, rules)
    refusals.extend(eligibility)
    if refusals or credit_type is None or profession is None:
        return ClaimDecision(False, refusals=tuple(refusals))
    amount = credit_type.amount_for(cycle.credit_format, cycle.case_minutes)  # type: ignore[arg-type]
    earned_at = cycle.completed_at or now
    if (refusal := _cap_refusal(credit_type, amount, earned_at, ledger, rules)) is not None:
        return ClaimDecision(False, refusals=(refusal,))
    if cycle.credit_format == "enduring":
        activity = rules.activities.for_case(cycle.item_id)
    else:
        activity = rules.activities.for_poc(earned_at.year)
    notes = _participation_notes(credit_type, profession, cycle, rules)
    return ClaimDecision(True, credit_type, amount, activity, earned_at, (), notes)
