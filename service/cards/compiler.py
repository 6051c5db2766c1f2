"""Compile a `ContentItem`'s `applies` block into predicates and index trigger keys (each
criterion kind compiles its own part: `applies.py: CRITERIA`), and add the safety policy's
exclusions for the item's kinds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from service.cards.applies import CRITERIA
from service.cards.criteria import Applies, CompileContext, CompiledApplies, CompiledFact, Criterion
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
