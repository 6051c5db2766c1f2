"""ORM models of learning cycles and the credit ledger (owned by the credit package).

No patient data lives here: no patient or encounter ids, no FHIR resources, no tokens. A
learner is the pseudonymous `learner_key` plus the profile the learner chooses to give.

Exactly-once is enforced by the database: one ledger entry per (learner, idempotency key),
one claim per cycle (`claim_cycle_id` is set only on claims and is unique) and one reversal
per entry (`reverses_id` unique). NULLs never collide in either SQLite or PostgreSQL.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, CreatedAt, UUIDPk


class LearnerProfile(Base):
    """What a learner chooses to tell us, for certificates and board reporting."""

    __tablename__ = "learner_profile"

    learner: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200), default=None)  # before 0005
    given_name: Mapped[str | None] = mapped_column(String(100), default=None)
    family_name: Mapped[str | None] = mapped_column(String(100), default=None)
    profession: Mapped[str | None] = mapped_column(String(40), default=None)
    specialty: Mapped[str | None] = mapped_column(String(200), default=None)
    npi: Mapped[str | None] = mapped_column(String(10), default=None)
    state_licenses: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    board_ids: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    birth_month: Mapped[int | None] = mapped_column(Integer, default=None)
    birth_day: Mapped[int | None] = mapped_column(Integer, default=None)
    consent_to_report: Mapped[bool] = mapped_column(Boolean, default=False)
    # topic ids of the content library the learner asked to focus on (ranking, "why this card")
    learning_goals: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[CreatedAt]


class LearningCycle(Base):
    """One point-of-care question (or case) a learner pursued from a card."""

    __tablename__ = "learning_cycle"
    __table_args__ = (
        UniqueConstraint("learner", "card_uuid"),
        Index("ix_learning_cycle_learner_status", "learner", "status"),
    )

    id: Mapped[UUIDPk]
    learner: Mapped[str] = mapped_column(String(64))
    card_uuid: Mapped[str | None] = mapped_column(String(64), default=None)
    item_id: Mapped[str] = mapped_column(String(200))
    item_version: Mapped[str] = mapped_column(String(40))
    item_type: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(500))
    credit_format: Mapped[str] = mapped_column(String(20))
    question: Mapped[str | None] = mapped_column(Text, default=None)
    source_citation: Mapped[str] = mapped_column(Text)
    passing_score: Mapped[float | None] = mapped_column(Float, default=None)
    case_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    # why the hook chose this card for this learner (a code from the signed appContext, shown
    # on the learn page in one line: service/cards/why.py: why_line)
    shown_because: Mapped[str | None] = mapped_column(String(80), default=None)
    application: Mapped[str | None] = mapped_column(String(40), default=None)
    application_text: Mapped[str | None] = mapped_column(Text, default=None)
    case_answers: Mapped[dict[str, str] | None] = mapped_column(JSON, default=None)
    case_score: Mapped[float | None] = mapped_column(Float, default=None)
    case_passed: Mapped[bool | None] = mapped_column(Boolean, default=None)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)


class LedgerEntry(Base):
    """An append-only ledger line: a claim (positive) or a reversal (negative amount)."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        UniqueConstraint("learner", "idempotency_key"),
        UniqueConstraint("claim_cycle_id"),
        UniqueConstraint("reverses_id"),
        Index("ix_ledger_entry_learner_earned", "learner", "earned_at"),
    )

    id: Mapped[UUIDPk]
    learner: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    claim_cycle_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("learning_cycle.id"), default=None
    )
    reverses_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ledger_entry.id"), default=None
    )
    credit_type: Mapped[str] = mapped_column(String(60))
    amount: Mapped[float] = mapped_column(Float)
    activity_id: Mapped[str] = mapped_column(String(100))
    activity_title: Mapped[str] = mapped_column(String(500))
    item_id: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(500))
    earned_at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    response: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    created_at: Mapped[CreatedAt]


class AuditEvent(Base):
    """Who did what, when: claims, reversals, exports, profile changes. Never a token."""

    __tablename__ = "credit_audit"
    __table_args__ = (Index("ix_credit_audit_at", "at"),)

    id: Mapped[UUIDPk]
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    learner: Mapped[str | None] = mapped_column(String(64), default=None)
    subject: Mapped[str | None] = mapped_column(String(100), default=None)
    details: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class XapiOutboxItem(Base):
    """A learning event waiting for (or already pushed to) the LRS as an xAPI statement.

    The event holds verb, object and result; the statement is built at push time with the
    public URL of the deployment, so the id of the statement is fixed but not its homePage."""

    __tablename__ = "xapi_outbox"
    __table_args__ = (
        UniqueConstraint("statement_id"),
        Index("ix_xapi_outbox_pending", "sent_at", "next_attempt_at"),
    )

    id: Mapped[UUIDPk]
    statement_id: Mapped[uuid.UUID]
    learner: Mapped[str] = mapped_column(String(64))
    event: Mapped[dict[str, object]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[CreatedAt]


__all__ = ["AuditEvent", "LearnerProfile", "LearningCycle", "LedgerEntry", "XapiOutboxItem"]
