"""Criterion kinds over observations: `labs` (a numeric value within a window compared with
a threshold) and `labs_missing` (no observation of the codes within a window)."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field

from service.cards.codes import LOINC
from service.cards.criteria import (
    CompileContext,
    CompiledApplies,
    CriterionKind,
    FactView,
    in_window,
)
from service.cards.facts import LabValue
from service.cards.index_keys import LAB
from service.cards.schema import CodedPart, Codes, Frozen, Loc
from service.cards.terminology import Terminology

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _fmt(value: float) -> str:
    return f"{value:g}"


class _LoincPart(Frozen):
    """A rule over LOINC codes (their shape is checked; they name no terminology)."""

    loinc: Annotated[Codes, Field(min_length=1)]

    def code_lists(self) -> Iterator[tuple[str, Sequence[str]]]:
        """Its LOINC codes."""
        yield LOINC, self.loinc

    def unknown_names(
        self, terminology: Terminology, ingredients: frozenset[str]
    ) -> Iterator[tuple[str, str]]:
        """None: a rule names no value set, class or ingredient."""
        del terminology, ingredients
        return iter(())


class LabRule(_LoincPart):
    op: Literal["<", "<=", ">", ">="]
    value: float
    within_days: Annotated[int, Field(ge=1)] | None = None
    which: Literal["latest", "any"] = "latest"


class LabMissingRule(_LoincPart):
    within_days: Annotated[int, Field(ge=1)] | None = None


def _rules(rules: Sequence[CodedPart]) -> Iterator[tuple[Loc, CodedPart]]:
    return (((position,), rule) for position, rule in enumerate(rules))


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


@dataclass(frozen=True, slots=True)
class Labs(CriterionKind[tuple[LabRule, ...]]):
    """`labs`: per rule, the latest value (`which: any`: some value) of its codes within the
    window satisfies `op value`. The first rule's codes file the item in the index."""

    key = "labs"
    schema = tuple[LabRule, ...]
    default = ()
    trigger_rank = 4
    index_kinds = frozenset({LAB})

    rule: LabRule

    @classmethod
    def compile(cls, value: tuple[LabRule, ...], context: CompileContext) -> CompiledApplies:
        del context
        found = CompiledApplies()
        for rule in value:
            found.add(cls(rule), [(LAB, code) for code in rule.loinc])
        return found

    @classmethod
    def parts(cls, value: tuple[LabRule, ...]) -> Iterator[tuple[Loc, CodedPart]]:
        return _rules(value)

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

    def observation_codes(self) -> Iterable[str]:
        """The rule's LOINC codes."""
        return self.rule.loinc


@dataclass(frozen=True, slots=True)
class LabsMissing(CriterionKind[tuple[LabMissingRule, ...]]):
    """`labs_missing`: per rule, no observation of its codes (with or without a value) within
    the window (no A1c in a year)."""

    key = "labs_missing"
    schema = tuple[LabMissingRule, ...]
    default = ()

    rule: LabMissingRule

    @classmethod
    def compile(cls, value: tuple[LabMissingRule, ...], context: CompileContext) -> CompiledApplies:
        del context
        return CompiledApplies([cls(rule) for rule in value])

    @classmethod
    def parts(cls, value: tuple[LabMissingRule, ...]) -> Iterator[tuple[Loc, CodedPart]]:
        return _rules(value)

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

    def observation_codes(self) -> Iterable[str]:
        """The rule's LOINC codes."""
        return self.rule.loinc
