"""Compiled applicability criteria: each `applies` key becomes a small predicate object over
a `FactView`, with value sets and drug classes expanded once at load time.

Every predicate answers `(holds, reason)`; the reason says in words which fact decided it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from service.cards.codes import ICD10, LOINC, RXNORM, SNOMED, SYSTEM_LABELS, normalize_icd10
from service.cards.facts import CodeKey, LabValue, Medication, PatientFacts, age_at
from service.cards.model import CodeSet, MedSet, ProcSet
from service.cards.terminology import Terminology

IndexKey = tuple[str, ...]


def describe(key: CodeKey, display: str = "") -> str:
    """`SNOMED 44054006 (Diabetes mellitus type 2)`."""
    label = f"{SYSTEM_LABELS.get(key[0], key[0])} {key[1]}"
    return f"{label} ({display})" if display else label


class FactView:
    """Per-call lookup tables over one patient's facts, resolved with the library's
    terminology. Built once per match call; cost grows with the patient's codes."""

    __slots__ = (
        "age",
        "at",
        "conditions",
        "facts",
        "icd10",
        "meds",
        "observed",
        "orders",
        "procs",
    )

    def __init__(self, facts: PatientFacts, terminology: Terminology) -> None:
        self.facts = facts
        self.at = facts.at
        birth = facts.birth_date
        self.age = age_at(birth, facts.at) if birth is not None else facts.age
        self.conditions: dict[CodeKey, str] = {}
        self.icd10: dict[str, str] = {}
        for condition in facts.conditions:
            for key in condition.codes:
                self.conditions.setdefault(key, condition.display)
                if key[0] == ICD10:
                    self.icd10.setdefault(key[1], condition.display)
        self.meds = _med_table(facts.medications, terminology)
        self.orders = _med_table(facts.orders, terminology)
        self.procs: dict[CodeKey, list[date | None]] = {}
        for procedure in facts.procedures:
            for key in procedure.codes:
                self.procs.setdefault(key, []).append(procedure.when)
        self.observed = facts.observed

    def index_keys(self) -> list[IndexKey]:
        """Every inverted-index key this patient can trigger."""
        keys: list[IndexKey] = [("c", *key) for key in self.conditions]
        keys.extend(("cp", code[:n]) for code in self.icd10 for n in range(3, len(code) + 1))
        keys.extend(("m", *key) for key in self.meds)
        keys.extend(("o", *key) for key in self.orders)
        keys.extend(("l", code) for code in self.facts.labs)
        keys.extend(("p", *key) for key in self.procs)
        keys.extend(("p", LOINC, code) for code in self.observed)
        return keys


def _med_table(meds: Iterable[Medication], terminology: Terminology) -> dict[CodeKey, str]:
    # ("ingredient", name) and ("rxnorm", code) -> the medication's display
    table: dict[CodeKey, str] = {}
    for med in meds:
        ingredients = terminology.ingredients_for(med.rxnorm, med.display) or med.ingredients
        for name in ingredients:
            table.setdefault(("ingredient", name), med.display)
        for code in med.rxnorm:
            table.setdefault((RXNORM, code), med.display)
    return table


def in_window(when: date | None, at: date, days: int | None) -> bool:
    """True when `when` is within `days` before `at` (inclusive); no window = any date."""
    if days is None:
        return True
    return when is not None and at - timedelta(days=days) <= when <= at


class Criterion(Protocol):
    """A compiled criterion."""

    def check(self, view: FactView) -> tuple[bool, str]:
        """Whether it holds for the patient, and why."""
        ...


@dataclass(frozen=True, slots=True)
class AgeCriterion:
    low: int | None
    high: int | None

    def check(self, view: FactView) -> tuple[bool, str]:
        age = view.age
        span = f"{'' if self.low is None else self.low}-{'' if self.high is None else self.high}"
        if age is None:
            return False, f"age unknown, required {span}"
        holds = (self.low is None or age >= self.low) and (self.high is None or age <= self.high)
        return holds, f"age {age} {'in' if holds else 'not in'} {span}"


@dataclass(frozen=True, slots=True)
class SexCriterion:
    sex: str

    def check(self, view: FactView) -> tuple[bool, str]:
        actual = view.facts.sex
        if actual == self.sex:
            return True, f"sex {actual}"
        return False, f"sex {actual or 'unknown'}, required {self.sex}"


@dataclass(frozen=True, slots=True)
class PregnancyCriterion:
    pregnant: bool

    def check(self, view: FactView) -> tuple[bool, str]:
        actual = view.facts.pregnant
        words = "pregnant" if actual else "not pregnant"
        return actual == self.pregnant, words if actual == self.pregnant else (
            f"{words}, required {'pregnant' if self.pregnant else 'not pregnant'}"
        )


@dataclass(frozen=True, slots=True)
class SmokingCriterion:
    statuses: frozenset[str]

    def check(self, view: FactView) -> tuple[bool, str]:
        actual = view.facts.smoking
        wanted = ", ".join(sorted(self.statuses))
        holds = actual in self.statuses
        return (
            holds,
            f"smoking status {actual or 'unknown'} {'in' if holds else 'not in'} [{wanted}]",
        )


@dataclass(frozen=True, slots=True)
class CompiledCodeSet:
    """Exact codes by system and ICD-10 prefixes."""

    exact: frozenset[CodeKey]
    icd10_prefixes: frozenset[str]

    def keys(self) -> list[IndexKey]:
        return [("c", *key) for key in self.exact] + [("cp", p) for p in self.icd10_prefixes]

    def find(self, view: FactView) -> str | None:
        conditions = view.conditions
        # Walk the smaller side; report the lowest matching code so reasons are stable.
        if len(self.exact) < len(conditions):
            hits = [key for key in self.exact if key in conditions]
        else:
            hits = [key for key in conditions if key in self.exact]
        if hits:
            key = min(hits)
            return describe(key, conditions[key])
        if self.icd10_prefixes:
            for code, display in view.icd10.items():
                for n in range(3, len(code) + 1):
                    if code[:n] in self.icd10_prefixes:
                        return describe((ICD10, code), display) + f" (prefix {code[:n]})"
        return None


@dataclass(frozen=True, slots=True)
class CompiledMedSet:
    """Ingredient names (with class members) and exact RxNorm codes."""

    members: frozenset[CodeKey]

    def keys(self, namespace: str) -> list[IndexKey]:
        return [(namespace, *key) for key in self.members]

    def find(self, table: dict[CodeKey, str]) -> str | None:
        for key, display in table.items():
            if key in self.members:
                if key[0] == "ingredient":
                    return f"{key[1]} ({display})" if display else key[1]
                return describe(key, display)
        return None


@dataclass(frozen=True, slots=True)
class CompiledProcSet:
    codes: tuple[CodeKey, ...]  # sorted, so that the reported hit is stable
    within_days: int | None

    def keys(self) -> list[IndexKey]:
        return [("p", *key) for key in self.codes]

    def find(self, view: FactView) -> str | None:
        for key in self.codes:
            dates: Iterable[date | None] = view.procs.get(key, ())
            if key[0] == LOINC:
                dates = [*dates, *view.observed.get(key[1], ())]
            for when in dates:
                if in_window(when, view.at, self.within_days):
                    window = f" within {self.within_days} days" if self.within_days else ""
                    return f"{describe(key)} on {when or 'unknown date'}{window}"
        return None


def compile_codeset(codeset: CodeSet, terminology: Terminology) -> CompiledCodeSet:
    """Expand value sets; ICD-10 codes become normalised prefixes."""
    exact = {(SNOMED, code.strip()) for code in codeset.snomed}
    prefixes = {normalize_icd10(code) for code in codeset.icd10}
    for name in codeset.valuesets:
        valueset = terminology.valuesets.get(name)
        if valueset is None:
            continue
        exact.update((SNOMED, code) for code in valueset.codes.get(SNOMED, ()))
        prefixes.update(valueset.codes.get(ICD10, ()))
    return CompiledCodeSet(frozenset(exact), frozenset(prefixes))


def compile_medset(medset: MedSet, terminology: Terminology) -> CompiledMedSet:
    """Expand classes to ingredients and value sets to RxNorm codes."""
    ingredients = {name.strip().lower() for name in medset.ingredients}
    for name in medset.classes:
        ingredients.update(terminology.classes.get(name, ()))
    codes = {code.strip() for code in medset.rxnorm}
    for name in medset.valuesets:
        valueset = terminology.valuesets.get(name)
        if valueset is not None:
            codes.update(valueset.codes.get(RXNORM, ()))
    members = {("ingredient", name) for name in ingredients} | {(RXNORM, c) for c in codes}
    return CompiledMedSet(frozenset(members))


def compile_procset(procset: ProcSet, terminology: Terminology) -> CompiledProcSet:
    """Expand value sets to SNOMED CT and LOINC codes."""
    codes = {(SNOMED, code.strip()) for code in procset.snomed}
    codes.update((LOINC, code.strip()) for code in procset.loinc)
    for name in procset.valuesets:
        valueset = terminology.valuesets.get(name)
        if valueset is not None:
            codes.update((SNOMED, code) for code in valueset.codes.get(SNOMED, ()))
            codes.update((LOINC, code) for code in valueset.codes.get(LOINC, ()))
    return CompiledProcSet(tuple(sorted(codes)), procset.within_days)


def lab_values(
    view: FactView, codes: Iterable[str], days: int | None
) -> list[tuple[str, LabValue]]:
    """Values of the listed LOINC codes within the window, newest first."""
    found = [
        (code, value)
        for code in codes
        for value in view.facts.labs.get(code, ())
        if in_window(value.when, view.at, days)
    ]
    found.sort(key=lambda pair: pair[1].when, reverse=True)
    return found
