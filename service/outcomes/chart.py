"""The dashboard's small practice chart: two bars, before and after learning, each the share
of opportunities where the recommended action was seen, drawn from the published counts
(a hidden cell draws no bar and says why). Pure geometry for a 240 x 120 SVG; the page
also gives the same numbers as a table for screen readers."""

from __future__ import annotations

from dataclasses import dataclass

from service.outcomes.formats import WHY
from service.outcomes.suppression import Cell, Hidden

AXIS_Y = 95.0
TOP = 80.0  # the height of 100%
BAR_WIDTH = 60.0
SLOTS = (("Before learning", 40.0), ("After learning", 140.0))


@dataclass(frozen=True, slots=True)
class PracticeBar:
    """One phase: the bar (height 0 when none is drawn) and the words that go with it."""

    label: str
    x: float
    y: float
    width: float
    height: float
    text: str  # above the bar: "40%", or in its place: "hidden", "none seen"
    concordant: int | None
    opportunities: int | None
    learners: int | None
    why: str | None = None  # a hidden cell: why, in plain words

    @property
    def drawn(self) -> bool:
        return self.height > 0

    @property
    def text_y(self) -> float:
        return (self.y if self.drawn else AXIS_Y) - 4


def bar(label: str, x: float, cell: Cell) -> PracticeBar:
    """A phase's bar from its cell (opportunities, concordant)."""
    if cell.values is None:
        why = WHY[cell.hidden or Hidden.FEW]
        return PracticeBar(label, x, AXIS_Y, BAR_WIDTH, 0.0, "hidden", None, None, None, why)
    opportunities, concordant = (round(v) for v in cell.values)
    if opportunities <= 0:
        return PracticeBar(label, x, AXIS_Y, BAR_WIDTH, 0.0, "none seen", 0, 0, cell.learners)
    share = min(max(concordant / opportunities, 0.0), 1.0)
    height = round(share * TOP, 1)
    return PracticeBar(
        label,
        x,
        round(AXIS_Y - height, 1),
        BAR_WIDTH,
        height,
        f"{round(share * 100)}%",
        concordant,
        opportunities,
        cell.learners,
    )


def practice_bars(before: Cell, after: Cell) -> tuple[PracticeBar, PracticeBar]:
    """The two bars of an item's chart."""
    (before_label, before_x), (after_label, after_x) = SLOTS
    return bar(before_label, before_x, before), bar(after_label, after_x, after)
