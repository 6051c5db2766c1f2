"""API schemas of the credit package: inputs (CycleItem, CyclePatch, ProfileUpdate) and views
(CycleView, LearnerProfileView, LedgerEntryView, ClaimResult, TranscriptView,
CredentialReport). ORM models stay separate (service/credit/models.py)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.credit.rules import Profession

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


class StateLicense(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: str = Field(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$")
    number: str = Field(min_length=1, max_length=40)


class BoardId(BaseModel):
    model_config = ConfigDict(extra="forbid")

    board: str = Field(min_length=2, max_length=20)
    id: str = Field(min_length=1, max_length=40)


class ProfileUpdate(BaseModel):
    """The profile a learner chooses to give. Fields left out are unchanged."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    profession: Profession | None = None
    specialty: str | None = Field(default=None, max_length=200)
    npi: str | None = Field(default=None, pattern=r"^\d{10}$")
    state_licenses: list[StateLicense] | None = None
    board_ids: list[BoardId] | None = None
    birth_month: int | None = Field(default=None, ge=1, le=12)
    birth_day: int | None = Field(default=None, ge=1, le=31)
    consent_to_report: bool | None = None

    @field_validator("state_licenses")
    @classmethod
    def _upper_state(cls, value: list[StateLicense] | None) -> list[StateLicense] | None:
        if value is None:
            return None
        return [StateLicense(state=item.state.upper(), number=item.number) for item in value]


class LearnerProfileView(BaseModel):
    learner_key: str
    name: str | None = None
    profession: str | None = None
    specialty: str | None = None
    npi: str | None = None
    state_licenses: list[StateLicense] = Field(default_factory=list)
    board_ids: list[BoardId] = Field(default_factory=list)
    birth_month: int | None = None
    birth_day: int | None = None
    consent_to_report: bool = False


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


class ClaimResult(BaseModel):
    """The response to a claim; a retry with the same idempotency key gets it unchanged."""

    entry: LedgerEntryView
    idempotency_key: str
    certificate: Literal["credit", "participation"]
    credit_statement: str
    notes: list[str] = Field(default_factory=list)


class TranscriptTotal(BaseModel):
    year: int
    credit_type: str
    credit_label: str
    activity_id: str
    amount: float


class TranscriptView(BaseModel):
    """Totals derived from the ledger (claims minus reversals) and the entries themselves."""

    learner_key: str
    name: str | None
    profession: str | None
    provider: str
    totals: list[TranscriptTotal]
    by_year: dict[str, float]
    by_credit_type: dict[str, float]
    by_activity: dict[str, float]
    entries: list[LedgerEntryView]


class CredentialReport(BaseModel):
    """What `verify_credential` found: who issued it, to whom, for what, and whether valid."""

    valid: bool
    issuer: str | None = None
    learner: str | None = None
    kind: str | None = None
    credits: list[dict[str, object]] = Field(default_factory=list)
    issued_at: str | None = None
    errors: list[str] = Field(default_factory=list)
