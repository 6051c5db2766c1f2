"""Small-cell suppression of the outcomes report (pure: counts and learner sets in, what may
be published out).

A cell describing 1 to 4 distinct learners is hidden (`FEW`): with so few people behind a
number, a colleague could tell whose practice it is. Zero learners is published as it is
(nothing about anyone). A published total is a second way in: subtract the visible parts
from it and what remains is the sum of the hidden ones. So a total is also hidden
(`COMPLEMENT`) when what a subtraction would leave describes 1 to 4 learners; in
particular a total is never published when exactly one of its parts is hidden.

What a subtraction leaves is followed down the tree: from a hidden part, the reader can
still take away that part's own visible parts, so what stays secret in a hidden part is the
learners of its hidden parts (or its own learners when it was hidden for being small).
Learner sets are compared, not counts, because one learner often sits in several parts.
The learner keys never leave this module's callers: only counts are published.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

MIN_LEARNERS = 5


class Hidden(StrEnum):
    """Why a cell is not published."""

    FEW = "few"  # it describes 1 to 4 learners
    COMPLEMENT = "complement"  # a hidden cell could be worked out from it


@dataclass(frozen=True, slots=True)
class Tally:
    """A raw cell: its numbers and the distinct learners they describe (in-process only)."""

    values: tuple[float, ...]
    learners: frozenset[str]

    @staticmethod
    def zero(width: int = 1) -> Tally:
        return Tally((0,) * width, frozenset())


def merge(tallies: Iterable[Tally], width: int = 1) -> Tally:
    """The sum of several tallies: values added, learners united."""
    values = [0.0] * width
    learners: set[str] = set()
    for tally in tallies:
        for index, value in enumerate(tally.values):
            values[index] += value
        learners |= tally.learners
    return Tally(tuple(values), frozenset(learners))


@dataclass(frozen=True, slots=True)
class Node:
    """A cell and the parts it is the total of (none for a plain cell)."""

    tally: Tally
    parts: tuple[Node, ...] = ()


@dataclass(frozen=True, slots=True)
class Cell:
    """A published cell: its values and learner count, or neither and why not."""

    values: tuple[float, ...] | None
    learners: int | None
    hidden: Hidden | None = None

    @property
    def suppressed(self) -> bool:
        return self.hidden is not None


@dataclass(frozen=True, slots=True)
class Protected:
    """A node after suppression: its cell, its parts', and the learners a reader could still
    single out by subtracting visible cells from a total above it (empty when published)."""

    cell: Cell
    parts: tuple[Protected, ...]
    secret: frozenset[str]


def is_small(learners: int) -> bool:
    """1 to 4 learners: too few to publish (0 is not small: it describes nobody)."""
    return 0 < learners < MIN_LEARNERS


def protect(node: Node) -> Protected:
    """Decide, for a node and every part under it, what may be published."""
    parts = tuple(protect(part) for part in node.parts)
    learners = node.tally.learners
    if is_small(len(learners)):
        return Protected(Cell(None, None, Hidden.FEW), parts, learners)
    remainder = frozenset().union(*(part.secret for part in parts if part.cell.suppressed))
    if is_small(len(remainder)):
        return Protected(Cell(None, None, Hidden.COMPLEMENT), parts, remainder)
    return Protected(Cell(node.tally.values, len(learners)), parts, frozenset())


def cell(tally: Tally) -> Cell:
    """A plain cell (no parts) as published."""
    return protect(Node(tally)).cell
