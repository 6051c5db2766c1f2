"""The compiled, immutable index: which items can a patient's codes trigger?

Per hook: an inverted index from code keys (`index_keys`: condition code, ICD-10
prefix, ingredient, RxNorm code, LOINC, procedure code) to item positions, and demographic
buckets (sex x age decade) for items without a code trigger. Lookups cost O(patient codes),
not O(library size).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from service.cards.compiler import CompiledItem
from service.cards.criteria import FactView
from service.cards.index_keys import IndexKey
from service.cards.patient_criteria import Age, Sex

_MAX_DECADE = 15
DemographicKey = tuple[str | None, int | None]


@dataclass(frozen=True, slots=True)
class HookIndex:
    """The index of one hook."""

    by_key: Mapping[IndexKey, tuple[int, ...]]
    demographic: Mapping[DemographicKey, tuple[int, ...]]

    def candidates(self, view: FactView) -> set[int]:
        """Positions of every item that may apply (a superset; predicates decide)."""
        found: set[int] = set()
        by_key = self.by_key
        for key in view.keys:
            hit = by_key.get(key)
            if hit:
                found.update(hit)
        age = view.age
        sex = view.facts.sex
        decades = (None,) if age is None else (None, min(age // 10, _MAX_DECADE))
        for sex_key in (None,) if sex is None else (None, sex):
            for decade in decades:
                hit = self.demographic.get((sex_key, decade))
                if hit:
                    found.update(hit)
        return found


def _decades(compiled: CompiledItem) -> Iterable[int | None]:
    age = Age.value_of(compiled.item.applies)
    if age is None:
        return (None,)
    low = 0 if age.min is None else min(age.min // 10, _MAX_DECADE)
    high = _MAX_DECADE if age.max is None else min(age.max // 10, _MAX_DECADE)
    return range(low, high + 1)


def build_index(compiled: Iterable[CompiledItem]) -> Mapping[str, HookIndex]:
    """Build the per-hook indexes. Items whose trigger can never hold are left out."""
    by_key: dict[str, dict[IndexKey, list[int]]] = {}
    demographic: dict[str, dict[DemographicKey, list[int]]] = {}
    for entry in compiled:
        if entry.never:
            continue
        for hook in entry.item.hooks:
            if entry.trigger:
                keys = by_key.setdefault(hook, {})
                for key in entry.trigger:
                    keys.setdefault(key, []).append(entry.position)
            else:
                buckets = demographic.setdefault(hook, {})
                sex = Sex.value_of(entry.item.applies)
                for decade in _decades(entry):
                    buckets.setdefault((sex, decade), []).append(entry.position)
    hooks = set(by_key) | set(demographic)
    return MappingProxyType(
        {
            hook: HookIndex(
                by_key=MappingProxyType({k: tuple(v) for k, v in by_key.get(hook, {}).items()}),
                demographic=MappingProxyType(
                    {k: tuple(v) for k, v in demographic.get(hook, {}).items()}
                ),
            )
            for hook in hooks
        }
    )
