"""Imports every ORM model so that metadata (and alembic) sees the whole schema."""

from service.credit import models as credit_models
from service.db.base import Base
from service.ehr import models as ehr_models
from service.memory import models as memory_models
from service.outcomes import models as outcome_models
from service.reviews import models as review_models

__all__ = [
    "Base",
    "credit_models",
    "ehr_models",
    "memory_models",
    "outcome_models",
    "review_models",
]
