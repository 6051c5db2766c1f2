"""ORM model of the education leads' credentials: a name and the hash of a bearer token
(never the token). Hospital IT's admin token does not open the education dashboard, and an
education lead's token opens nothing else."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, CreatedAt, UUIDPk


class EducationLead(Base):
    __tablename__ = "education_lead"

    id: Mapped[UUIDPk]
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the token
    created_at: Mapped[CreatedAt]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
