"""Compile a `ContentItem`'s `applies` block into predicates and index trigger keys."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

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
    nested,
)
from service.cards.model import (
    Applies,
    ContentItem,
    LabMissingRule,
    LabRule,
    MedicationCriterion,
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


@dataclass(slots=True)
class CompiledApplies:
    """An `applies` block compiled: criteria, and the index keys of its first positive code
    criterion (None: it has none; empty: it lists no code, so it can never hold)."""

    criteria: list[Criterion] = field(default_factory=list)
    trigger: list[IndexKey] | None = None

    def add(self, criterion: Criterion, keys: list[IndexKey] | None = None) -> None:
        """Add a criterion; its keys trigger the block when no earlier criterion's do."""
        self.criteria.append(criterion)
        if self.trigger is None and keys is not None:
            self.trigger = keys


def _med_criteria(
    block: MedicationCriterion | None, terminology: Terminology, orders: bool
) -> CompiledApplies:
    found = CompiledApplies()
    if block is None:
        return found
    namespace = "o" if orders else "m"
    for medset in (*((block.any_of,) if block.any_of is not None else ()), *block.all_of):
        meds = compile_medset(medset, terminology)
        found.add(MedsAny(meds, orders), meds.keys(namespace))
    if block.none_of is not None:
        found.add(MedsNone(compile_medset(block.none_of, terminology), orders))
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


def _condition_criteria(applies: Applies, terminology: Terminology) -> CompiledApplies:
    found = CompiledApplies()
    block = applies.conditions
    if block is None:
        return found
    for codeset in (*((block.any_of,) if block.any_of is not None else ()), *block.all_of):
        codes = compile_codeset(codeset, terminology)
        found.add(ConditionsAny(codes, block.ever), codes.keys(block.ever))
    if block.none_of is not None:
        found.add(ConditionsNone(compile_codeset(block.none_of, terminology), block.ever))
    return found


def _procedure_criteria(applies: Applies, terminology: Terminology) -> CompiledApplies:
    found = CompiledApplies()
    block = applies.procedures
    if block is not None and block.any_of is not None:
        procs = compile_procset(block.any_of, terminology)
        found.add(ProceduresAny(procs), procs.keys())
    if block is not None and block.none_of is not None:
        found.add(ProceduresNone(compile_procset(block.none_of, terminology)))
    return found


def _fact_criteria(applies: Applies, facts: Mapping[str, CompiledFact]) -> CompiledApplies:
    """`facts`: an unknown name compiles to a fact that never holds (`content check` reports
    it), so `any_of` of it never matches and `none_of` of it excludes no one."""
    found = CompiledApplies()
    block = applies.facts
    if block is None:
        return found

    def named(names: tuple[str, ...]) -> tuple[CompiledFact, ...]:
        return tuple(facts.get(name) or CompiledFact.unknown(name) for name in names)

    groups = [named(block.any_of)] if block.any_of else []
    groups += [named((name,)) for name in block.all_of]  # all_of: each fact on its own
    for chosen in groups:
        triggers = [fact.trigger for fact in chosen]
        indexable = all(keys is not None for keys in triggers)
        union = [key for keys in triggers for key in keys or ()]
        found.add(FactsAny(chosen), union if indexable else None)
    if block.none_of:
        found.add(FactsNone(named(block.none_of)))
    return found


def compile_applies(
    applies: Applies, terminology: Terminology, facts: Mapping[str, CompiledFact]
) -> CompiledApplies:
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
    return CompiledApplies(criteria, next((keys for keys in triggers if keys is not None), None))


def observation_codes(entry: CompiledItem) -> set[str]:
    """The LOINC codes an item's criteria can look up in a patient's observations (lab
    values, missing labs, observations as procedures), named facts and policy included: what
    the facts must keep for it."""
    codes: set[str] = set()
    for criterion in nested(entry.criteria):
        if isinstance(criterion, LabCriterion | LabMissingCriterion):
            codes.update(criterion.rule.loinc)
        elif isinstance(criterion, ProceduresAny | ProceduresNone):
            codes.update(code for key, code in criterion.procs.codes if key == LOINC)
    return codes


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
