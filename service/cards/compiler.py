"""Compile a `ContentItem`'s `applies` block into predicates and index trigger keys (each
criterion kind compiles its own part: `applies.py: CRITERIA`), and add the safety policy's
exclusions for the item's kinds; and its practice measure, with the same compiler."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from service.cards.applies import CRITERIA
from service.cards.criteria import (
    Applies,
    CompileContext,
    CompiledApplies,
    CompiledFact,
    Criterion,
    FactView,
)
from service.cards.fact_criteria import CompiledPolicy
from service.cards.index_keys import IndexKey
from service.cards.model import ContentItem
from service.cards.terminology import Terminology


@dataclass(frozen=True, slots=True)
class CompiledItem:
    """An item ready for matching: its criteria and the index keys that can trigger it
    (empty = demographic-only; `never` = a positive criterion with nothing to match)."""

    position: int
    item: ContentItem
    criteria: tuple[Criterion, ...]
    trigger: tuple[IndexKey, ...]
    never: bool

    @property
    def code_triggered(self) -> bool:
        """True when a code criterion (not only demographics) selects the item."""
        return bool(self.trigger)


def compile_applies(
    applies: Applies, terminology: Terminology, facts: Mapping[str, CompiledFact]
) -> CompiledApplies:
    """Compile one `applies` block (an item's, or one alternative of a named fact). The
    trigger is that of the present kind of lowest `trigger_rank` that has a positive code
    criterion (orders, then conditions, medications, procedures, labs, facts), which any
    match must satisfy."""
    return CRITERIA.compile(applies, CompileContext(terminology, facts))


@dataclass(frozen=True, slots=True)
class CompiledMeasure:
    """An item's practice measure ready for every call of its hooks: the opportunity's
    criteria with the item's kinds' exclusions last (as for the item's own criteria), the
    action's criteria, and the opportunity's index keys (a patient with none of them is no
    opportunity, known without evaluating; None: it can hold on demographics alone)."""

    item: ContentItem
    hooks: frozenset[str]
    opportunity: tuple[Criterion, ...]
    action: tuple[Criterion, ...]
    inverse: bool  # True: the action is the discordant one
    trigger: frozenset[IndexKey] | None
    never: bool  # the opportunity names a code criterion that lists no code

    def observe(self, view: FactView) -> bool | None:
        """None when the patient is no opportunity; else whether the call is concordant (the
        recommended action seen, or for an inverse measure the wrong one not seen)."""
        if self.trigger is not None and view.keys.isdisjoint(self.trigger):
            return None
        for criterion in self.opportunity:
            if not criterion.check(view)[0]:
                return None
        acted = all(criterion.check(view)[0] for criterion in self.action)
        return acted is not self.inverse

    def observation_codes(self) -> set[str]:
        """The LOINC codes its criteria can look up (the hook reads only those)."""
        return {
            code
            for criterion in (*self.opportunity, *self.action)
            for code in criterion.observation_codes()
        }


def compile_measure(
    item: ContentItem, terminology: Terminology, policy: CompiledPolicy | None = None
) -> CompiledMeasure | None:
    """Compile an item's measure (None when it has none) once, at library build."""
    measure = item.measure
    action = measure.action if measure is not None else None
    if measure is None or action is None:  # no action: `content check` fails the item
        return None
    policy = policy or _NO_POLICY
    opportunity = compile_applies(measure.opportunity, terminology, policy.facts)
    trigger = opportunity.trigger
    return CompiledMeasure(
        item,
        frozenset(measure.hooks),
        (*opportunity.criteria, *policy.exclusions(item.kinds)),
        tuple(compile_applies(action, terminology, policy.facts).criteria),
        measure.inverse,
        None if trigger is None else frozenset(trigger),
        never=trigger is not None and not trigger,
    )


def observation_codes(entry: CompiledItem) -> set[str]:
    """The LOINC codes an item's criteria can look up in a patient's observations (lab
    values, missing labs, observations as procedures), named facts and policy included: what
    the facts must keep for it. Each criterion names its own."""
    return {code for criterion in entry.criteria for code in criterion.observation_codes()}


def compile_item(
    position: int,
    item: ContentItem,
    terminology: Terminology,
    policy: CompiledPolicy | None = None,
) -> CompiledItem:
    """Compile one item: its own criteria, then the policy's exclusions for its kinds (last,
    so that they are evaluated only for items whose own criteria hold)."""
    policy = policy or _NO_POLICY
    compiled = compile_applies(item.applies, terminology, policy.facts)
    criteria = compiled.criteria + list(policy.exclusions(item.kinds))
    chosen = compiled.trigger
    return CompiledItem(
        position,
        item,
        tuple(criteria),
        tuple(chosen or ()),
        never=chosen is not None and not chosen,
    )


_NO_POLICY = CompiledPolicy()
