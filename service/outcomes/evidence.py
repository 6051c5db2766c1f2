"""The evidence an accredited provider keeps for outcome-based credit (the shape of the AMA's
performance-improvement CME stages A and C, and of ACCME's outcomes evidence): per activity
(a content item) and per learner, a baseline measurement of practice before learning and a
re-measurement after it, with the learning date.

Only learners who consented to reporting (`LearnerProfile.consent_to_report`) are in it,
under the names their profile holds; the learner key is never printed. A consenting learner
whose profile lacks a given or family name is left out and counted, so the command can say
so. The period picks the cohort: the learners whose first completed cycle on the item falls
in that year; their baseline is every month counted before that completion and their
re-measurement every month after it, whatever the year. No suppression: these are
individual, consented records for the provider's files, not a published aggregate.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from service.outcomes import queries
from service.outcomes.formats import safe
from service.outcomes.queries import MonthCount, Reporter
from service.outcomes.report import Items, titles

EVIDENCE_COLUMNS = [
    "item_id",
    "activity_title",
    "measure_title",
    "given_name",
    "family_name",
    "learned_on",
    "baseline_months",
    "baseline_opportunities",
    "baseline_concordant",
    "baseline_rate",
    "remeasurement_months",
    "remeasurement_opportunities",
    "remeasurement_concordant",
    "remeasurement_rate",
]


@dataclass(frozen=True, slots=True)
class Measurement:
    """Counts of one phase summed over its months (first and last month, when any)."""

    opportunities: int = 0
    concordant: int = 0
    first_month: str | None = None
    last_month: str | None = None

    @property
    def rate(self) -> float | None:
        """Concordant per opportunity; None without opportunities."""
        return self.concordant / self.opportunities if self.opportunities else None

    @property
    def months(self) -> str:
        if self.first_month is None:
            return ""
        if self.first_month == self.last_month:
            return self.first_month
        return f"{self.first_month} to {self.last_month}"


def measure(counts: Iterable[MonthCount]) -> Measurement:
    """One phase's months summed."""
    rows = list(counts)
    if not rows:
        return Measurement()
    months = sorted(row.month for row in rows)
    return Measurement(
        sum(row.opportunities for row in rows),
        sum(row.concordant for row in rows),
        months[0],
        months[-1],
    )


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    """One learner on one activity: names, learning date, baseline and re-measurement."""

    item_id: str
    title: str
    measure_title: str | None
    given_name: str
    family_name: str
    learned_on: date
    baseline: Measurement
    remeasurement: Measurement


@dataclass(frozen=True, slots=True)
class Evidence:
    """The evidence file's rows, and how many consenting learners of the cohort were left
    out for want of a given or family name in their profile."""

    year: int
    rows: tuple[EvidenceRow, ...]
    left_out: int


def named(reporter: Reporter) -> bool:
    return bool((reporter.given_name or "").strip() and (reporter.family_name or "").strip())


def build_evidence(
    year: int,
    learned: Mapping[tuple[str, str], date],
    reporters: Mapping[str, Reporter],
    counts: Iterable[MonthCount],
    library: Items,
) -> Evidence:
    """The rows of the year's cohort (`learned`: (learner, item) -> learning date) of the
    consenting learners (`reporters`), measured from their practice `counts`."""
    by_pair: dict[tuple[str, str, str], list[MonthCount]] = defaultdict(list)
    for row in counts:
        by_pair[(row.learner, row.item_id, row.phase)].append(row)
    rows: list[EvidenceRow] = []
    left_out: set[str] = set()
    for (learner, item_id), learned_on in learned.items():
        reporter = reporters.get(learner)
        if reporter is None:
            continue  # not consenting: never in the file
        if not named(reporter):
            left_out.add(learner)
            continue
        title, measure_title = titles(item_id, library)
        rows.append(
            EvidenceRow(
                item_id,
                title,
                measure_title,
                (reporter.given_name or "").strip(),
                (reporter.family_name or "").strip(),
                learned_on,
                measure(by_pair[(learner, item_id, "before")]),
                measure(by_pair[(learner, item_id, "after")]),
            )
        )
    rows.sort(key=lambda r: (r.title.casefold(), r.family_name.casefold(), r.given_name, r.item_id))
    return Evidence(year, tuple(rows), len(left_out))


async def outcomes_evidence(
    session: AsyncSession, library: Items, year: int, item_id: str | None = None
) -> Evidence:
    """The evidence of a year's cohort (of one item when `item_id` is given)."""
    learned = await queries.first_learned(session, year, item_id)
    reporters = await queries.consenting(session)
    counts = await queries.consenting_counts(session, item_id)
    return build_evidence(year, learned, reporters, counts, library)


@dataclass(frozen=True, slots=True)
class CohortSize:
    """How many rows the year's evidence file holds, and how many consenting learners of
    the cohort it leaves out for want of a name (what the dashboard says of the file)."""

    rows: int
    left_out: int


def cohort_size(
    learned: Mapping[tuple[str, str], date], reporters: Mapping[str, Reporter]
) -> CohortSize:
    in_file = [(learner, reporters[learner]) for learner, _ in learned if learner in reporters]
    return CohortSize(
        sum(1 for _, reporter in in_file if named(reporter)),
        len({learner for learner, reporter in in_file if not named(reporter)}),
    )


async def outcomes_cohort(session: AsyncSession, year: int) -> CohortSize:
    """The size of the year's evidence file, without reading any practice count."""
    learned = await queries.first_learned(session, year)
    return cohort_size(learned, await queries.consenting(session))


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def to_csv(evidence: Evidence) -> str:
    """The evidence as CSV (rates as fractions with two decimals; empty without any
    opportunity)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EVIDENCE_COLUMNS)
    for row in evidence.rows:
        base, after = row.baseline, row.remeasurement
        writer.writerow(
            [
                safe(row.item_id),
                safe(row.title),
                safe(row.measure_title or ""),
                safe(row.given_name),
                safe(row.family_name),
                row.learned_on.isoformat(),
                base.months,
                base.opportunities,
                base.concordant,
                _rate(base.rate),
                after.months,
                after.opportunities,
                after.concordant,
                _rate(after.rate),
            ]
        )
    return out.getvalue()
