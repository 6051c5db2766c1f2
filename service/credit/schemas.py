"""API schemas of the credit package: inputs (CycleItem, CyclePatch, ProfileUpdate) and views
(CycleView, LearnerProfileView, LedgerEntryView, ClaimResult, TranscriptView, LearnerHome,
CredentialReport). ORM models stay separate (service/credit/models.py).

Validation messages are plain words a clinician reads as they are (the app answers them in
`msg`), and never repeat the value given."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
)
from pydantic_core import PydanticCustomError

from service.credit.rules import PROFESSIONS, CreditFormat, Profession

Application = Literal[
    "changed-management", "confirmed-plan", "discuss-with-patient", "not-applicable", "other"
]
CycleStatus = Literal["pending", "complete", "claimed"]


class CycleItem(BaseModel):
    """The content item a learning cycle is about (from the card's content item)."""

    model_config = ConfigDict(extra="forbid")

    item_id: str = Field(min_length=1, max_length=200)
    item_version: str = Field(min_length=1, max_length=40)
    item_type: Literal["guideline", "case"]
    title: str = Field(min_length=1, max_length=500)
    credit_format: Literal["poc", "enduring"]
    question: str | None = Field(default=None, max_length=2000)
    source_citation: str = Field(min_length=1, max_length=2000)
    passing_score: float | None = Field(default=None, ge=0, le=1)
    # a case's estimated length: enduring credit follows it (`CreditType.per_hour`)
    case_minutes: int | None = Field(default=None, ge=1, le=600)


class CyclePatch(BaseModel):
    """What the learner documents; only the fields given are changed."""

    model_config = ConfigDict(extra="forbid")

    question: str | None = Field(default=None, max_length=2000)
    application: Application | None = None
    application_text: str | None = Field(default=None, max_length=4000)
    case_answers: dict[str, str] | None = None
    case_score: float | None = Field(default=None, ge=0, le=1)
    case_passed: bool | None = None


class CycleView(BaseModel):
    """A learning cycle as the learner sees it; `missing` says what is left to document."""

    id: uuid.UUID
    card_uuid: str | None
    item_id: str
    item_version: str
    item_type: str
    title: str
    credit_format: str
    question: str | None
    source_citation: str
    passing_score: float | None
    case_minutes: int | None = None
    application: str | None
    application_text: str | None
    case_answers: dict[str, str] | None
    case_score: float | None
    case_passed: bool | None
    status: CycleStatus
    missing: list[str]
    started_at: datetime
    completed_at: datetime | None
    claimed_at: datetime | None
    claim_deadline: datetime
    patient_data_reminder: str
    # why the card behind the cycle was shown (a short code, `service/cards/ranking.py:
    # why_code`); None for a cycle started from the library or before it was kept
    shown_because: str | None = None


RENEWAL_YEARS_AHEAD = 10  # a renewal date further ahead is a typing slip (the year)
MAX_LEARNING_GOALS = 5  # a handful of topics keeps the ranking's lift meaningful


def latest_renewal(today: date) -> date:
    """The furthest renewal date accepted on `today` (29 February: 28 February)."""
    try:
        return today.replace(year=today.year + RENEWAL_YEARS_AHEAD)
    except ValueError:
        return today.replace(year=today.year + RENEWAL_YEARS_AHEAD, day=28)


class _Renewing(BaseModel):
    """A license or board id; `renews_on` is left out when not given (the stored and served
    shape of profiles written before it). A renewal date more than 10 years ahead is refused
    (a past one is kept: the requirements roll it forward a cycle at a time)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("renews_on", check_fields=False)
    @classmethod
    def _not_too_far(cls, value: date | None) -> date | None:
        if value is not None and value > latest_renewal(datetime.now(UTC).date()):
            raise _problem(
                "renews_too_far",
                f"A renewal date is at most {RENEWAL_YEARS_AHEAD} years ahead: please check "
                "the year.",
            )
        return value

    @model_serializer(mode="wrap")
    def _without_empty_date(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        data: dict[str, object] = handler(self)
        if data.get("renews_on") is None:
            data.pop("renews_on", None)
        return data


class StateLicense(_Renewing):
    state: str = Field(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$")
    number: str = Field(min_length=1, max_length=40)
    # when the license next renews: its CME cycle ends then (docs/credit.md, "Requirements")
    renews_on: date | None = None


class BoardId(_Renewing):
    board: str = Field(min_length=2, max_length=20)
    id: str = Field(min_length=1, max_length=40)
    # the board's next due date (ABIM: the MOC deadline in its Physician Portal)
    renews_on: date | None = None


def _problem(kind: str, message: str) -> PydanticCustomError:
    """A validation error in plain words (`message` has no braces: it is no template)."""
    return PydanticCustomError(kind, message)


def clean_name(value: str | None, what: str, *, limit: int, alone: bool) -> str | None:
    """A name as the learner meant it: spaces folded, blank is none. `alone`: one part of a
    name (given, family), so no comma, which would bring a degree or a title along."""
    if value is None or not (text := " ".join(value.split())):
        return None
    if len(text) > limit:
        raise _problem("name_too_long", f"Your {what} can be at most {limit} characters.")
    if not text.isprintable():
        raise _problem("name_unprintable", f"Your {what} has a character we cannot print.")
    if alone and "," in text:
        raise _problem(
            "name_with_comma",
            f"Please give your {what} only, without a comma, degree or title (such as MD).",
        )
    return text


def _within(value: int | None, low: int, high: int, message: str) -> int | None:
    if value is not None and not low <= value <= high:
        raise _problem("out_of_range", message)
    return value


class ProfileUpdate(BaseModel):
    """The profile a learner chooses to give. Fields left out are unchanged; an empty name
    clears it. `name` is the single name profiles held before given and family names: old
    clients may still send it, but board reports only ever use `given_name` and
    `family_name`, never a split of `name`."""

    model_config = ConfigDict(extra="forbid")

    given_name: str | None = None
    family_name: str | None = None
    name: str | None = None
    profession: Profession | None = None
    specialty: str | None = None
    npi: str | None = None
    state_licenses: list[StateLicense] | None = None
    board_ids: list[BoardId] | None = None
    birth_month: int | None = None
    birth_day: int | None = None
    consent_to_report: bool | None = None
    # topic ids of the content library's vocabulary the learner wants to focus on (the app
    # checks them against the library: this package does not know it)
    learning_goals: list[str] | None = None

    @field_validator("given_name", "family_name", "name")
    @classmethod
    def _names(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.field_name == "name":
            return clean_name(value, "name", limit=200, alone=False)
        what = "given name" if info.field_name == "given_name" else "family name"
        return clean_name(value, what, limit=100, alone=True)

    @field_validator("profession", mode="before")
    @classmethod
    def _profession(cls, value: object) -> object:
        if value is not None and value not in PROFESSIONS:
            raise _problem("profession", "Please choose your profession from the list.")
        return value

    @field_validator("specialty")
    @classmethod
    def _specialty(cls, value: str | None) -> str | None:
        return clean_name(value, "specialty", limit=200, alone=False)

    @field_validator("npi")
    @classmethod
    def _npi(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[0-9]{10}", value):
            raise _problem("npi", "An NPI is 10 digits.")
        return value

    @field_validator("birth_month")
    @classmethod
    def _birth_month(cls, value: int | None) -> int | None:
        return _within(value, 1, 12, "Your birth month is a number from 1 to 12.")

    @field_validator("birth_day")
    @classmethod
    def _birth_day(cls, value: int | None) -> int | None:
        return _within(value, 1, 31, "Your birth day is a number from 1 to 31.")

    @field_validator("learning_goals")
    @classmethod
    def _goals(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        goals = list(dict.fromkeys(value))  # a topic chosen twice is chosen once
        if len(goals) > MAX_LEARNING_GOALS:
            raise _problem("too_many_goals", f"Choose at most {MAX_LEARNING_GOALS} learning goals.")
        if not all(re.fullmatch(r"[a-z0-9][a-z0-9-]{0,59}", goal) for goal in goals):
            raise _problem("unknown_goal", "Choose your learning goals from the list of topics.")
        return goals

    @field_validator("state_licenses")
    @classmethod
    def _upper_state(cls, value: list[StateLicense] | None) -> list[StateLicense] | None:
        if value is None:
            return None
        return [item.model_copy(update={"state": item.state.upper()}) for item in value]


class LearnerProfileView(BaseModel):
    """A learner's profile. `display_name` is what certificates and credentials print:
    "Given Family", else the single `name` of a profile written before given and family
    names. `needs_names`: board reports need both names (an old profile's `name` is never
    split), and `name_notice` says so in plain words."""

    learner_key: str
    given_name: str | None = None
    family_name: str | None = None
    display_name: str | None = None
    needs_names: bool = True
    name_notice: str | None = None
    name: str | None = None
    profession: str | None = None
    specialty: str | None = None
    npi: str | None = None
    state_licenses: list[StateLicense] = Field(default_factory=list)
    board_ids: list[BoardId] = Field(default_factory=list)
    birth_month: int | None = None
    birth_day: int | None = None
    consent_to_report: bool = False
    learning_goals: list[str] = Field(default_factory=list)  # topic ids


class LedgerEntryView(BaseModel):
    """One ledger line. Reversals carry a negative amount and the entry they reverse."""

    id: uuid.UUID
    kind: Literal["claim", "reversal"]
    cycle_id: uuid.UUID | None
    reverses_id: uuid.UUID | None
    credit_type: str
    credit_label: str
    amount: float
    activity_id: str
    activity_title: str
    item_id: str
    topic: str
    earned_on: date
    created_at: datetime
    reason: str | None = None
    # the learning format of the entry's cycle (a reversal: its claim's); None only in claim
    # responses stored before it was recorded
    credit_format: CreditFormat | None = None


class CycleDocumentation(BaseModel):
    """What the learner documented for a claimed cycle: the clinical question, the source
    consulted and the application to practice (its code and the learner's own words)."""

    question: str | None = None
    source_citation: str | None = None
    application: str | None = None
    application_text: str | None = None


class ClaimResult(BaseModel):
    """The response to a claim; a retry with the same idempotency key gets it unchanged."""

    entry: LedgerEntryView
    idempotency_key: str
    certificate: Literal["credit", "participation"]
    credit_statement: str
    notes: list[str] = Field(default_factory=list)


class ActivityTotal(BaseModel):
    """The net credit of one activity within a transcript row."""

    activity_id: str
    activity_title: str
    amount: float


class TranscriptTotal(BaseModel):
    """One row of "credits by year and type": the net total (claims minus reversals) of one
    credit type in one calendar year, and beneath it the activities it came from. There is
    exactly one row per (year, credit type)."""

    year: int
    credit_type: str
    credit_label: str
    amount: float
    activities: list[ActivityTotal] = Field(default_factory=list)


class TranscriptView(BaseModel):
    """Totals derived from the ledger (claims minus reversals) and the entries themselves.

    `totals`: one row per (year, credit type), oldest year first, each with its activities;
    `by_year`: the grand total of each year (every credit type); `by_credit_type`: each
    type's total over all years; `by_activity`: each activity's; `total`: the grand total."""

    learner_key: str
    name: str | None
    profession: str | None
    provider: str
    totals: list[TranscriptTotal]
    by_year: dict[str, float]
    by_credit_type: dict[str, float]
    by_activity: dict[str, float]
    total: float = 0.0
    entries: list[LedgerEntryView]


class MonthCredits(BaseModel):
    """Net credit earned in one calendar month (`month`: its first day), in all and per credit
    type (types netting to zero left out)."""

    month: date
    amount: float
    by_credit_type: dict[str, float] = Field(default_factory=dict)


class HomeCycle(CycleView):
    """A cycle still open to credit (a `CycleView`, never claimed) and the whole days left
    until its `claim_deadline` (its start plus the rules' `claim_window_days`)."""

    status: Literal["pending", "complete"]
    days_left: int


class LearnerHome(BaseModel):
    """What the learner's home shows, in one read.

    - `pending` (documentation left to do) and `ready_to_claim` (complete, not claimed): the
      cycles still claimable, each list soonest deadline first; `expired`: how many unclaimed
      cycles passed their deadline (left out of both lists).
    - `totals`: one row per (year, credit type) with its activities, as in the transcript;
      `by_year` and `total`: the grand totals; `months`: the last 12 calendar months, oldest
      first, the current one last; `entries`: the ledger, oldest first.
    - `profession`, `needs_names` and `name_notice`: what the profile still lacks."""

    learner_key: str
    pending: list[HomeCycle]
    ready_to_claim: list[HomeCycle]
    expired: int = 0
    totals: list[TranscriptTotal]
    by_year: dict[str, float]
    total: float
    months: list[MonthCredits]
    entries: list[LedgerEntryView] = Field(default_factory=list)
    profession: str | None = None
    needs_names: bool
    name_notice: str | None = None


class CredentialReport(BaseModel):
    """What `verify_credential` found: who issued it, to whom, for what, and whether valid."""

    valid: bool
    issuer: str | None = None
    learner: str | None = None
    kind: str | None = None
    credits: list[dict[str, object]] = Field(default_factory=list)
    issued_at: str | None = None
    errors: list[str] = Field(default_factory=list)
