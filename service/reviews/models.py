"""ORM model of the review queue: one row per (learner, content item, case question) the learner
missed or marked unsure, with its FSRS state, why it was queued and its mastery streak. No
patient data: a pseudonymous learner key and content ids."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, CreatedAt, UUIDPk


class ReviewItem(Base):
    """A missed or unsure case question to ask again when FSRS says it is due."""

    __tablename__ = "review_item"
    __table_args__ = (
        UniqueConstraint("learner", "item_id", "question_id"),
        Index("ix_review_item_learner_due", "learner", "due"),
    )

    id: Mapped[UUIDPk]
    learner: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[str] = mapped_column(String(200))
    question_id: Mapped[str] = mapped_column(String(20))
    state: Mapped[dict[str, Any]] = mapped_column(JSON)  # fsrs `Card.to_dict`
    due: Mapped[datetime]
    last_review: Mapped[datetime | None] = mapped_column(default=None)
    reviews: Mapped[int] = mapped_column(Integer, default=0)  # answers in review, not the miss
    # why it is in the queue: "missed" (answered wrongly) or "unsure" (marked so by the learner)
    reason: Mapped[str] = mapped_column(String(10), default="missed", server_default="missed")
    # right answers in a row since the last miss: two mean the question is mastered
    good_streak: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[CreatedAt]
