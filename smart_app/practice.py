"""The learner's own practice counts: `GET /api/learner/practice`, and the home page's panel
of each measure before and after learning (a small SVG per measure, with a table for screen
readers).

The counts come from `service/memory/practice.py` (no patient data anywhere). The wording is
honest about what they can show: small numbers, an association and not proof, and only what
the EHR sent with its card requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from service.deps import SessionDep
from service.memory.practice import MeasurePractice, Tally, practice_summary
from service.runtime import Runtime, RuntimeDep
from smart_app.api import LearnerDep

router = APIRouter(prefix="/api/learner", tags=["learner"])

NOTE = (
    "Counts of the times a recommendation applied to a patient in your EHR (opportunities) "
    "and the times the recommended care was seen in the same record (concordant), before and "
    "after you completed learning on it. Small numbers: a change here is an association, not "
    "proof that learning caused it. Bedside sees only what the EHR sends with its card "
    "requests, so some of your care is not counted. No patient details are kept."
)
CAUTION = "Small numbers: a change here is an association, not proof that learning caused it."
LIMITS = (
    "Bedside sees only what your EHR sends when it asks for cards, so care ordered elsewhere "
    "is not counted. Only counts are kept: nothing about any patient."
)


class PracticeCounts(BaseModel):
    """How often the measure applied, and how often the recommended care was seen."""

    opportunities: int
    concordant: int


class PracticeMeasureView(BaseModel):
    """One measure: its item and title, the counts before and after learning, and the UTC
    date of the learner's first completed cycle on the item (None: not learned yet)."""

    item_id: str
    title: str
    before: PracticeCounts
    after: PracticeCounts
    learned_on: date | None


class PracticeView(BaseModel):
    """The learner's measures, sorted by title, and what the counts can and cannot show."""

    measures: list[PracticeMeasureView]
    note: str


def practice_view(measures: Sequence[MeasurePractice]) -> PracticeView:
    """The API's answer: per measure, the counts before and after learning."""
    return PracticeView(
        measures=[
            PracticeMeasureView(
                item_id=m.item_id,
                title=m.title,
                before=_counts(m.before),
                after=_counts(m.after),
                learned_on=m.learned_on,
            )
            for m in measures
        ],
        note=NOTE,
    )


def _counts(tally: Tally) -> PracticeCounts:
    return PracticeCounts(opportunities=tally.opportunities, concordant=tally.concordant)


@router.get("/practice")
async def get_practice(runtime: RuntimeDep, db: SessionDep, session: LearnerDep) -> PracticeView:
    """The signed-in learner's own practice counts per measure, before and after learning
    (summed over months); no one else's."""
    return practice_view(await practice_summary(db, session.learner_key, runtime.content))


# The panel's SVG, in its own units (viewBox 0 0 300 64): one horizontal bar per phase,
# growing right from the 0% line towards the 100% line; the label on the left, "n of N" in a
# column on the right (room for "999 of 999 (100%)").
ZERO_X, FULL_WIDTH, BAR_HEIGHT, ROW_Y = 92, 124, 16, (6, 30)


@dataclass(frozen=True, slots=True)
class PracticeBar:
    """One phase of one measure: its counts, and its bar in the SVG's units (width 0 and no
    percent when the measure never applied in that phase)."""

    label: str
    opportunities: int
    concordant: int
    percent: int | None
    y: int
    width: float
    x: int = ZERO_X
    height: int = BAR_HEIGHT

    @property
    def text(self) -> str:
        """What the bar says: "n of N (p%)", never a percentage alone."""
        if self.percent is None:
            return "none yet"
        return f"{self.concordant} of {self.opportunities} ({self.percent}%)"

    @property
    def text_x(self) -> int:
        """The words sit in a column right of the 100% line, clear of every bar."""
        return ZERO_X + FULL_WIDTH + 6

    @property
    def text_y(self) -> int:
        return self.y + 12


@dataclass(frozen=True, slots=True)
class MeasurePanel:
    """One measure on the home page: its title, when it was learned, and its two bars."""

    item_id: str
    title: str
    learned_on: date | None
    before: PracticeBar
    after: PracticeBar

    @property
    def bars(self) -> tuple[PracticeBar, PracticeBar]:
        return self.before, self.after


@dataclass(frozen=True, slots=True)
class PracticePanel:
    """The home page's practice section."""

    measures: tuple[MeasurePanel, ...]
    caution: str = CAUTION
    limits: str = LIMITS
    zero_x: int = ZERO_X  # the SVG's 0% and 100% lines
    full_x: int = ZERO_X + FULL_WIDTH


def practice_bar(label: str, tally: Tally, y: int) -> PracticeBar:
    """A bar drawn from the counts only: concordant / opportunities of the full width."""
    if tally.opportunities <= 0:
        return PracticeBar(label, 0, tally.concordant, None, y, 0.0)
    share = min(max(tally.concordant, 0) / tally.opportunities, 1.0)
    return PracticeBar(
        label,
        tally.opportunities,
        tally.concordant,
        round(share * 100),
        y,
        round(share * FULL_WIDTH, 1),
    )


def practice_panel(measures: Sequence[MeasurePractice]) -> PracticePanel | None:
    """The home page's view of the learner's measures; None when there is nothing to show
    (the home then shows no practice section)."""
    if not measures:
        return None
    return PracticePanel(
        measures=tuple(
            MeasurePanel(
                item_id=m.item_id,
                title=m.title,
                learned_on=m.learned_on,
                before=practice_bar("Before learning", m.before, ROW_Y[0]),
                after=practice_bar("After learning", m.after, ROW_Y[1]),
            )
            for m in measures
        )
    )


async def home_practice(runtime: Runtime, db: AsyncSession, learner: str) -> PracticePanel | None:
    """The learner's practice panel for the home page (`views.home` passes it as
    `practice_panel`)."""
    return practice_panel(await practice_summary(db, learner, runtime.content))
