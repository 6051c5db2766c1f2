"""Named clinical facts and the safety policy, compiled.

A library names the facts a clinician takes for granted (`facts.yaml`: clinical ASCVD,
pregnancy, palliative care, organ absent, screening current...) and says which kinds of
advice they exclude (`policy.yaml`). A `CompiledFact` is evaluated at most once per match
call (memoised on the `FactView`), however many items ask for it; its reason names the
criterion, code and value set that decided it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from service.cards.criteria import Criterion, FactView, IndexKey


@dataclass(frozen=True, slots=True)
class CompiledFact:
    """A named fact: holds when every criterion of some alternative holds. `trigger` is the
    union of the alternatives' index keys, or None when an alternative has none (it can hold
    on demographics or a status observation alone, so an index cannot find it)."""

    name: str
    alternatives: tuple[tuple[Criterion, ...], ...]
    trigger: tuple[IndexKey, ...] | None

    def check(self, view: FactView) -> tuple[bool, str]:
        """Whether the fact holds for the patient, and why (memoised per call)."""
        found = view.memo.get(self.name)
        if found is None:
            found = view.memo[self.name] = self._evaluate(view)
        return found

    def _evaluate(self, view: FactView) -> tuple[bool, str]:
        for criteria in self.alternatives:
            reasons: list[str] = []
            for criterion in criteria:
                holds, reason = criterion.check(view)
                if not holds:
                    break
                reasons.append(reason)
            else:
                return True, f"{self.name}: {'; '.join(reasons)}"
        return False, f"not {self.name}"

    def criteria(self) -> Iterator[Criterion]:
        """Every criterion of every alternative (nested facts included)."""
        for criteria in self.alternatives:
            for criterion in criteria:
                yield criterion
                if isinstance(criterion, FactsAny | FactsNone | PolicyExclusion):
                    for fact in criterion.facts:
                        yield from fact.criteria()


def _names(facts: tuple[CompiledFact, ...]) -> str:
    return ", ".join(fact.name for fact in facts)


@dataclass(frozen=True, slots=True)
class FactsAny:
    """Some of the facts holds (`facts.any_of`; `all_of` is one of these per fact)."""

    facts: tuple[CompiledFact, ...]

    def check(self, view: FactView) -> tuple[bool, str]:
        for fact in self.facts:
            holds, reason = fact.check(view)
            if holds:
                return True, f"fact {reason}"
        return False, f"none of the facts [{_names(self.facts)}]"


@dataclass(frozen=True, slots=True)
class FactsNone:
    """None of the facts holds (`facts.none_of`)."""

    facts: tuple[CompiledFact, ...]

    def check(self, view: FactView) -> tuple[bool, str]:
        for fact in self.facts:
            holds, reason = fact.check(view)
            if holds:
                return False, f"fact {reason} (in none_of)"
        return True, f"none of the facts [{_names(self.facts)}]"


@dataclass(frozen=True, slots=True)
class PolicyExclusion:
    """The safety policy for one kind of item: none of the excluding facts may hold."""

    kind: str
    facts: tuple[CompiledFact, ...]

    def check(self, view: FactView) -> tuple[bool, str]:
        for fact in self.facts:
            holds, reason = fact.check(view)
            if holds:
                return False, f"policy: {self.kind} items exclude {reason}"
        return True, f"policy: {self.kind} items exclude [{_names(self.facts)}]; none holds"


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
        return [PolicyExclusion(kind, self.kinds[kind]) for kind in kinds if self.kinds.get(kind)]
