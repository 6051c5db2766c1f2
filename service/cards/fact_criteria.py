"""Named clinical facts and the safety policy, compiled, and the `facts` criterion kind.

A library names the facts a clinician takes for granted (`facts.yaml`: clinical ASCVD,
pregnancy, palliative care, organ absent, screening current...) and says which kinds of
advice they exclude (`policy.yaml`). A `CompiledFact` is evaluated at most once per match
call (memoised on the `FactView`), however many items ask for it; its reason names the
criterion, code and value set that decided it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from service.cards.criteria import (
    CompileContext,
    CompiledApplies,
    CompiledFact,
    CriterionKind,
    FactView,
)
from service.cards.index_keys import INDEX_KINDS
from service.cards.schema import Frozen, Name


class FactCriterion(Frozen):
    """Named clinical facts of the library (`facts.yaml`): some of `any_of` holds, each of
    `all_of` holds, none of `none_of` holds."""

    any_of: tuple[Name, ...] = ()
    all_of: tuple[Name, ...] = ()
    none_of: tuple[Name, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Every fact named, in any part."""
        return (*self.any_of, *self.all_of, *self.none_of)


def _names(facts: tuple[CompiledFact, ...]) -> str:
    return ", ".join(fact.name for fact in facts)


@dataclass(frozen=True, slots=True)
class Facts(CriterionKind[FactCriterion]):
    """`facts`: some fact of `any_of` holds (`all_of` is one such criterion per fact); none of
    `none_of` holds. An unknown name compiles to a fact that never holds (`content check`
    reports it), so `any_of` of it never matches and `none_of` of it excludes no one. A
    positive criterion is indexed by the union of its facts' keys, when each fact has some."""

    key = "facts"
    schema = FactCriterion | None
    trigger_rank = 5
    index_kinds = frozenset(INDEX_KINDS)  # its facts' triggers: of any kind

    facts: tuple[CompiledFact, ...]
    wanted: bool  # True: some fact holds (any_of, all_of); False: none holds (none_of)
    _absent: tuple[bool, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        absent = (not self.wanted, f"none of the facts [{_names(self.facts)}]")
        object.__setattr__(self, "_absent", absent)

    @classmethod
    def compile(cls, value: FactCriterion, context: CompileContext) -> CompiledApplies:
        found = CompiledApplies()

        def named(names: tuple[str, ...]) -> tuple[CompiledFact, ...]:
            return tuple(context.facts.get(name) or CompiledFact.unknown(name) for name in names)

        groups = [named(value.any_of)] if value.any_of else []
        groups += [named((name,)) for name in value.all_of]  # all_of: each fact on its own
        for chosen in groups:
            triggers = [fact.trigger for fact in chosen]
            indexable = all(keys is not None for keys in triggers)
            union = [key for keys in triggers for key in keys or ()]
            found.add(cls(chosen, wanted=True), union if indexable else None)
        if value.none_of:
            found.add(cls(named(value.none_of), wanted=False))
        return found

    def check(self, view: FactView) -> tuple[bool, str]:
        for fact in self.facts:
            holds, reason = fact.check(view)
            if holds:
                if self.wanted:
                    return True, f"fact {reason}"
                return False, f"fact {reason} (in none_of)"
        return self._absent

    def observation_codes(self) -> Iterable[str]:
        """What its facts read."""
        return (code for fact in self.facts for code in fact.observation_codes())


@dataclass(frozen=True, slots=True)
class PolicyExclusion:
    """The safety policy's criterion for one kind of item: none of the facts that exclude a
    patient from the kind holds. Its verdict is the same for every item of the kind, so it is
    evaluated once per call."""

    facts: tuple[CompiledFact, ...]
    kind: str
    _none: str = field(init=False, repr=False, compare=False)  # the reason when none holds
    _key: str = field(init=False, repr=False, compare=False)  # the kind's memo key

    def __post_init__(self) -> None:
        object.__setattr__(self, "_key", f"kind:{self.kind}")
        none = f"policy: {self.kind} items exclude [{_names(self.facts)}]; none holds"
        object.__setattr__(self, "_none", none)

    def check(self, view: FactView) -> tuple[bool, str]:
        """Whether no excluding fact holds, and why (memoised per call)."""
        found = view.memo.get(self._key)
        if found is None:
            found = view.memo[self._key] = self._check(view)
        return found

    def _check(self, view: FactView) -> tuple[bool, str]:
        for fact in self.facts:
            holds, reason = fact.check(view)
            if holds:
                return False, f"policy: {self.kind} items exclude {reason}"
        return True, self._none

    def observation_codes(self) -> Iterable[str]:
        """What the excluding facts read."""
        return (code for fact in self.facts for code in fact.observation_codes())


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """The library's compiled facts, and per kind the facts that exclude a patient."""

    facts: Mapping[str, CompiledFact] = field(default_factory=lambda: MappingProxyType({}))
    kinds: Mapping[str, tuple[CompiledFact, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def exclusions(self, kinds: tuple[str, ...]) -> list[PolicyExclusion]:
        """The policy criteria of an item of these kinds (unknown kinds add none: `content
        check` reports them)."""
        return [PolicyExclusion(self.kinds[kind], kind) for kind in kinds if self.kinds.get(kind)]
