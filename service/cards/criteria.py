"""Compiled applicability criteria: each `applies` key becomes a small predicate object over
a `FactView`, with value sets and drug classes expanded once at load time.

Every predicate answers `(holds, reason)`; the reason says in words which fact decided it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType
from typing import Protocol

from service.cards.codes import ICD10, LOINC, RXNORM, SNOMED, SYSTEM_LABELS, normalize_icd10
from service.cards.facts import CodeKey, Condition, LabValue, Medication, PatientFacts, age_at
from service.cards.model import CodeSet, MedSet, ProcSet
from service.cards.terminology import Terminology

IndexKey = tuple[str, ...]
_NO_ORIGINS: Mapping[CodeKey, str] = MappingProxyType({})


def describe(key: CodeKey, display: str = "") -> str:
    """`SNOMED 44054006 (Diabetes mellitus type 2)`."""
    label = f"{SYSTEM_LABELS.get(key[0], key[0])} {key[1]}"
    return f"{label} ({display})" if display else label


class FactView:
    """Per-call lookup tables over one patient's facts, resolved with the library's
    terminology. Built once per match call; cost grows with the patient's codes."""

    __slots__ = (
        "_keys",
        "age",
        "at",
        "conditions",
        "facts",
        "icd10",
        "meds",
        "memo",
        "observed",
        "orders",
        "past",
        "past_icd10",
        "procs",
    )

    def __init__(self, facts: PatientFacts, terminology: Terminology) -> None:
        self.facts = facts
        self.at = facts.at
        birth = facts.birth_date
        self.age = age_at(birth, facts.at) if birth is not None else facts.age
        self.conditions, self.icd10 = _condition_tables(facts.conditions)
        self.past, self.past_icd10 = _condition_tables(facts.past_conditions)
        # named facts and policy kinds of the library, each evaluated at most once per call
        self.memo: dict[str, tuple[bool, str]] = {}
        self.meds = _med_table(facts.medications, terminology)
        self.orders = _med_table(facts.orders, terminology)
        # procedures by code, and observations by LOINC code (a test done: FIT, Pap...)
        self.procs: dict[CodeKey, list[date | None]] = {}
        for procedure in facts.procedures:
            for key in procedure.codes:
                self.procs.setdefault(key, []).append(procedure.when)
        for code, dates in facts.observed.items():
            self.procs.setdefault((LOINC, code), []).extend(dates)
        self.observed = facts.observed
        self._keys: set[IndexKey] | None = None

    @property
    def keys(self) -> set[IndexKey]:
        """`index_keys()` as a set, built once per call (the index and the named facts ask)."""
        if self._keys is None:
            self._keys = set(self.index_keys())
        return self._keys

    def index_keys(self) -> list[IndexKey]:
        """Every inverted-index key this patient can trigger."""
        keys: list[IndexKey] = [("c", *key) for key in self.conditions]
        keys.extend(("cp", code[:n]) for code in self.icd10 for n in range(3, len(code) + 1))
        keys.extend(("h", *key) for key in self.past)
        keys.extend(("hp", code[:n]) for code in self.past_icd10 for n in range(3, len(code) + 1))
        keys.extend(("m", *key) for key in self.meds)
        keys.extend(("o", *key) for key in self.orders)
        keys.extend(("l", code) for code in self.facts.labs)
        keys.extend(("p", *key) for key in self.procs)
        return keys


def _condition_tables(
    conditions: Iterable[Condition],
) -> tuple[dict[CodeKey, str], dict[str, str]]:
    # every coding -> the condition's display, and the ICD-10 codes on their own
    table: dict[CodeKey, str] = {}
    icd10: dict[str, str] = {}
    for condition in conditions:
        for key in condition.codes:
            table.setdefault(key, condition.display)
            if key[0] == ICD10:
                icd10.setdefault(key[1], condition.display)
    return table, icd10


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


def _origin(origins: Mapping[CodeKey, str], key: CodeKey) -> str:
    name = origins.get(key)
    return f" [{name}]" if name else ""


@dataclass(frozen=True, slots=True)
class SmokedWithinCriterion:
    """A current smoker, or a former one whose last record of smoking is within the window.
    A former smoker with no dated record of smoking holds (the quit date is unknown: the card
    states the window and the clinician asks)."""

    days: int

    def check(self, view: FactView) -> tuple[bool, str]:
        facts = view.facts
        if facts.smoking == "current":
            return True, "smokes now"
        last = facts.last_smoked
        if facts.smoking == "former" and last is None:
            return True, "former smoker, quit date not recorded"
        if last is not None and in_window(last, view.at, self.days):
            return True, f"last recorded smoking on {last}, within {self.days} days"
        when = f"last recorded smoking on {last}" if last else "no record of smoking"
        return False, f"{when}, not within {self.days} days"


@dataclass(frozen=True, slots=True)
class CompiledCodeSet:
    """Exact codes by system and ICD-10 prefixes; `origins` names the value set a code came
    from (for explanations; hand-listed codes have none)."""

    exact: frozenset[CodeKey]
    icd10_prefixes: frozenset[str]
    origins: Mapping[CodeKey, str] = field(default_factory=lambda: _NO_ORIGINS)

    def keys(self, ever: bool = False) -> list[IndexKey]:
        """Index keys: active conditions ("c", "cp"), and with `ever` past ones ("h", "hp")."""
        keys: list[IndexKey] = [("c", *key) for key in self.exact]
        keys += [("cp", p) for p in self.icd10_prefixes]
        if ever:
            keys += [("h", *key) for key in self.exact] + [("hp", p) for p in self.icd10_prefixes]
        return keys

    def find(self, view: FactView, ever: bool = False) -> str | None:
        """The first matching active condition (then, with `ever`, past one), described."""
        found = self._find(view.conditions, view.icd10)
        if found is None and ever:
            found = self._find(view.past, view.past_icd10)
            return None if found is None else f"{found} (resolved or inactive)"
        return found

    def _find(self, conditions: dict[CodeKey, str], icd10: dict[str, str]) -> str | None:
        # In C, over the patient's codes (frozenset.intersection iterates its argument); the
        # lowest code keeps reasons stable.
        hits = self.exact.intersection(conditions)
        if hits:
            key = min(hits)
            return describe(key, conditions[key]) + _origin(self.origins, key)
        if self.icd10_prefixes:
            for code, display in icd10.items():
                for n in range(3, len(code) + 1):
                    if code[:n] in self.icd10_prefixes:
                        prefix = (ICD10, code[:n])
                        return (
                            describe((ICD10, code), display)
                            + f" (prefix {code[:n]}){_origin(self.origins, prefix)}"
                        )
        return None


@dataclass(frozen=True, slots=True)
class CompiledMedSet:
    """Ingredient names (with class members) and exact RxNorm codes."""

    members: frozenset[CodeKey]
    origins: Mapping[CodeKey, str] = field(default_factory=lambda: _NO_ORIGINS)

    def keys(self, namespace: str) -> list[IndexKey]:
        return [(namespace, *key) for key in self.members]

    def find(self, table: dict[CodeKey, str]) -> str | None:
        for key, display in table.items():
            if key in self.members:
                origin = _origin(self.origins, key)
                if key[0] == "ingredient":
                    return (f"{key[1]} ({display})" if display else key[1]) + origin
                return describe(key, display) + origin
        return None


@dataclass(frozen=True, slots=True)
class CompiledProcSet:
    codes: tuple[CodeKey, ...]  # sorted, so that the reported hit is stable
    within_days: int | None
    origins: Mapping[CodeKey, str] = field(default_factory=lambda: _NO_ORIGINS)
    members: frozenset[CodeKey] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", frozenset(self.codes))

    def keys(self) -> list[IndexKey]:
        return [("p", *key) for key in self.codes]

    def find(self, view: FactView) -> str | None:
        """The first code (in sorted order) the patient has within the window, described."""
        for key in sorted(self.members.intersection(view.procs)):  # over the patient's codes
            for when in view.procs[key]:
                if in_window(when, view.at, self.within_days):
                    window = f" within {self.within_days} days" if self.within_days else ""
                    origin = _origin(self.origins, key)
                    return f"{describe(key)}{origin} on {when or 'unknown date'}{window}"
        return None


def compile_codeset(codeset: CodeSet, terminology: Terminology) -> CompiledCodeSet:
    """Expand value sets; ICD-10 codes become normalised prefixes."""
    exact = {(SNOMED, code.strip()) for code in codeset.snomed}
    prefixes = {normalize_icd10(code) for code in codeset.icd10}
    origins: dict[CodeKey, str] = {}
    for name in codeset.valuesets:
        valueset = terminology.valuesets.get(name)
        if valueset is None:
            continue
        for code in valueset.codes.get(SNOMED, ()):
            exact.add((SNOMED, code))
            origins.setdefault((SNOMED, code), f"value set {name}")
        for code in valueset.codes.get(ICD10, ()):
            prefixes.add(code)
            origins.setdefault((ICD10, code), f"value set {name}")
    return CompiledCodeSet(frozenset(exact), frozenset(prefixes), _frozen(origins))


def compile_medset(medset: MedSet, terminology: Terminology) -> CompiledMedSet:
    """Expand classes to ingredients and value sets to RxNorm codes."""
    members = {("ingredient", name.strip().lower()) for name in medset.ingredients}
    members.update((RXNORM, code.strip()) for code in medset.rxnorm)
    origins: dict[CodeKey, str] = {}
    for name in medset.classes:
        for ingredient in terminology.classes.get(name, ()):
            members.add(("ingredient", ingredient))
            origins.setdefault(("ingredient", ingredient), f"class {name}")
    for name in medset.valuesets:
        valueset = terminology.valuesets.get(name)
        for code in valueset.codes.get(RXNORM, ()) if valueset is not None else ():
            members.add((RXNORM, code))
            origins.setdefault((RXNORM, code), f"value set {name}")
    return CompiledMedSet(frozenset(members), _frozen(origins))


def compile_procset(procset: ProcSet, terminology: Terminology) -> CompiledProcSet:
    """Expand value sets to SNOMED CT and LOINC codes."""
    codes = {(SNOMED, code.strip()) for code in procset.snomed}
    codes.update((LOINC, code.strip()) for code in procset.loinc)
    origins: dict[CodeKey, str] = {}
    for name in procset.valuesets:
        valueset = terminology.valuesets.get(name)
        for key in (SNOMED, LOINC):
            for code in valueset.codes.get(key, ()) if valueset is not None else ():
                codes.add((key, code))
                origins.setdefault((key, code), f"value set {name}")
    return CompiledProcSet(tuple(sorted(codes)), procset.within_days, _frozen(origins))


def _frozen(origins: dict[CodeKey, str]) -> Mapping[CodeKey, str]:
    return MappingProxyType(origins) if origins else _NO_ORIGINS


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
