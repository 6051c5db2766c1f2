"""Credit rules: the accredited provider's configuration, validated (configuration, not code).

Contract (used by service/app.py and the SMART app):

- `CreditRules`: the validated rules (provider, activities, credit types and amounts, caps,
  claim window, statements, boards with once-only reporting).
- `load_rules(path: Path | None = None) -> CreditRules`: `None` loads the bundled
  `default_rules.yaml`; a bad file raises `RulesError` naming the problem.

The format is documented in docs/credit.md and by the comments in default_rules.yaml.
"""

from __future__ import annotations

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


class Provider(_Strict):
    """The accredited provider printed on certificates and reports."""

    name: str = Field(min_length=1)
    address: str = Field(min_length=1)
    accme_id: str = Field(min_length=1)


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


class CreditType(_Strict):
    """A kind of credit, who may earn it, and how much each completed cycle earns."""

    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    label: str = Field(min_length=1)
    unit: str = "credits"
    professions: list[str] = Field(min_length=1)
    amounts: dict[CreditFormat, float]
    statement: str = Field(min_length=1)
    board_reportable: bool = False

    @model_validator(mode="after")
    def _check(self) -> CreditType:
        unknown = [p for p in self.professions if p != "*" and p not in PROFESSIONS]
        if unknown:
            raise ValueError(f"unknown professions {unknown}; use {list(PROFESSIONS)} or '*'")
        if any(amount <= 0 for amount in self.amounts.values()):
            raise ValueError("credit amounts must be positive")
        return self

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

    accreditation: str
    disclosure: str
    patient_data_reminder: str


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

    def board(self, board_id: str) -> Board | None:
        """The configured board with this id (case-insensitive), if any."""
        for board in self.boards:
            if board.id.upper() == board_id.upper():
                return board
        return None


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
