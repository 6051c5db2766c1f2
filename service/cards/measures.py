"""Practice measures (issue 19, "from hours to outcomes"): on every hook call, which of the
library's measures the patient is an opportunity for, and whether the recommended action is
seen in the same call. Pure: the hook records the answer (counts per learner, no patient
data); this module only answers.

A measure's opportunity is evaluated with the exclusions of its item's kinds, as the item's
own criteria are: a hospice patient is never an opportunity for a screening measure. The
library chooses each hook's measures once, at build; a call evaluates only those, in the
view the matcher left on the facts (`criteria.call_view`), so a named fact or a kind's
verdict the cards needed is not evaluated again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from service.cards.compiler import CompiledMeasure
from service.cards.criteria import FactView, call_view
from service.cards.facts import PatientFacts
from service.cards.library import ContentLibrary


@dataclass(frozen=True, slots=True)
class PracticeObservation:
    """One measure's verdict on one call: the patient was an opportunity for the measure of
    item `item_id` (= the measure id), and the call was concordant or not. Nothing about the
    patient."""

    item_id: str
    concordant: bool


@dataclass(frozen=True, slots=True)
class PracticeExplanation:
    """Why a call is or is not an opportunity for one measure, and what it shows of the
    action (`bedside match --measures`)."""

    item_id: str
    title: str
    opportunity: bool
    concordant: bool | None  # None when not an opportunity
    reasons: tuple[str, ...]


def view_after_matching(library: ContentLibrary, facts: PatientFacts, at: date) -> FactView:
    """The view of `facts` at `at` that reuses what matching left on them (tables, the memo
    of named facts and kinds' verdicts): for what runs after `choose` on the same call.
    Windows and age are measured from `at`; the facts the hook built are already at it."""
    dated = facts if facts.at == at else replace(facts, at=at)
    return call_view(dated, library.terminology, library, reuse=True)


def observe_practice(
    library: ContentLibrary, facts: PatientFacts, *, hook: str, at: date
) -> tuple[PracticeObservation, ...]:
    """Every measure of `hook` the patient is an opportunity for at `at`, in library order,
    each with whether the call is concordant. Measures of other hooks and of expired items
    are never observed. Cheap enough for every call: call it after matching, on the same
    facts, to reuse what matching evaluated."""
    measures = library.measures_for(hook)
    if not measures:
        return ()
    view = view_after_matching(library, facts, at)
    found: list[PracticeObservation] = []
    for measure in measures:
        if measure.item.expires < at:
            continue
        verdict = measure.observe(view)
        if verdict is not None:
            found.append(PracticeObservation(measure.item.id, verdict))
    return tuple(found)


def _explain(measure: CompiledMeasure, view: FactView, at: date) -> PracticeExplanation:
    item = measure.item
    title = item.measure.title if item.measure is not None else item.title
    if item.expires < at:
        return PracticeExplanation(item.id, title, False, None, (f"expired on {item.expires}",))
    reasons: list[str] = []
    for criterion in measure.opportunity:
        holds, reason = criterion.check(view)
        reasons.append(reason)
        if not holds:
            return PracticeExplanation(item.id, title, False, None, (f"not: {reason}",))
    action = [criterion.check(view) for criterion in measure.action]
    acted = all(holds for holds, _ in action)
    word = "discordant" if measure.inverse else "concordant"
    reasons += [f"{word}: {reason}" for _, reason in action]
    return PracticeExplanation(item.id, title, True, acted is not measure.inverse, tuple(reasons))


def explain_practice(
    library: ContentLibrary, facts: PatientFacts, *, hook: str, at: date
) -> tuple[PracticeExplanation, ...]:
    """Every measure of `hook`, each with whether the patient is an opportunity and why (the
    first criterion that fails, or every reason and the action's verdict): what an author or
    hospital IT reads to see what a call would count."""
    measures = library.measures_for(hook)
    if not measures:
        return ()
    dated = facts if facts.at == at else replace(facts, at=at)
    view = FactView(dated, library.terminology)
    return tuple(_explain(measure, view, at) for measure in measures)
