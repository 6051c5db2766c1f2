"""The criterion contract, and the per-call view of a patient that criteria read.

A criterion kind (`CriterionKind`) is one class per `applies` key: at class level it parses
its part of the YAML (`key`, `schema`), compiles it (value sets and drug classes expanded
once, at load time) and says which index keys file an item under it; its instances are the
compiled predicates, which answer `(holds, reason)` over a `FactView` (the reason says in
words which fact decided it) and name the LOINC codes they read. `applies.py` registers the
kinds; nothing else lists them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType
from typing import ClassVar, Generic, Protocol, TypeVar

from service.cards.codes import ICD10, LOINC, RXNORM, SNOMED, SYSTEM_LABELS
from service.cards.facts import CodeKey, Condition, Medication, PatientFacts, age_at
from service.cards.index_keys import (
    CONDITION,
    CONDITION_PREFIX,
    LAB,
    MEDICATION,
    ORDER,
    PAST_CONDITION,
    PAST_CONDITION_PREFIX,
    PROCEDURE,
    SERVICE_ORDER,
    IndexKey,
    IndexKind,
)
from service.cards.schema import CodedPart, Frozen, Loc
from service.cards.terminology import Terminology

V = TypeVar("V")
NO_ORIGINS: Mapping[CodeKey, str] = MappingProxyType({})


def describe(key: CodeKey, display: str = "") -> str:
    """`SNOMED 44054006 (Diabetes mellitus type 2)`."""
    label = f"{SYSTEM_LABELS.get(key[0], key[0])} {key[1]}"
    return f"{label} ({display})" if display else label


def origin(origins: Mapping[CodeKey, str], key: CodeKey) -> str:
    """` [value set NAME]` when `key` came from a value set or class, else nothing."""
    name = origins.get(key)
    return f" [{name}]" if name else ""


def frozen_origins(origins: dict[CodeKey, str]) -> Mapping[CodeKey, str]:
    """A read-only copy (the shared empty one when there are none)."""
    return MappingProxyType(origins) if origins else NO_ORIGINS


def in_window(when: date | None, at: date, days: int | None) -> bool:
    """True when `when` is within `days` before `at` (inclusive); no window = any date."""
    if days is None:
        return True
    return when is not None and at - timedelta(days=days) <= when <= at


class ViewTables:
    """What a `FactView` derives from one patient's facts with one library's terminology:
    the code tables, the index keys and the memo of named facts and kinds (each evaluated at
    most once per call). Plain data that never refers back to the facts, so the facts can
    carry it for the rest of their call (`call_view`) without a reference cycle."""

    __slots__ = (
        "allergies",
        "conditions",
        "icd10",
        "keys",
        "meds",
        "memo",
        "orders",
        "owner",
        "past",
        "past_icd10",
        "procs",
        "services",
    )

    def __init__(self, facts: PatientFacts, terminology: Terminology, owner: object = None) -> None:
        self.owner = owner  # the library whose facts and kinds the memo holds (None: unshared)
        self.conditions, self.icd10 = _condition_tables(facts.conditions)
        self.past, self.past_icd10 = _condition_tables(facts.past_conditions)
        self.memo: dict[str, tuple[bool, str]] = {}
        self.meds = _med_table(facts.medications, terminology)
        # recorded allergies: by ingredient and RxNorm code, and by SNOMED CT substance code
        self.allergies = _med_table(facts.allergies, terminology)
        for allergy in facts.allergies:
            for key in allergy.codes:
                if key[0] == SNOMED:
                    self.allergies.setdefault(key, allergy.display)
        self.orders = _med_table(facts.orders, terminology)
        # every SNOMED CT and LOINC coding of the draft orders (tests, procedures ordered)
        self.services: dict[CodeKey, str] = {
            key: order.display for order in facts.orders for key in order.codes if key[0] != RXNORM
        }
        # procedures by code, and observations by LOINC code (a test done: FIT, Pap...)
        self.procs: dict[CodeKey, list[date | None]] = {}
        for procedure in facts.procedures:
            for key in procedure.codes:
                self.procs.setdefault(key, []).append(procedure.when)
        for code, dates in facts.observed.items():
            self.procs.setdefault((LOINC, code), []).extend(dates)
        self.keys: set[IndexKey] | None = None


class FactView:
    """Per-call lookup tables over one patient's facts, resolved with the library's
    terminology. Built once per match call; cost grows with the patient's codes. `tables`
    given: the tables an earlier view of the same facts derived (`call_view`)."""

    __slots__ = (
        "age",
        "allergies",
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
        "services",
        "tables",
    )

    def __init__(
        self, facts: PatientFacts, terminology: Terminology, tables: ViewTables | None = None
    ) -> None:
        self.facts = facts
        self.at = facts.at
        birth = facts.birth_date
        self.age = age_at(birth, facts.at) if birth is not None else facts.age
        found = tables if tables is not None else ViewTables(facts, terminology)
        self.tables = found
        self.conditions, self.icd10 = found.conditions, found.icd10
        self.past, self.past_icd10 = found.past, found.past_icd10
        # named facts and policy kinds of the library, each evaluated at most once per call
        self.memo = found.memo
        self.meds, self.orders, self.services = found.meds, found.orders, found.services
        self.allergies = found.allergies
        self.procs = found.procs
        self.observed = facts.observed

    @property
    def keys(self) -> set[IndexKey]:
        """`index_keys()` as a set, built once per call (the index and the named facts ask)."""
        tables = self.tables
        if tables.keys is None:
            tables.keys = set(self.index_keys())
        return tables.keys

    def index_keys(self) -> list[IndexKey]:
        """Every inverted-index key this patient can trigger, one family per `IndexKind`."""
        keys: list[IndexKey] = [(CONDITION, *key) for key in self.conditions]
        keys.extend(
            (CONDITION_PREFIX, code[:n]) for code in self.icd10 for n in range(3, len(code) + 1)
        )
        keys.extend((PAST_CONDITION, *key) for key in self.past)
        keys.extend(
            (PAST_CONDITION_PREFIX, code[:n])
            for code in self.past_icd10
            for n in range(3, len(code) + 1)
        )
        keys.extend((MEDICATION, *key) for key in self.meds)
        keys.extend((ORDER, *key) for key in self.orders)
        keys.extend((LAB, code) for code in self.facts.labs)
        keys.extend((PROCEDURE, *key) for key in self.procs)
        keys.extend((SERVICE_ORDER, *key) for key in self.services)
        return keys


def call_view(
    facts: PatientFacts, terminology: Terminology, owner: object, *, reuse: bool = False
) -> FactView:
    """A view of `facts` for one call of the library `owner`. Its tables (code tables, index
    keys, the memo of named facts and kinds) are left on the facts for the rest of their call
    (`PatientFacts.view_tables`); with `reuse`, tables an earlier view of the same facts left
    for the same library are taken up, so that what the matcher evaluated for the cards is
    not evaluated again (practice measures run after it). The matcher itself never reuses: a
    benchmark repeating it on one patient measures a call, not a warm memo."""
    left = facts.view_tables
    if reuse and isinstance(left, ViewTables) and left.owner is owner:
        return FactView(facts, terminology, left)
    tables = ViewTables(facts, terminology, owner)
    object.__setattr__(facts, "view_tables", tables)
    return FactView(facts, terminology, tables)


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


class Criterion(Protocol):
    """A compiled criterion: a criterion kind's instance, or a policy exclusion."""

    def check(self, view: FactView) -> tuple[bool, str]:
        """Whether it holds for the patient, and why."""
        ...

    def observation_codes(self) -> Iterable[str]:
        """The LOINC codes it can look up in the patient's observations (named facts it
        refers to included): the hook reads only those."""
        ...


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

    def observation_codes(self) -> Iterator[str]:
        """The LOINC codes its alternatives read (the facts they name included)."""
        for criteria in self.alternatives:
            for criterion in criteria:
                yield from criterion.observation_codes()

    @classmethod
    def unknown(cls, name: str) -> CompiledFact:
        """A fact the library does not define: it never holds (`content check` reports it)."""
        return cls(name, (), ())


@dataclass(frozen=True, slots=True)
class CompileContext:
    """What compiling a criterion may use: the library's terminology and its compiled named
    facts (`facts.yaml`)."""

    terminology: Terminology
    facts: Mapping[str, CompiledFact] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(slots=True)
class CompiledApplies:
    """Compiled criteria, and the index keys of the first positive code criterion among them
    (None: there is none; empty: it lists no code, so it can never hold)."""

    criteria: list[Criterion] = field(default_factory=list)
    trigger: list[IndexKey] | None = None

    def add(self, criterion: Criterion, keys: list[IndexKey] | None = None) -> None:
        """Add a criterion; its keys trigger the block when no earlier criterion's do."""
        self.criteria.append(criterion)
        if self.trigger is None and keys is not None:
            self.trigger = keys


class Applies(Frozen):
    """An `applies` block: one field per registered criterion kind (`applies.py:
    CRITERIA`), which reads its own value (`CriterionKind.value_of`). Every criterion given
    must hold."""


class CriterionKind(ABC, Generic[V]):
    """One kind of applicability criterion, the value of one `applies` key (`V`: its parsed
    value when present). Subclasses are frozen slotted dataclasses whose instances are the
    compiled predicates; register them in `applies.py: CRITERIA`. A kind that reads the
    patient's observations names their LOINC codes (`observation_codes`): the hook reads
    only the codes some criterion names."""

    __slots__ = ()

    key: ClassVar[str]
    """The key under `applies` (and the field of the `Applies` model)."""
    schema: ClassVar[object]
    """The pydantic type of the value as written, absence included (`X | None`, or a tuple
    whose default is empty): the kind's parser."""
    default: ClassVar[object] = None
    """The value when the key is absent (an equal value given counts as absent)."""
    trigger_rank: ClassVar[int | None] = None
    """When the kind's codes can file an item in the index: its rank among the kinds that
    can (the lowest-ranked present one is the item's trigger). None: it never triggers."""
    index_kinds: ClassVar[frozenset[IndexKind]] = frozenset()
    """The kinds of index key its triggers use."""

    @classmethod
    def value_of(cls, applies: Applies) -> V | None:
        """This kind's value in an `applies` block, or None when it is absent."""
        value: V = getattr(applies, cls.key)
        return None if value == cls.default else value

    @classmethod
    @abstractmethod
    def compile(cls, value: V, context: CompileContext) -> CompiledApplies:
        """The kind's predicates for a present value, in evaluation order, and its trigger:
        the index keys of its first positive code criterion (a match must hold it)."""

    @classmethod
    def parts(cls, value: V) -> Iterator[tuple[Loc, CodedPart]]:
        """The parts of a value that list codes or name terminology, with where they are
        under the key (`content check` checks them). None by default."""
        del value
        return iter(())

    @abstractmethod
    def check(self, view: FactView) -> tuple[bool, str]:
        """Whether the compiled criterion holds for the patient, and why."""

    def observation_codes(self) -> Iterable[str]:
        """The LOINC codes it reads from the patient's observations (none by default)."""
        return ()
