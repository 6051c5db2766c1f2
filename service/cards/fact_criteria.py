"""Named clinical facts and the safety policy, compiled.

A library names the facts a clinician takes for granted (`facts.yaml`: clinical ASCVD,
pregnancy, palliative care, organ absent, screening current...) and says which kinds of
advice they exclude (`policy.yaml`). A `CompiledFact` is evaluated at most once per match
call (memoised on the `FactView`), however many items ask for it; its reason names the
criterion, code and value set that decided it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
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
    _trigger: frozenset[IndexKey] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = None if self.trigger is None else frozenset(self.trigger)
        object.__setattr__(self, "_trigger", keys)

    def check(self, view: FactView) -> tuple[bool, str]:
        """Whether the fact holds for the patient, and why (memoised per call). A fact whose
        every alternative needs a code the patient does not have (none of its index keys)
        is known false without evaluating it, as the index knows which items to skip."""
        found = view.memo.get(self.name)
        if found is None:
            if self._trigger is not None and view.keys.isdisjoint(self._trigger):
                found = (False, f"not {self.name}")
            else:
                found = self._evaluate(view)
            view.memo[self.name] = found
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

    @classmethod
    def unknown(cls, name: str) -> CompiledFact:
        """A fact the library does not define: it never holds (`content check` reports it)."""
        return cls(name, (), ())


def nested(criteria: Iterable[Criterion]) -> Iterator[Criterion]:
    """Every criterion, and every criterion of the named facts they refer to, recursively."""
    for criterion in criteria:
        yield criterion
        if isinstance(criterion, FactsAny | FactsNone):
            for fact in criterion.facts:
                for alternative in fact.alternatives:
                    yield from nested(alternative)


@dataclass(frozen=True, slots=True)
class FactsAny:
    """Some of the facts holds (`facts.any_of`; `all_of` is one of these per fact)."""

    facts: tuple[CompiledFact, ...]
    _none: str = field(init=False, repr=False, compare=False)  # the reason when none holds

    def __post_init__(self) -> None:
        names = ", ".join(fact.name for fact in self.facts)
        object.__setattr__(self, "_none", f"none of the facts [{names}]")

    def check(self, view: FactView) -> tuple[bool, str]:
        for fact in self.facts:
            holds, reason = fact.check(view)
            if holds:
                return True, f"fact {reason}"
        return False, self._none


@dataclass(frozen=True, slots=True)
class FactsNone:
    """None of the facts holds: an item's `facts.none_of`, or (with `kind`) the safety
    policy's exclusions for one kind of item."""

    facts: tuple[CompiledFact, ...]
    kind: str | None = None
    _none: str = field(init=False, repr=False, compare=False)  # the reason when none holds
    _key: str = field(init=False, repr=False, compare=False)  # the kind's memo key

    def __post_init__(self) -> None:
        object.__setattr__(self, "_key", f"kind:{self.kind}")
        names = ", ".join(fact.name for fact in self.facts)
        none = (
            f"none of the facts [{names}]"
            if self.kind is None
            else f"policy: {self.kind} items exclude [{names}]; none holds"
        )
        object.__setattr__(self, "_none", none)

    def check(self, view: FactView) -> tuple[bool, str]:
        if self.kind is None:
            return self._check(view)
        # a kind's verdict is the same for every item of the kind: once per call
        found = view.memo.get(self._key)
        if found is None:
            found = view.memo[self._key] = self._check(view)
        return found

    def _check(self, view: FactView) -> tuple[bool, str]:
        for fact in self.facts:
            holds, reason = fact.check(view)
            if holds:
                if self.kind is None:
                    return False, f"fact {reason} (in none_of)"
                return False, f"policy: {self.kind} items exclude {reason}"
        return True, self._none


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """The library's compiled facts, and per kind the facts that exclude a patient."""

    facts: Mapping[str, CompiledFact] = field(default_factory=lambda: MappingProxyType({}))
    kinds: Mapping[str, tuple[CompiledFact, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def exclusions(self, kinds: tuple[str, ...]) -> list[FactsNone]:
        """The policy criteria of an item of these kinds (unknown kinds add none: `content
        check` reports them)."""
        return [FactsNone(self.kinds[kind], kind) for kind in kinds if self.kinds.get(kind)]
