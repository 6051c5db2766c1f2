"""The checks `bedside content check` makes of items' practice measures (docs/content-format.md,
"Practice measures"). Pure: takes parsed items, terminology and policy, returns issues.

A measure that cannot count both outcomes is an error, never a silent zero: no action or two,
a hook given twice, an opportunity no call can be (a code list without codes,
draft orders on a patient-view call), an opportunity that excludes the action or already
implies it. Unknown facts in a measure, and an opportunity asking for a fact its item's kinds
exclude, are checked with the rest of the policy (`policy.check_item_policy`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from service.cards.checks import ParsedItem, check_codes, check_references
from service.cards.code_criteria import Medications, ServiceOrders
from service.cards.compiler import compile_applies
from service.cards.criteria import Applies, CompiledApplies, CompiledFact, Criterion
from service.cards.fact_criteria import CompiledPolicy, Facts
from service.cards.issues import Issue
from service.cards.model import Measure, Policy
from service.cards.policy import compile_policy
from service.cards.terminology import Terminology

_ORDER_HOOKS = frozenset({"order-select", "order-sign"})


def check_measures(
    parsed: Sequence[ParsedItem], terminology: Terminology, policy: Policy
) -> list[Issue]:
    """Every problem of the items' practice measures (their schema is checked on parsing)."""
    compiled = compile_policy(policy, terminology)
    issues: list[Issue] = []
    for entry in parsed:
        measure = entry.item.measure
        if measure is not None:
            issues.extend(_check_measure(entry, measure, terminology, compiled))
    return issues


def _check_measure(
    entry: ParsedItem, measure: Measure, terminology: Terminology, policy: CompiledPolicy
) -> Iterator[Issue]:
    yield from _check_shape(entry, measure)
    for key, block in _blocks(measure):
        at = ("measure", key)
        yield from check_codes(block, entry.file, entry.line_of, at)
        yield from check_references(block, (entry.file, entry.line_of), terminology, at)
    action = measure.action
    if action is None or (measure.concordant is not None and measure.discordant is not None):
        return
    opportunity = compile_applies(measure.opportunity, terminology, policy.facts)
    acted = compile_applies(action, terminology, policy.facts)
    yield from _check_counts(entry, measure, opportunity, acted)


def _check_counts(
    entry: ParsedItem, measure: Measure, opportunity: CompiledApplies, acted: CompiledApplies
) -> Iterator[Issue]:
    """Whether calls can be opportunities, and opportunities both concordant and not."""
    word = "discordant" if measure.inverse else "concordant"
    line = entry.line_of(("measure",))
    if opportunity.trigger == []:
        yield Issue(
            entry.file,
            entry.line_of(("measure", "opportunity")),
            "measure.opportunity lists no code a patient could have (an empty or unknown value "
            "set or class): no call is ever an opportunity",
        )
    if acted.trigger == []:
        yield Issue(
            entry.file,
            entry.line_of(("measure", word)),
            f"measure.{word} lists no code a patient could have: the action is never seen",
        )
    if "patient-view" in measure.hooks and any(map(_needs_orders, opportunity.criteria)):
        yield Issue(
            entry.file,
            entry.line_of(("measure", "hooks")),
            "measure.opportunity needs a draft order, which a patient-view call never carries: "
            "observe it at order-select or order-sign",
        )
    if _excludes(opportunity.criteria, acted.criteria):
        outcome = "every opportunity is concordant" if measure.inverse else "none is concordant"
        yield Issue(
            entry.file,
            line,
            f"measure.opportunity rules out the {word} action: {outcome}; the opportunity must "
            "not depend on the action",
        )
    elif _implies(opportunity.criteria, acted.criteria):
        outcome = "none is concordant" if measure.inverse else "every opportunity is concordant"
        yield Issue(
            entry.file,
            line,
            f"measure.opportunity already requires the {word} action: {outcome}; the "
            "opportunity must not depend on the action",
        )


def _blocks(measure: Measure) -> Iterator[tuple[str, Applies]]:
    yield "opportunity", measure.opportunity
    if measure.concordant is not None:
        yield "concordant", measure.concordant
    if measure.discordant is not None:
        yield "discordant", measure.discordant


def _check_shape(entry: ParsedItem, measure: Measure) -> Iterator[Issue]:
    """One action, criteria in both blocks, hooks the item is served on, each once."""
    file, line_of = entry.file, entry.line_of
    given = (measure.concordant is not None) + (measure.discordant is not None)
    if given != 1:
        yield Issue(
            file,
            line_of(("measure",)),
            "measure: give exactly one of `concordant` (the recommended action) and "
            f"`discordant` (the action advised against); found {given}",
        )
    for key, block in _blocks(measure):
        if block == block.__class__():
            yield Issue(
                file,
                line_of(("measure", key)),
                f"measure.{key} is empty: say "
                + ("who is an opportunity" if key == "opportunity" else "what the action is"),
            )
    hooks = measure.hooks
    if len(set(hooks)) != len(hooks):
        yield Issue(file, line_of(("measure", "hooks")), "measure.hooks repeats a hook")
    if _ORDER_HOOKS <= set(hooks):
        yield Issue(
            file,
            line_of(("measure", "hooks")),
            "measure.hooks: order-select and order-sign see the same draft orders; observe one "
            "of them, or each order counts twice",
        )


def _needs_orders(criterion: Criterion) -> bool:
    """True when the criterion can hold only on a call with draft orders."""
    if isinstance(criterion, Medications | ServiceOrders):
        return criterion.wanted and (isinstance(criterion, ServiceOrders) or criterion.orders)
    if isinstance(criterion, Facts) and criterion.wanted:
        return all(_fact_needs_orders(fact) for fact in criterion.facts)
    return False


def _fact_needs_orders(fact: CompiledFact) -> bool:
    alternatives = fact.alternatives
    return bool(alternatives) and all(any(map(_needs_orders, alt)) for alt in alternatives)


def _members(criterion: Criterion) -> tuple[type, bool, frozenset[object]] | None:
    """(kind, wanted, members) of a criterion over a set of codes or facts, to compare two
    criteria of one kind; None for the others (windows, values and prefixes are not compared)."""
    if isinstance(criterion, Medications):
        return type(criterion), criterion.wanted, frozenset(criterion.meds.members)
    if isinstance(criterion, ServiceOrders):
        return type(criterion), criterion.wanted, frozenset(criterion.services.members)
    if isinstance(criterion, Facts):
        return Facts, criterion.wanted, frozenset(fact.name for fact in criterion.facts)
    return None


def _excludes(opportunity: Sequence[Criterion], action: Sequence[Criterion]) -> bool:
    """Some criterion of the opportunity makes some criterion of the action false: none of a
    set against some of its subset, or some of a set against none of its superset."""
    for given in filter(None, map(_members, opportunity)):
        for wanted in filter(None, map(_members, action)):
            if given[0] is wanted[0] and given[1] != wanted[1] and wanted[2]:
                positive, negative = (wanted, given) if wanted[1] else (given, wanted)
                if positive[2] <= negative[2]:
                    return True
    return False


def _implies(opportunity: Sequence[Criterion], action: Sequence[Criterion]) -> bool:
    """Every criterion of the action follows from one of the opportunity: some of a subset
    implies some of the set; none of a superset implies none of the set."""
    given = [found for found in map(_members, opportunity) if found is not None]
    if not action:
        return False
    for criterion in action:
        wanted = _members(criterion)
        if wanted is None or not any(
            other[0] is wanted[0]
            and other[1] == wanted[1]
            and (other[2] <= wanted[2] if wanted[1] else wanted[2] <= other[2])
            and other[2]
            for other in given
        ):
            return False
    return True
