"""Compile a `ContentItem`'s `applies` block into predicates and index trigger keys."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from service.cards.codes import LOINC
from service.cards.criteria import (
    AgeCriterion,
    CompiledCodeSet,
    CompiledMedSet,
    CompiledProcSet,
    Criterion,
    FactView,
    IndexKey,
    PregnancyCriterion,
    SexCriterion,
    SmokedWithinCriterion,
    SmokingCriterion,
    compile_codeset,
    compile_medset,
    compile_procset,
    in_window,
    lab_values,
)
from service.cards.fact_criteria import (
    CompiledFact,
    CompiledPolicy,
    FactsAny,
    FactsNone,
    PolicyExclusion,
)
from service.cards.model import (
    Applies,
    ContentItem,
    LabMissingRule,
    LabRule,
    MedicationCriterion,
    Policy,
)
from service.cards.terminology import Terminology

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _fmt(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True, slots=True)
class ConditionsAny:
    codes: CompiledCodeSet
    ever: bool = False  # past (resolved, inactive) conditions count too

    def check(self, view: FactView) -> tuple[bool, str]:
        hit = self.codes.find(view, self.ever)
        which = "condition, active or past," if self.ever else "active condition"
        return (True, f"condition {hit} in any_of") if hit else (False, f"no {which} in any_of")


@dataclass(frozen=True, slots=True)
class ConditionsNone:
    codes: CompiledCodeSet
    ever: bool = False

    def check(self, view: FactView) -> tuple[bool, str]:
        hit = self.codes.find(view, self.ever)
        which = "condition, active or past," if self.ever else "active condition"
        return (False, f"condition {hit} in none_of") if hit else (True, f"no {which} in none_of")


@dataclass(frozen=True, slots=True)
class MedsAny:
    meds: CompiledMedSet
    orders: bool

    def check(self, view: FactView) -> tuple[bool, str]:
        what = "draft order" if self.orders else "medication"
        hit = self.meds.find(view.orders if self.orders else view.meds)
        return (True, f"{what} {hit} in any_of") if hit else (False, f"no {what} in any_of")


@dataclass(frozen=True, slots=True)
class MedsNone:
    meds: CompiledMedSet
    orders: bool

    def check(self, view: FactView) -> tuple[bool, str]:
        what = "draft order" if self.orders else "medication"
        hit = self.meds.find(view.orders if self.orders else view.meds)
        return (False, f"{what} {hit} in none_of") if hit else (True, f"no {what} in none_of")


@dataclass(frozen=True, slots=True)
class ProceduresAny:
    procs: CompiledProcSet

    def check(self, view: FactView) -> tuple[bool, str]:
        hit = self.procs.find(view)
        window = f" within {self.procs.within_days} days" if self.procs.within_days else ""
        return (
            (True, f"procedure {hit} in any_of")
            if hit
            else (False, f"no procedure in any_of{window}")
        )


@dataclass(frozen=True, slots=True)
class ProceduresNone:
    procs: CompiledProcSet

    def check(self, view: FactView) -> tuple[bool, str]:
        hit = self.procs.find(view)
        window = f" within {self.procs.within_days} days" if self.procs.within_days else ""
        return (
            (False, f"procedure {hit} in none_of")
            if hit
            else (True, f"no procedure in none_of{window}")
        )


@dataclass(frozen=True, slots=True)
class LabCriterion:
    rule: LabRule

    def check(self, view: FactView) -> tuple[bool, str]:
        rule = self.rule
        codes = "/".join(rule.loinc)
        window = f" within {rule.within_days} days" if rule.within_days else ""
        values = lab_values(view, rule.loinc, rule.within_days)
        if not values:
            return False, f"no LOINC {codes} value{window}"
        test = _OPS[rule.op]
        candidates = values[:1] if rule.which == "latest" else values
        for code, lab in candidates:
            if test(lab.value, rule.value):
                unit = f" {lab.unit}" if lab.unit else ""
                return True, (
                    f"LOINC {code} {rule.which} {_fmt(lab.value)}{unit} on {lab.when}"
                    f" {rule.op} {_fmt(rule.value)}"
                )
        code, lab = values[0]
        return (
            False,
            f"LOINC {code} {rule.which} {_fmt(lab.value)} not {rule.op} {_fmt(rule.value)}{window}",
        )


@dataclass(frozen=True, slots=True)
class LabMissingCriterion:
    rule: LabMissingRule

    def check(self, view: FactView) -> tuple[bool, str]:
        window = f" within {self.rule.within_days} days" if self.rule.within_days else ""
        dates = sorted(
            (
                when
                for code in self.rule.loinc
                for when in view.observed.get(code, ())
                if in_window(when, view.at, self.rule.within_days)
            ),
            reverse=True,
        )
        codes = "/".join(self.rule.loinc)
        if dates:
            return False, f"LOINC {codes} observed on {dates[0]}{window}"
        return True, f"no LOINC {codes} observation{window}"


@dataclass(frozen=True, slots=True)
class FhirPathCriterion:
    expression: str

    def check(self, view: FactView) -> tuple[bool, str]:
        # No FHIRPath engine in the core: fail closed rather than show an unchecked card.
        del view
        return False, "fhirpath criteria are not evaluated by this version"


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


@dataclass(frozen=True, slots=True)
class _Compiled:
    """An `applies` block compiled: criteria, and the keys of its first positive code
    criterion (None: it has none; empty: it lists no code, so it can never hold)."""

    criteria: list[Criterion]
    trigger: list[IndexKey] | None


def _med_criteria(
    block: MedicationCriterion | None, terminology: Terminology, orders: bool
) -> _Compiled:
    found = _Compiled([], None)
    if block is None:
        return found
    namespace = "o" if orders else "m"
    for medset in (*((block.any_of,) if block.any_of is not None else ()), *block.all_of):
        meds = compile_medset(medset, terminology)
        found.criteria.append(MedsAny(meds, orders))
        if found.trigger is None:
            found = _Compiled(found.criteria, meds.keys(namespace))
    if block.none_of is not None:
        found.criteria.append(MedsNone(compile_medset(block.none_of, terminology), orders))
    return found


def _demographics(applies: Applies) -> list[Criterion]:
    found: list[Criterion] = []
    if applies.sex is not None:
        found.append(SexCriterion(applies.sex))
    if applies.age is not None:
        found.append(AgeCriterion(applies.age.min, applies.age.max))
    if applies.pregnant is not None:
        found.append(PregnancyCriterion(applies.pregnant))
    if applies.smoking:
        found.append(SmokingCriterion(frozenset(applies.smoking)))
    if applies.smoked_within_days is not None:
        found.append(SmokedWithinCriterion(applies.smoked_within_days))
    return found


def _condition_criteria(applies: Applies, terminology: Terminology) -> _Compiled:
    found = _Compiled([], None)
    block = applies.conditions
    if block is None:
        return found
    for codeset in (*((block.any_of,) if block.any_of is not None else ()), *block.all_of):
        codes = compile_codeset(codeset, terminology)
        found.criteria.append(ConditionsAny(codes, block.ever))
        if found.trigger is None:
            found = _Compiled(found.criteria, codes.keys(block.ever))
    if block.none_of is not None:
        codes = compile_codeset(block.none_of, terminology)
        found.criteria.append(ConditionsNone(codes, block.ever))
    return found


def _procedure_criteria(applies: Applies, terminology: Terminology) -> _Compiled:
    found = _Compiled([], None)
    block = applies.procedures
    if block is not None and block.any_of is not None:
        procs = compile_procset(block.any_of, terminology)
        found = _Compiled([ProceduresAny(procs)], procs.keys())
    if block is not None and block.none_of is not None:
        found.criteria.append(ProceduresNone(compile_procset(block.none_of, terminology)))
    return found


def _fact_criteria(applies: Applies, facts: Mapping[str, CompiledFact]) -> _Compiled:
    """`facts`: an unknown name compiles to a fact that never holds (`content check` reports
    it), so `any_of` of it never matches and `none_of` of it excludes no one."""
    found = _Compiled([], None)
    block = applies.facts
    if block is None:
        return found
    groups = ([block.any_of] if block.any_of else []) + [[name] for name in block.all_of]
    for names in groups:
        chosen = tuple(facts.get(name) or _unknown(name) for name in names)
        found.criteria.append(FactsAny(chosen))
        triggers = [fact.trigger for fact in chosen]
        if found.trigger is None and all(keys is not None for keys in triggers):
            found = _Compiled(found.criteria, [key for keys in triggers for key in keys or ()])
    if block.none_of:
        found.criteria.append(
            FactsNone(tuple(facts.get(name) or _unknown(name) for name in block.none_of))
        )
    return found


def _unknown(name: str) -> CompiledFact:
    return CompiledFact(name, (), ())


def compile_applies(
    applies: Applies, terminology: Terminology, facts: Mapping[str, CompiledFact]
) -> _Compiled:
    """Compile one `applies` block (an item's, or one alternative of a named fact). The
    trigger is the first positive code criterion (orders, conditions, medications,
    procedures, labs, facts), which any match must satisfy."""
    orders = _med_criteria(applies.orders, terminology, orders=True)
    meds = _med_criteria(applies.medications, terminology, orders=False)
    conditions = _condition_criteria(applies, terminology)
    procedures = _procedure_criteria(applies, terminology)
    named = _fact_criteria(applies, facts)
    criteria = _demographics(applies)
    criteria += orders.criteria + conditions.criteria + procedures.criteria + meds.criteria
    criteria.extend(LabCriterion(rule) for rule in applies.labs)
    criteria.extend(LabMissingCriterion(rule) for rule in applies.labs_missing)
    criteria += named.criteria
    if applies.fhirpath is not None:
        criteria.append(FhirPathCriterion(applies.fhirpath))
    lab_keys: list[IndexKey] | None = (
        [("l", code) for code in applies.labs[0].loinc] if applies.labs else None
    )
    triggers = (
        orders.trigger,
        conditions.trigger,
        meds.trigger,
        procedures.trigger,
        lab_keys,
        named.trigger,
    )
    return _Compiled(criteria, next((keys for keys in triggers if keys is not None), None))


def compile_policy(policy: Policy, terminology: Terminology) -> CompiledPolicy:
    """Compile every named fact (in dependency order; a fact in a cycle, or naming an
    unknown fact, never holds where it is named: `content check` reports both) and each
    kind's excluding facts."""
    compiled: dict[str, CompiledFact] = {}
    visiting: set[str] = set()

    def fact(name: str) -> CompiledFact | None:
        if name in compiled or name in visiting or name not in policy.facts:
            return compiled.get(name)
        visiting.add(name)
        for alternative in policy.facts[name].any:
            for needed in _fact_names(alternative):
                fact(needed)
        visiting.discard(name)
        alternatives = [compile_applies(a, terminology, compiled) for a in policy.facts[name].any]
        usable = [a for a in alternatives if a.trigger is None or a.trigger]
        triggers = [a.trigger for a in usable]
        trigger = (
            None
            if any(keys is None for keys in triggers)
            else tuple(dict.fromkeys(key for keys in triggers for key in keys or ()))
        )
        compiled[name] = CompiledFact(name, tuple(tuple(a.criteria) for a in usable), trigger)
        return compiled[name]

    for name in policy.facts:
        fact(name)
    kinds = {
        name: tuple(
            compiled.get(fact_name) or _unknown(fact_name) for fact_name in kind.excluded_by
        )
        for name, kind in policy.kinds.items()
    }
    return CompiledPolicy(MappingProxyType(compiled), MappingProxyType(kinds))


def _fact_names(applies: Applies) -> tuple[str, ...]:
    block = applies.facts
    return () if block is None else (*block.any_of, *block.all_of, *block.none_of)


def observation_codes(entry: CompiledItem) -> set[str]:
    """The LOINC codes an item's criteria can look up in a patient's observations (lab
    values, missing labs, observations as procedures), named facts and policy included: what
    the facts must keep for it."""
    codes: set[str] = set()
    for criterion in _all_criteria(entry.criteria):
        if isinstance(criterion, LabCriterion | LabMissingCriterion):
            codes.update(criterion.rule.loinc)
        elif isinstance(criterion, ProceduresAny | ProceduresNone):
            codes.update(code for key, code in criterion.procs.codes if key == LOINC)
    return codes


def _all_criteria(criteria: Iterable[Criterion]) -> Iterator[Criterion]:
    for criterion in criteria:
        yield criterion
        if isinstance(criterion, FactsAny | FactsNone | PolicyExclusion):
            for fact in criterion.facts:
                yield from fact.criteria()


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
