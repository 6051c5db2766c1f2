"""ORM models of issued cards and their feedback. No patient data: a card is remembered by
its uuid, the content item, the pseudonymous learner, the hook and the time."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, CreatedAt, UUIDPk


class IssuedCard(Base):
    __tablename__ = "issued_card"
    __table_args__ = (Index("ix_issued_card_learner_item", "learner", "item_id", "issued_at"),)

    uuid: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    item_id: Mapped[str] = mapped_column(String(200))
    item_version: Mapped[str] = mapped_column(String(40))
    learner: Mapped[str] = mapped_column(String(64))
    service_id: Mapped[str] = mapped_column(String(100))
    hook: Mapped[str] = mapped_column(String(100))
    hook_instance: Mapped[str] = mapped_column(String(100))
    issuer: Mapped[str] = mapped_column(String(500))
    tenant: Mapped[str | None] = mapped_column(String(200), default=None)
    issued_at: Mapped[datetime]
    # "learn" (a snippet or case for this patient) or "recall" (a due review question)
    purpose: Mapped[str] = mapped_column(String(10), default="learn", server_default="learn")


class PracticeTally(Base):
    """What a learner did when a practice measure applied, counted per measure, month and
    phase (`before` or `after` the learner completed a cycle on the measure's item). Counts
    only: no patient, encounter, date of birth or resource (docs/outcomes.md)."""

    __tablename__ = "practice_tally"
    __table_args__ = (
        UniqueConstraint("learner", "measure_id", "month", "phase"),
        # the closed months still to publish to the LRS, found without a scan
        Index("ix_practice_tally_unpublished", "published_at", "month"),
    )

    id: Mapped[UUIDPk]
    learner: Mapped[str] = mapped_column(String(64))
    measure_id: Mapped[str] = mapped_column(String(200))
    item_id: Mapped[str] = mapped_column(String(200))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM (UTC)
    phase: Mapped[str] = mapped_column(String(6))  # "before" | "after"
    opportunities: Mapped[int] = mapped_column(Integer, default=0)
    concordant: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]
    # when the month's counts went to the LRS outbox (a closed month is published once)
    published_at: Mapped[datetime | None] = mapped_column(default=None)


class CardFeedback(Base):
    """One feedback record; the EHR may send the same feedback again: one row per
    (card, outcome, outcomeTimestamp)."""

    __tablename__ = "card_feedback"
    __table_args__ = (UniqueConstraint("card_uuid", "outcome", "outcome_timestamp"),)

    id: Mapped[UUIDPk]
    card_uuid: Mapped[uuid.UUID] = mapped_column(ForeignKey("issued_card.uuid"))
    outcome: Mapped[str] = mapped_column(String(20))
    outcome_timestamp: Mapped[datetime]
    override_reason_system: Mapped[str | None] = mapped_column(String(500), default=None)
    override_reason_code: Mapped[str | None] = mapped_column(String(200), default=None)
    accepted_suggestions: Mapped[list[str]] = mapped_column(JSON, default=list)
    received_at: Mapped[CreatedAt]
