"""Credit rules: the accredited provider's configuration, validated (configuration, not code).

Contract (used by service/app.py and the SMART app):

- `CreditRules`: the validated rules (provider, activities, credit types with amounts,
  designation statements per format and the names of an amount, caps, claim window,
  statements, planners and their disclosures, boards with once-only reporting);
  `placeholders()` lists demo values left.
- `load_rules(path: Path | None = None) -> CreditRules`: `None` loads the bundled
  `default_rules.yaml`; a bad file raises `RulesError` naming the problem.

The format is documented in docs/credit.md and by the comments in default_rules.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_RULES_FILE = Path(__file__).with_name("default_rules.yaml")

Profession = Literal[
    "physician-md",
    "physician-do",
    "nurse-practitioner",
    "physician-assistant",
    "registered-nurse",
    "pharmacist",
    "other",
]
PROFESSIONS: tuple[str, ...] = (
    "physician-md",
    "physician-do",
    "nurse-practitioner",
    "physician-assistant",
    "registered-nurse",
    "pharmacist",
    "other",
)
CreditFormat = Literal["poc", "enduring"]


class RulesError(ValueError):
    """The credit-rules file is missing or invalid."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Bundled demo values carry this word: `bedside doctor` fails in production while any remains.
PLACEHOLDER = "DEMO"


class Provider(_Strict):
    """The accredited provider printed on certificates and reports."""

    name: str = Field(min_length=1)
    address: str = Field(min_length=1)
    accme_id: str = Field(min_length=1)


class Person(_Strict):
    """Someone in control of content (a planner, reviewer or author), with the disclosure
    of relevant financial relationships that learners see before they start."""

    name: str = Field(min_length=1)
    role: str = Field(min_length=1, max_length=80)
    disclosure: str = Field(min_length=1)


class Activity(_Strict):
    """An accredited activity: its identifier in PARS and its title on certificates."""

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)


class Activities(_Strict):
    """Point-of-care learning is one aggregate activity per year; cases are enduring ones."""

    poc_title: str = Field(min_length=1)
    poc_by_year: dict[int, str] = Field(default_factory=dict)
    poc_id_template: str = "POC-{year}"
    enduring_default: Activity
    enduring: dict[str, Activity] = Field(default_factory=dict)

    def for_poc(self, year: int) -> Activity:
        """The annual aggregate point-of-care activity of a calendar year."""
        activity_id = self.poc_by_year.get(year) or self.poc_id_template.format(year=year)
        return Activity(id=activity_id, title=f"{self.poc_title} {year}")

    def for_case(self, item_id: str) -> Activity:
        """The enduring-material activity a case item belongs to."""
        return self.enduring.get(item_id, self.enduring_default)

    def format_of(self, activity_id: str) -> CreditFormat:
        """`enduring` for a case activity, `poc` for the annual point-of-care ones."""
        enduring = {self.enduring_default.id, *(a.id for a in self.enduring.values())}
        return "enduring" if activity_id in enduring else "poc"


class AmountNames(_Strict):
    """How an amount of a credit type is named on certificates, in the AMA PRA form: `one`
    for an amount up to 1 ("0.5 AMA PRA Category 1 Credit™"), `other` above it ("1.5 AMA PRA
    Category 1 Credits™")."""

    one: str = Field(min_length=1)
    other: str = Field(min_length=1)


class CreditType(_Strict):
    """A kind of credit, who may earn it, and how much each completed cycle earns: a fixed
    amount per format, or (`per_hour`) in proportion to the minutes a case takes, in steps
    of `increment` (AMA: 1 credit per hour, in quarter credits, rounded to the nearest)."""

    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    label: str = Field(min_length=1)
    unit: str = "credits"
    professions: list[str] = Field(min_length=1)
    amounts: dict[CreditFormat, float]
    per_hour: dict[CreditFormat, float] = Field(default_factory=dict)
    increment: float = Field(default=0.25, gt=0, le=1)
    # the designation (or approval) statement of each format: point-of-care learning and
    # enduring material are designated differently
    designation: dict[CreditFormat, str]
    board_reportable: bool = False
    # how an amount is named ("0.5 AMA PRA Category 1 Credit™"); none: the label
    amount_names: AmountNames | None = None

    @model_validator(mode="after")
    def _check(self) -> CreditType:
        unknown = [p for p in self.professions if p != "*" and p not in PROFESSIONS]
        if unknown:
            raise ValueError(f"unknown professions {unknown}; use {list(PROFESSIONS)} or '*'")
        if any(amount <= 0 for amount in (*self.amounts.values(), *self.per_hour.values())):
            raise ValueError("credit amounts must be positive")
        undesignated = sorted(set(self.amounts) - set(self.designation))
        if undesignated:
            raise ValueError(f"no designation statement for {undesignated}")
        if set(self.per_hour) - set(self.amounts):
            raise ValueError("per_hour formats need a fixed amount too (cases without minutes)")
        return self

    def designation_for(self, credit_format: CreditFormat, amount: float) -> str:
        """The designation statement of a format: `{credits}` filled with `amount`, `{amount}`
        with the amount and its name (`amount_text`: "0.75 AMA PRA Category 1 Credit™")."""
        statement = self.designation[credit_format].replace("{amount}", self.amount_text(amount))
        return statement.replace("{credits}", f"{amount:g}")

    def amount_text(self, amount: float) -> str:
        """An amount with its name, the unit said once: "0.5 AMA PRA Category 1 Credit™",
        "1.75 AMA PRA Category 1 Credits™" (the label when no `amount_names` are set)."""
        names = self.amount_names
        name = self.label if names is None else names.one if amount <= 1 else names.other
        return f"{amount:g} {name}"

    def amount_for(self, credit_format: CreditFormat, minutes: int | None) -> float:
        """What one completed activity of this format earns; `minutes` is the case's
        estimated length (None: the fixed amount)."""
        rate = self.per_hour.get(credit_format)
        if rate is None or minutes is None:
            return self.amounts[credit_format]
        steps = max(1, round(rate * minutes / 60 / self.increment))
        return round(steps * self.increment, 2)

    def accepts(self, profession: str) -> bool:
        """Whether a learner of this profession may earn this credit type."""
        return "*" in self.professions or profession in self.professions

    @property
    def is_participation(self) -> bool:
        """A catch-all type (`*`): a certificate of participation, not credit."""
        return "*" in self.professions


class Cap(_Strict):
    """At most `max` of a credit type per period (a calendar year, or N calendar years)."""

    credit_type: str
    max: float = Field(gt=0)
    period: Literal["calendar-year", "calendar-years"] = "calendar-year"
    years: int = Field(default=1, ge=1, le=10)

    def period_of(self, day: date) -> tuple[date, date]:
        """The [start, end) dates of the period containing `day`."""
        span = 1 if self.period == "calendar-year" else self.years
        start_year = day.year - day.year % span
        return date(start_year, 1, 1), date(start_year + span, 1, 1)


class Statements(_Strict):
    """Texts printed on certificates and shown to learners."""

    accreditation: str = Field(min_length=1)
    disclosure: str = Field(min_length=1)
    patient_data_reminder: str = Field(min_length=1)


class Board(_Strict):
    """A certifying board receiving completion data; ABP accepts one record per activity."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    once_only: bool = False


class CreditRules(_Strict):
    """The whole rules file, validated."""

    provider: Provider
    activities: Activities
    credit_types: list[CreditType] = Field(min_length=1)
    caps: list[Cap] = Field(default_factory=list)
    claim_window_days: int = Field(default=730, ge=1)
    default_passing_score: float = Field(default=0.7, ge=0, le=1)
    statements: Statements
    # who plans and reviews the activities, with their disclosures (shown to learners)
    planners: list[Person] = Field(min_length=1)
    boards: list[Board] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> CreditRules:
        ids = [t.id for t in self.credit_types]
        if len(ids) != len(set(ids)):
            raise ValueError("credit type ids must be unique")
        unknown = [c.credit_type for c in self.caps if c.credit_type not in ids]
        if unknown:
            raise ValueError(f"caps name unknown credit types {unknown}")
        return self

    def credit_type(self, type_id: str) -> CreditType:
        """The credit type with this id (KeyError if absent)."""
        for credit_type in self.credit_types:
            if credit_type.id == type_id:
                return credit_type
        raise KeyError(type_id)

    def placeholders(self) -> list[str]:
        """The fields still holding a bundled demo value (`PLACEHOLDER`): a real provider
        replaces every one before going to production (`bedside doctor` fails until then)."""
        return sorted(_placeholder_fields(self.model_dump(), ""))

    def board(self, board_id: str) -> Board | None:
        """The configured board with this id (case-insensitive), if any."""
        for board in self.boards:
            if board.id.upper() == board_id.upper():
                return board
        return None


def _placeholder_fields(value: object, at: str) -> Iterator[str]:
    if isinstance(value, str) and re.search(rf"\b{PLACEHOLDER}\b", value):
        yield at
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from _placeholder_fields(inner, f"{at}.{key}" if at else str(key))
    elif isinstance(value, list):
        for position, inner in enumerate(value):
            yield from _placeholder_fields(inner, f"{at}[{position}]")


def load_rules(path: Path | None = None) -> CreditRules:
    """Load and validate a rules file; `None` loads the bundled defaults."""
    source = path or DEFAULT_RULES_FILE
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RulesError(f"{source}: cannot read credit rules: {exc}") from exc
    if not isinstance(raw, dict):
        raise RulesError(f"{source}: credit rules must be a mapping")
    try:
        return CreditRules.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()
        )
        raise RulesError(f"{source}: invalid credit rules: {problems}") from exc
