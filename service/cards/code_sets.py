"""Code sets, as written and compiled: `CODESET` (conditions), `MEDSET` (medications and
orders), `PROCSET` (procedures and observations) and `SERVICESET` (tests and procedures
ordered) of docs/content-format.md.

Compiling expands value sets and drug classes once, at load time; a compiled set finds the
patient's first matching code for a `FactView` and lists the index keys it files an item
under. `origins` name the value set or class a code came from (for explanations;
hand-listed codes have none).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import Field

from service.cards.codes import ICD10, LOINC, RXNORM, SNOMED, normalize_icd10
from service.cards.criteria import (
    NO_ORIGINS,
    FactView,
    describe,
    frozen_origins,
    in_window,
    origin,
)
from service.cards.facts import CodeKey
from service.cards.index_keys import (
    CONDITION,
    CONDITION_PREFIX,
    PAST_CONDITION,
    PAST_CONDITION_PREFIX,
    PROCEDURE,
    IndexKey,
    IndexKind,
)
from service.cards.schema import Codes, Frozen, Name
from service.cards.terminology import Terminology


def _unknown_valuesets(names: Sequence[str], terminology: Terminology) -> Iterator[tuple[str, str]]:
    for name in names:
        if name not in terminology.valuesets:
            yield "valuesets", f"unknown value set {name!r}"


class CodeSet(Frozen):
    """Conditions: ICD-10-CM prefixes, exact SNOMED CT codes, named value sets."""

    icd10: Codes = ()
    snomed: Codes = ()
    valuesets: tuple[Name, ...] = ()

    def code_lists(self) -> Iterator[tuple[str, Sequence[str]]]:
        """Its ICD-10-CM and SNOMED CT codes (`content check` checks their shape)."""
        yield ICD10, self.icd10
        yield SNOMED, self.snomed

    def unknown_names(
        self, terminology: Terminology, ingredients: frozenset[str]
    ) -> Iterator[tuple[str, str]]:
        """Value sets the terminology does not have."""
        del ingredients
        return _unknown_valuesets(self.valuesets, terminology)


class MedSet(Frozen):
    """Medications at ingredient level, or exact RxNorm codes, or named value sets."""

    ingredients: tuple[Name, ...] = ()
    classes: tuple[Name, ...] = ()
    rxnorm: Codes = ()
    valuesets: tuple[Name, ...] = ()

    def code_lists(self) -> Iterator[tuple[str, Sequence[str]]]:
        """Its RxNorm codes."""
        yield RXNORM, self.rxnorm

    def unknown_names(
        self, terminology: Terminology, ingredients: frozenset[str]
    ) -> Iterator[tuple[str, str]]:
        """Value sets, drug classes and ingredients the terminology does not have."""
        yield from _unknown_valuesets(self.valuesets, terminology)
        for name in self.classes:
            if name not in terminology.classes:
                yield "classes", f"unknown drug class {name!r}"
        for name in self.ingredients:
            if name.strip().lower() not in ingredients:
                yield (
                    "ingredients",
                    f"unknown ingredient {name!r} (not in rxnorm_ingredients.tsv)",
                )


class AllergySet(MedSet):
    """What a patient is allergic or intolerant to (AllergyIntolerance.code): ingredients and
    drug classes, RxNorm codes, SNOMED CT substance codes, or named value sets of them."""

    snomed: Codes = ()

    def code_lists(self) -> Iterator[tuple[str, Sequence[str]]]:
        """Its RxNorm and SNOMED CT codes."""
        yield RXNORM, self.rxnorm
        yield SNOMED, self.snomed


class ProcSet(Frozen):
    """Procedures (SNOMED CT) or observations (LOINC) within an optional window."""

    snomed: Codes = ()
    loinc: Codes = ()
    valuesets: tuple[Name, ...] = ()
    within_days: Annotated[int, Field(ge=1)] | None = None

    def code_lists(self) -> Iterator[tuple[str, Sequence[str]]]:
        """Its SNOMED CT and LOINC codes."""
        yield SNOMED, self.snomed
        yield LOINC, self.loinc

    def unknown_names(
        self, terminology: Terminology, ingredients: frozenset[str]
    ) -> Iterator[tuple[str, str]]:
        """Value sets the terminology does not have."""
        del ingredients
        return _unknown_valuesets(self.valuesets, terminology)


class ServiceSet(Frozen):
    """Tests, imaging and procedures being ordered (draft ServiceRequests): SNOMED CT and
    LOINC codes, or named value sets. No window: an order is seen in the call or not."""

    snomed: Codes = ()
    loinc: Codes = ()
    valuesets: tuple[Name, ...] = ()

    def code_lists(self) -> Iterator[tuple[str, Sequence[str]]]:
        """Its SNOMED CT and LOINC codes."""
        yield SNOMED, self.snomed
        yield LOINC, self.loinc

    def unknown_names(
        self, terminology: Terminology, ingredients: frozenset[str]
    ) -> Iterator[tuple[str, str]]:
        """Value sets the terminology does not have."""
        del ingredients
        return _unknown_valuesets(self.valuesets, terminology)


@dataclass(frozen=True, slots=True)
class CompiledCodeSet:
    """Exact codes by system and ICD-10 prefixes."""

    exact: frozenset[CodeKey]
    icd10_prefixes: frozenset[str]
    origins: Mapping[CodeKey, str] = field(default_factory=lambda: NO_ORIGINS)

    def keys(self, ever: bool = False) -> list[IndexKey]:
        """Index keys: active conditions, and with `ever` past ones."""
        keys: list[IndexKey] = [(CONDITION, *key) for key in self.exact]
        keys += [(CONDITION_PREFIX, p) for p in self.icd10_prefixes]
        if ever:
            keys += [(PAST_CONDITION, *key) for key in self.exact]
            keys += [(PAST_CONDITION_PREFIX, p) for p in self.icd10_prefixes]
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
            return describe(key, conditions[key]) + origin(self.origins, key)
        if self.icd10_prefixes:
            for code, display in icd10.items():
                for n in range(3, len(code) + 1):
                    if code[:n] in self.icd10_prefixes:
                        prefix = (ICD10, code[:n])
                        return (
                            describe((ICD10, code), display)
                            + f" (prefix {code[:n]}){origin(self.origins, prefix)}"
                        )
        return None


@dataclass(frozen=True, slots=True)
class CompiledMedSet:
    """Ingredient names (with class members) and exact RxNorm codes; or, compiled from a
    `ServiceSet`, the SNOMED CT and LOINC codes of orders (the same look-up in a table)."""

    members: frozenset[CodeKey]
    origins: Mapping[CodeKey, str] = field(default_factory=lambda: NO_ORIGINS)

    def keys(self, kind: IndexKind) -> list[IndexKey]:
        """Index keys of its members, of `kind` (`MEDICATION` or `ORDER`)."""
        return [(kind, *key) for key in self.members]

    def find(self, table: dict[CodeKey, str]) -> str | None:
        """The first of the patient's medications (or orders) in the set, described."""
        for key, display in table.items():
            if key in self.members:
                found = origin(self.origins, key)
                if key[0] == "ingredient":
                    return (f"{key[1]} ({display})" if display else key[1]) + found
                return describe(key, display) + found
        return None


@dataclass(frozen=True, slots=True)
class CompiledProcSet:
    """Procedure and observation codes, and the window they must fall in."""

    codes: tuple[CodeKey, ...]  # sorted, so that the reported hit is stable
    within_days: int | None
    origins: Mapping[CodeKey, str] = field(default_factory=lambda: NO_ORIGINS)
    members: frozenset[CodeKey] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", frozenset(self.codes))

    def keys(self) -> list[IndexKey]:
        """Index keys of its codes."""
        return [(PROCEDURE, *key) for key in self.codes]

    def find(self, view: FactView) -> str | None:
        """The first code (in sorted order) the patient has within the window, described."""
        for key in sorted(self.members.intersection(view.procs)):  # over the patient's codes
            for when in view.procs[key]:
                if in_window(when, view.at, self.within_days):
                    window = f" within {self.within_days} days" if self.within_days else ""
                    found = origin(self.origins, key)
                    return f"{describe(key)}{found} on {when or 'unknown date'}{window}"
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
    return CompiledCodeSet(frozenset(exact), frozenset(prefixes), frozen_origins(origins))


def _exact_codes(
    part: MedSet | ProcSet | ServiceSet, terminology: Terminology
) -> tuple[set[CodeKey], dict[CodeKey, str]]:
    """A set's listed codes and its value sets' codes of the same systems (`code_lists`),
    and the value set each of the latter came from."""
    codes: set[CodeKey] = set()
    systems: list[str] = []
    for system, listed in part.code_lists():
        systems.append(system)
        codes.update((system, code.strip()) for code in listed)
    origins: dict[CodeKey, str] = {}
    for name in part.valuesets:
        valueset = terminology.valuesets.get(name)
        for system in systems:
            for code in valueset.codes.get(system, ()) if valueset is not None else ():
                codes.add((system, code))
                origins.setdefault((system, code), f"value set {name}")
    return codes, origins


def compile_medset(medset: MedSet, terminology: Terminology) -> CompiledMedSet:
    """Expand classes to ingredients and value sets to RxNorm codes (and, for an
    `AllergySet`, SNOMED CT substance codes too: looked up among the patient's allergies,
    `FactView.allergies`)."""
    members, origins = _exact_codes(medset, terminology)
    members.update(("ingredient", name.strip().lower()) for name in medset.ingredients)
    for name in medset.classes:
        for ingredient in terminology.classes.get(name, ()):
            members.add(("ingredient", ingredient))
            origins.setdefault(("ingredient", ingredient), f"class {name}")
    return CompiledMedSet(frozenset(members), frozen_origins(origins))


def compile_procset(procset: ProcSet, terminology: Terminology) -> CompiledProcSet:
    """Expand value sets to SNOMED CT and LOINC codes."""
    codes, origins = _exact_codes(procset, terminology)
    return CompiledProcSet(tuple(sorted(codes)), procset.within_days, frozen_origins(origins))


def compile_serviceset(services: ServiceSet, terminology: Terminology) -> CompiledMedSet:
    """Expand value sets to SNOMED CT and LOINC codes, looked up among the draft orders'
    codings (`FactView.services`)."""
    members, origins = _exact_codes(services, terminology)
    return CompiledMedSet(frozenset(members), frozen_origins(origins))
