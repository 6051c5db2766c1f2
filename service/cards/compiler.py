"""Compile a `ContentItem`'s `applies` block into predicates and index trigger keys."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

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
    SmokingCriterion,
    compile_codeset,
    compile_medset,
    compile_procset,
    in_window,
    lab_values,
)
from service.cards.model import ContentItem, LabMissingRule, LabRule, MedicationCriterion
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

    def check(self, view: FactView) -> tuple[bool, str]:
        hit = self.codes.find(view)
        return (
            (True, f"condition {hit} in any_of")
            if hit
            else (False, "no active condition in any_of")
        )


@dataclass(frozen=True, slots=True)
class ConditionsNone:
    codes: CompiledCodeSet

    def check(self, view: FactView) -> tuple[bool, str]:
        hit = self.codes.find(view)
        return (
            (False, f"condition {hit} in none_of")
            if hit
            else (True, "no active condition in none_of")
        )


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


def _med_criteria(
    block: MedicationCriterion | None, terminology: Terminology, orders: bool
) -> tuple[list[Criterion], list[IndexKey] | None]:
    found: list[Criterion] = []
    keys: list[IndexKey] | None = None
    if block is None:
        return found, keys
    if block.any_of is not None:
        meds = compile_medset(block.any_of, terminology)
        found.append(MedsAny(meds, orders))
        keys = meds.keys("o" if orders else "m")
    if block.none_of is not None:
        found.append(MedsNone(compile_medset(block.none_of, terminology), orders))
    return found, keys


def _demographics(item: ContentItem) -> list[Criterion]:
    applies = item.applies
    found: list[Criterion] = []
    if applies.sex is not None:
        found.append(SexCriterion(applies.sex))
    if applies.age is not None:
        found.append(AgeCriterion(applies.age.min, applies.age.max))
    if applies.pregnant is not None:
        found.append(PregnancyCriterion(applies.pregnant))
    if applies.smoking:
        found.append(SmokingCriterion(frozenset(applies.smoking)))
    return found


def _code_criteria(
    item: ContentItem, terminology: Terminology
) -> tuple[list[Criterion], list[IndexKey] | None, list[IndexKey] | None]:
    applies = item.applies
    found: list[Criterion] = []
    condition_keys: list[IndexKey] | None = None
    procedure_keys: list[IndexKey] | None = None
    if applies.conditions is not None and applies.conditions.any_of is not None:
        codes = compile_codeset(applies.conditions.any_of, terminology)
        found.append(ConditionsAny(codes))
        condition_keys = codes.keys()
    for required in applies.conditions.all_of if applies.conditions is not None else ():
        codes = compile_codeset(required, terminology)
        found.append(ConditionsAny(codes))
        condition_keys = condition_keys if condition_keys is not None else codes.keys()
    if applies.conditions is not None and applies.conditions.none_of is not None:
        found.append(ConditionsNone(compile_codeset(applies.conditions.none_of, terminology)))
    if applies.procedures is not None and applies.procedures.any_of is not None:
        procs = compile_procset(applies.procedures.any_of, terminology)
        found.append(ProceduresAny(procs))
        procedure_keys = procs.keys()
    if applies.procedures is not None and applies.procedures.none_of is not None:
        found.append(ProceduresNone(compile_procset(applies.procedures.none_of, terminology)))
    return found, condition_keys, procedure_keys


def observation_codes(entry: CompiledItem) -> set[str]:
    """The LOINC codes an item's criteria can look up in a patient's observations (lab
    values, missing labs, observations as procedures): what the facts must keep for it."""
    codes: set[str] = set()
    for criterion in entry.criteria:
        if isinstance(criterion, LabCriterion | LabMissingCriterion):
            codes.update(criterion.rule.loinc)
        elif isinstance(criterion, ProceduresAny | ProceduresNone):
            codes.update(code for key, code in criterion.procs.codes if key == LOINC)
    return codes


def compile_item(position: int, item: ContentItem, terminology: Terminology) -> CompiledItem:
    """Compile one item. The trigger is the first positive code criterion (orders,
    conditions, medications, procedures, labs), which any match must satisfy."""
    applies = item.applies
    criteria = _demographics(item)
    order_criteria, order_keys = _med_criteria(applies.orders, terminology, orders=True)
    med_criteria, med_keys = _med_criteria(applies.medications, terminology, orders=False)
    code_criteria, condition_keys, procedure_keys = _code_criteria(item, terminology)
    criteria += order_criteria + code_criteria + med_criteria
    criteria.extend(LabCriterion(rule) for rule in applies.labs)
    criteria.extend(LabMissingCriterion(rule) for rule in applies.labs_missing)
    if applies.fhirpath is not None:
        criteria.append(FhirPathCriterion(applies.fhirpath))
    lab_keys = [("l", code) for code in applies.labs[0].loinc] if applies.labs else None
    triggers = (order_keys, condition_keys, med_keys, procedure_keys, lab_keys)
    chosen = next((keys for keys in triggers if keys is not None), None)
    return CompiledItem(
        position,
        item,
        tuple(criteria),
        tuple(chosen or ()),
        never=chosen is not None and not chosen,
    )
