"""Criterion kinds over the patient as a whole: `age`, `sex`, `pregnant`, `smoking`,
`smoked_within_days`, and the `fhirpath` escape hatch. None of them files an item in the
code index: an item with only these is found by the index's demographic buckets (sex x age
decade)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field

from service.cards.criteria import (
    CompileContext,
    CompiledApplies,
    CriterionKind,
    FactView,
    in_window,
)
from service.cards.schema import Frozen

SmokingStatus = Literal["current", "former", "never"]


class AgeRange(Frozen):
    min: Annotated[int, Field(ge=0, le=150)] | None = None
    max: Annotated[int, Field(ge=0, le=150)] | None = None


@dataclass(frozen=True, slots=True)
class Age(CriterionKind[AgeRange]):
    """`age: {min, max}`: whole years at the evaluation date, inclusive; an unknown birth date
    fails."""

    key = "age"
    schema = AgeRange | None

    low: int | None
    high: int | None

    @classmethod
    def compile(cls, value: AgeRange, context: CompileContext) -> CompiledApplies:
        del context
        return CompiledApplies([cls(value.min, value.max)])

    def check(self, view: FactView) -> tuple[bool, str]:
        age = view.age
        span = f"{'' if self.low is None else self.low}-{'' if self.high is None else self.high}"
        if age is None:
            return False, f"age unknown, required {span}"
        holds = (self.low is None or age >= self.low) and (self.high is None or age <= self.high)
        return holds, f"age {age} {'in' if holds else 'not in'} {span}"


@dataclass(frozen=True, slots=True)
class Sex(CriterionKind[str]):
    """`sex: female | male`: the Patient's administrative gender."""

    key = "sex"
    schema = Literal["female", "male"] | None

    sex: str

    @classmethod
    def compile(cls, value: str, context: CompileContext) -> CompiledApplies:
        del context
        return CompiledApplies([cls(value)])

    def check(self, view: FactView) -> tuple[bool, str]:
        actual = view.facts.sex
        if actual == self.sex:
            return True, f"sex {actual}"
        return False, f"sex {actual or 'unknown'}, required {self.sex}"


@dataclass(frozen=True, slots=True)
class Pregnancy(CriterionKind[bool]):
    """`pregnant: true | false` (unknown counts as not pregnant)."""

    key = "pregnant"
    schema = bool | None

    pregnant: bool

    @classmethod
    def compile(cls, value: bool, context: CompileContext) -> CompiledApplies:
        del context
        return CompiledApplies([cls(value)])

    def check(self, view: FactView) -> tuple[bool, str]:
        actual = view.facts.pregnant
        words = "pregnant" if actual else "not pregnant"
        return actual == self.pregnant, words if actual == self.pregnant else (
            f"{words}, required {'pregnant' if self.pregnant else 'not pregnant'}"
        )


@dataclass(frozen=True, slots=True)
class Smoking(CriterionKind[tuple[SmokingStatus, ...]]):
    """`smoking: [current, former, never]`: the latest smoking status is one of them."""

    key = "smoking"
    schema = tuple[SmokingStatus, ...]
    default = ()

    statuses: frozenset[str]

    @classmethod
    def compile(cls, value: tuple[SmokingStatus, ...], context: CompileContext) -> CompiledApplies:
        del context
        return CompiledApplies([cls(frozenset(value))])

    def check(self, view: FactView) -> tuple[bool, str]:
        actual = view.facts.smoking
        wanted = ", ".join(sorted(self.statuses))
        holds = actual in self.statuses
        return (
            holds,
            f"smoking status {actual or 'unknown'} {'in' if holds else 'not in'} [{wanted}]",
        )


@dataclass(frozen=True, slots=True)
class SmokedWithin(CriterionKind[int]):
    """`smoked_within_days: N`: a current smoker, or a former one whose last record of smoking
    is within the window (lung screening: quit within 15 years). A former smoker with no
    dated record of smoking holds (the quit date is unknown: the card states the window and
    the clinician asks)."""

    key = "smoked_within_days"
    schema = Annotated[int, Field(ge=1)] | None

    days: int

    @classmethod
    def compile(cls, value: int, context: CompileContext) -> CompiledApplies:
        del context
        return CompiledApplies([cls(value)])

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
class FhirPath(CriterionKind[str]):
    """`fhirpath: EXPRESSION`: a rare escape hatch that this version does not evaluate (the
    item never matches; `content check` warns)."""

    key = "fhirpath"
    schema = Annotated[str, Field(min_length=1)] | None

    expression: str

    @classmethod
    def compile(cls, value: str, context: CompileContext) -> CompiledApplies:
        del context
        return CompiledApplies([cls(value)])

    def check(self, view: FactView) -> tuple[bool, str]:
        # No FHIRPath engine in the core: fail closed rather than show an unchecked card.
        del view
        return False, "fhirpath criteria are not evaluated by this version"
