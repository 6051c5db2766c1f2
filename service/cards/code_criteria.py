"""Criterion kinds over the patient's codes: `conditions`, `medications`, `orders`,
`allergies`, `procedures` and `service_orders`. Each is positive (`any_of`, each set of
`all_of`: some code of the patient is in the set, and the set's codes file the item in the
index) or negative (`none_of`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import ClassVar

from service.cards.code_sets import (
    AllergySet,
    CodeSet,
    CompiledCodeSet,
    CompiledMedSet,
    CompiledProcSet,
    MedSet,
    ProcSet,
    ServiceSet,
    compile_codeset,
    compile_medset,
    compile_procset,
    compile_serviceset,
)
from service.cards.codes import LOINC
from service.cards.criteria import CompileContext, CompiledApplies, CriterionKind, FactView
from service.cards.index_keys import (
    CONDITION,
    CONDITION_PREFIX,
    MEDICATION,
    ORDER,
    PAST_CONDITION,
    PAST_CONDITION_PREFIX,
    PROCEDURE,
    SERVICE_ORDER,
    IndexKind,
)
from service.cards.schema import CodedPart, Frozen, Loc


class ConditionCriterion(Frozen):
    any_of: CodeSet | None = None
    none_of: CodeSet | None = None
    # Each set must match some active condition: "type 2 diabetes AND (ASCVD, HF or CKD)".
    all_of: tuple[CodeSet, ...] = ()
    # True: a resolved or inactive condition counts too (a myocardial infarction years ago is
    # still clinical ASCVD); refuted and entered-in-error ones never count.
    ever: bool = False


class MedicationCriterion(Frozen):
    any_of: MedSet | None = None
    none_of: MedSet | None = None
    # Each set must match some medication: "an opioid AND a benzodiazepine".
    all_of: tuple[MedSet, ...] = ()


class AllergyCriterion(MedicationCriterion):
    any_of: AllergySet | None = None
    none_of: AllergySet | None = None
    all_of: tuple[AllergySet, ...] = ()


class ProcedureCriterion(Frozen):
    any_of: ProcSet | None = None
    none_of: ProcSet | None = None


class ServiceOrderCriterion(Frozen):
    any_of: ServiceSet | None = None
    none_of: ServiceSet | None = None


def _sets(
    any_of: CodedPart | None, none_of: CodedPart | None, all_of: Iterable[CodedPart] = ()
) -> Iterator[tuple[Loc, CodedPart]]:
    # where each set of a block is, for `content check`
    if any_of is not None:
        yield ("any_of",), any_of
    if none_of is not None:
        yield ("none_of",), none_of
    for position, part in enumerate(all_of):
        yield ("all_of", position), part


# " in any_of" for a positive set, " in none_of" for a negative one: shared, not per criterion
_IN = {True: " in any_of", False: " in none_of"}


@cache
def _absent(what: str, wanted: bool, window: str = "") -> tuple[bool, str]:
    # the verdict when no code of the patient is in the set (shared by equal criteria)
    return not wanted, f"no {what}{_IN[wanted]}{window}"


@dataclass(frozen=True, slots=True)
class Conditions(CriterionKind[ConditionCriterion]):
    """`conditions`: some active (with `ever`, also past) condition is in a positive set; none
    is in `none_of`."""

    key = "conditions"
    schema = ConditionCriterion | None
    trigger_rank = 1
    index_kinds = frozenset(
        {
            CONDITION,
            CONDITION_PREFIX,
            PAST_CONDITION,
            PAST_CONDITION_PREFIX,
        }
    )

    codes: CompiledCodeSet
    ever: bool
    wanted: bool  # True: some condition is in the set (any_of, all_of); False: none is
    _in: str = field(init=False, repr=False, compare=False)  # " in any_of" or " in none_of"
    _absent: tuple[bool, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        which = "condition, active or past," if self.ever else "active condition"
        object.__setattr__(self, "_in", _IN[self.wanted])
        object.__setattr__(self, "_absent", _absent(which, self.wanted))

    @classmethod
    def compile(cls, value: ConditionCriterion, context: CompileContext) -> CompiledApplies:
        found = CompiledApplies()
        for codeset in (*((value.any_of,) if value.any_of is not None else ()), *value.all_of):
            codes = compile_codeset(codeset, context.terminology)
            found.add(cls(codes, value.ever, wanted=True), codes.keys(value.ever))
        if value.none_of is not None:
            codes = compile_codeset(value.none_of, context.terminology)
            found.add(cls(codes, value.ever, wanted=False))
        return found

    @classmethod
    def parts(cls, value: ConditionCriterion) -> Iterator[tuple[Loc, CodedPart]]:
        return _sets(value.any_of, value.none_of, value.all_of)

    def check(self, view: FactView) -> tuple[bool, str]:
        hit = self.codes.find(view, self.ever)
        if hit:
            return self.wanted, f"condition {hit}{self._in}"
        return self._absent


@dataclass(frozen=True, slots=True)
class Medications(CriterionKind[MedicationCriterion]):
    """`medications`: some active medication is in each positive set; none is in `none_of`
    (at ingredient level, or exact RxNorm codes)."""

    key = "medications"
    schema = MedicationCriterion | None
    trigger_rank: ClassVar[int | None] = 2
    index_kinds = frozenset({MEDICATION})
    orders: ClassVar[bool] = False  # the draft orders, not the active medications
    table: ClassVar[str] = "meds"  # the `FactView` table it looks in
    what: ClassVar[str] = "medication"  # how a reason names what it found
    index_kind: ClassVar[IndexKind | None] = MEDICATION  # None: never an index trigger

    meds: CompiledMedSet
    wanted: bool  # True: some medication is in the set (any_of, all_of); False: none is
    _in: str = field(init=False, repr=False, compare=False)
    _absent: tuple[bool, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_in", _IN[self.wanted])
        object.__setattr__(self, "_absent", _absent(self.what, self.wanted))

    @classmethod
    def compile(cls, value: MedicationCriterion, context: CompileContext) -> CompiledApplies:
        found = CompiledApplies()
        kind = cls.index_kind
        for medset in (*((value.any_of,) if value.any_of is not None else ()), *value.all_of):
            meds = compile_medset(medset, context.terminology)
            found.add(cls(meds, wanted=True), None if kind is None else meds.keys(kind))
        if value.none_of is not None:
            found.add(cls(compile_medset(value.none_of, context.terminology), wanted=False))
        return found

    @classmethod
    def parts(cls, value: MedicationCriterion) -> Iterator[tuple[Loc, CodedPart]]:
        return _sets(value.any_of, value.none_of, value.all_of)

    def check(self, view: FactView) -> tuple[bool, str]:
        hit = self.meds.find(getattr(view, self.table))
        if hit:
            return self.wanted, f"{self.what} {hit}{self._in}"
        return self._absent


@dataclass(frozen=True, slots=True)
class Orders(Medications):
    """`orders` (order hooks): as `medications`, over the draft orders."""

    key = "orders"
    trigger_rank = 0
    index_kinds = frozenset({ORDER})
    orders = True
    table = "orders"
    what = "draft order"
    index_kind = ORDER


@dataclass(frozen=True, slots=True)
class Allergies(Medications):
    """`allergies`: as `medications`, over the recorded allergies and intolerances (active or
    without a status, not refuted), with SNOMED CT substance codes too. Never an index
    trigger: the allergy list is optional prefetch, so it may hide a card, never file one."""

    key = "allergies"
    schema = AllergyCriterion | None
    trigger_rank = None
    index_kinds = frozenset()
    table = "allergies"
    what = "recorded allergy"
    index_kind = None


@dataclass(frozen=True, slots=True)
class Procedures(CriterionKind[ProcedureCriterion]):
    """`procedures`: a procedure (or an observation, by LOINC code) in `any_of` happened
    within its window; none in `none_of` did."""

    key = "procedures"
    schema = ProcedureCriterion | None
    trigger_rank = 3
    index_kinds = frozenset({PROCEDURE})

    procs: CompiledProcSet
    wanted: bool  # True: some procedure is in the set (any_of); False: none is (none_of)
    _in: str = field(init=False, repr=False, compare=False)
    _absent: tuple[bool, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        days = self.procs.within_days
        window = f" within {days} days" if days else ""
        object.__setattr__(self, "_in", _IN[self.wanted])
        object.__setattr__(self, "_absent", _absent("procedure", self.wanted, window))

    @classmethod
    def compile(cls, value: ProcedureCriterion, context: CompileContext) -> CompiledApplies:
        found = CompiledApplies()
        if value.any_of is not None:
            procs = compile_procset(value.any_of, context.terminology)
            found.add(cls(procs, wanted=True), procs.keys())
        if value.none_of is not None:
            found.add(cls(compile_procset(value.none_of, context.terminology), wanted=False))
        return found

    @classmethod
    def parts(cls, value: ProcedureCriterion) -> Iterator[tuple[Loc, CodedPart]]:
        return _sets(value.any_of, value.none_of)

    def check(self, view: FactView) -> tuple[bool, str]:
        hit = self.procs.find(view)
        if hit:
            return self.wanted, f"procedure {hit}{self._in}"
        return self._absent

    def observation_codes(self) -> Iterable[str]:
        """Its LOINC codes: observations as procedures (a test done)."""
        return (code for system, code in self.procs.codes if system == LOINC)


@dataclass(frozen=True, slots=True)
class ServiceOrders(CriterionKind[ServiceOrderCriterion]):
    """`service_orders` (order hooks): some draft order (a ServiceRequest: a test, imaging, a
    procedure) has a SNOMED CT or LOINC coding in `any_of`; none has one in `none_of`. What
    practice measures see of a screening test ordered in the call."""

    key = "service_orders"
    schema = ServiceOrderCriterion | None
    trigger_rank = 6
    index_kinds = frozenset({SERVICE_ORDER})

    services: CompiledMedSet
    wanted: bool  # True: some draft order is in the set (any_of); False: none is (none_of)
    _in: str = field(init=False, repr=False, compare=False)
    _absent: tuple[bool, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_in", _IN[self.wanted])
        object.__setattr__(self, "_absent", _absent("test or procedure ordered", self.wanted))

    @classmethod
    def compile(cls, value: ServiceOrderCriterion, context: CompileContext) -> CompiledApplies:
        found = CompiledApplies()
        if value.any_of is not None:
            services = compile_serviceset(value.any_of, context.terminology)
            found.add(cls(services, wanted=True), services.keys(SERVICE_ORDER))
        if value.none_of is not None:
            found.add(cls(compile_serviceset(value.none_of, context.terminology), wanted=False))
        return found

    @classmethod
    def parts(cls, value: ServiceOrderCriterion) -> Iterator[tuple[Loc, CodedPart]]:
        return _sets(value.any_of, value.none_of)

    def check(self, view: FactView) -> tuple[bool, str]:
        hit = self.services.find(view.services)
        if hit:
            return self.wanted, f"order {hit}{self._in}"
        return self._absent
