"""Admin reporting for ACCME PARS: the annual aggregate and the learner-completion file.

- Aggregate: per activity and credit type, the number of distinct learners with net credit
  and the credits (claims minus reversals). All point-of-care learning of a year is one
  aggregate activity.
- Learner completion (tab-delimited): consenting learners only, board-reportable credit only
  (AMA PRA Category 1). A row per completed cycle, except for boards that accept completion
  data once per learner and activity (ABP): those rows are aggregated first. Learners with
  no board id get one row per activity for state licensing boards (license or NPI).

Names are reported as the learner gave them: First Name is the given name, Last Name the
family name. A profile without both (one written before they were held apart has a single
name) is left out and listed by `needs_names`: a single name is never split by guesswork
("Elizbeth Ratke, MD" is not last name "MD", "Maria de la Cruz" is not last name "Cruz").
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from service.credit.rules import CreditRules

PARS_COLUMNS = [
    "Activity ID",
    "Activity Title",
    "Board",
    "Board ID",
    "First Name",
    "Last Name",
    "DOB Month",
    "DOB Day",
    "Completion Date",
    "Credit Type",
    "Credits",
    "License State",
    "License Number",
    "NPI",
    "Permission",
]
SUMMARY_COLUMNS = ["Year", "Activity ID", "Activity Title", "Credit Type", "Learners", "Credits"]


@dataclass(frozen=True)
class ReportEntry:
    """A net, unreversed claim of the reporting period."""

    learner: str
    credit_type: str
    amount: float
    activity_id: str
    activity_title: str
    earned_on: date


@dataclass(frozen=True)
class ReportLearner:
    """The profile fields reporting needs."""

    learner: str
    given_name: str | None = None
    family_name: str | None = None
    board_ids: list[dict[str, str]] = field(default_factory=list)
    state_licenses: list[dict[str, str]] = field(default_factory=list)
    npi: str | None = None
    birth_month: int | None = None
    birth_day: int | None = None
    consent: bool = False

    @property
    def named(self) -> bool:
        """Whether both names a board report needs were given."""
        return bool(self.given_name and self.family_name)


def summary_rows(year: int, entries: list[ReportEntry]) -> list[list[str]]:
    """Aggregate rows: distinct learners with net credit and total credits per activity/type."""
    per_learner: dict[tuple[str, str, str, str], float] = defaultdict(float)
    for e in entries:
        per_learner[(e.activity_id, e.activity_title, e.credit_type, e.learner)] += e.amount
    groups: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for (activity, title, credit_type, _learner), amount in per_learner.items():
        if round(amount, 2) > 0:
            groups[(activity, title, credit_type)].append(amount)
    return [
        [str(year), a, t, c, str(len(amounts)), f"{round(sum(amounts), 2):g}"]
        for (a, t, c), amounts in sorted(groups.items())
    ]


def _person(p: ReportLearner) -> dict[str, str]:
    license_ = p.state_licenses[0] if p.state_licenses else {}
    return {
        "First Name": p.given_name or "",
        "Last Name": p.family_name or "",
        "DOB Month": f"{p.birth_month:02d}" if p.birth_month else "",
        "DOB Day": f"{p.birth_day:02d}" if p.birth_day else "",
        "License State": license_.get("state", ""),
        "License Number": license_.get("number", ""),
        "NPI": p.npi or "",
        "Permission": "Y",
    }


def _rows_for_board(
    person: dict[str, str], board: str, board_id: str, once_only: bool, mine: list[ReportEntry]
) -> list[dict[str, str]]:
    groups: dict[tuple[str, str, str], list[ReportEntry]] = defaultdict(list)
    for index, e in enumerate(mine):
        key = (e.activity_id, e.credit_type, "" if once_only else str(index))
        groups[key].append(e)
    rows = []
    for items in groups.values():
        first = items[0]
        rows.append(
            {
                **person,
                "Activity ID": first.activity_id,
                "Activity Title": first.activity_title,
                "Board": board,
                "Board ID": board_id,
                "Completion Date": max(e.earned_on for e in items).strftime("%m/%d/%Y"),
                "Credit Type": first.credit_type,
                "Credits": f"{round(sum(e.amount for e in items), 2):g}",
            }
        )
    return rows


def _reportable(entries: list[ReportEntry], rules: CreditRules) -> dict[str, list[ReportEntry]]:
    """Board-reportable entries by learner."""
    reportable = {t.id for t in rules.credit_types if t.board_reportable}
    by_learner: dict[str, list[ReportEntry]] = defaultdict(list)
    for e in entries:
        if e.credit_type in reportable:
            by_learner[e.learner].append(e)
    return by_learner


def completion_rows(
    entries: list[ReportEntry], learners: dict[str, ReportLearner], rules: CreditRules
) -> list[dict[str, str]]:
    """Learner-completion rows of consenting learners who gave both names (ABP once-only
    aggregated)."""
    by_learner = _reportable(entries, rules)
    rows: list[dict[str, str]] = []
    for key in sorted(by_learner):
        profile = learners.get(key)
        if profile is None or not profile.consent or not profile.named:
            continue
        person = _person(profile)
        boards = profile.board_ids or [{"board": "", "id": ""}]
        for board in boards:
            configured = rules.board(board["board"]) if board["board"] else None
            once = configured.once_only if configured else not board["board"]
            rows += _rows_for_board(
                person, board["board"].upper(), board["id"], once, by_learner[key]
            )
    return rows


def needs_names(
    entries: list[ReportEntry], learners: dict[str, ReportLearner], rules: CreditRules
) -> list[str]:
    """Consenting learners with reportable credit left out for want of a given or family
    name (sorted keys): they must add them before their credit can be reported."""
    return sorted(
        key
        for key in _reportable(entries, rules)
        if (profile := learners.get(key)) is not None and profile.consent and not profile.named
    )


def to_tsv(rows: list[dict[str, str]]) -> str:
    """The PARS tab-delimited learner file (header first; tabs in values become spaces)."""
    lines = ["\t".join(PARS_COLUMNS)]
    for row in rows:
        lines.append("\t".join(row.get(c, "").replace("\t", " ") for c in PARS_COLUMNS))
    return "\r\n".join(lines) + "\r\n"


def summary_csv(rows: list[list[str]]) -> str:
    """The annual aggregate as CSV."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(SUMMARY_COLUMNS)
    writer.writerows(rows)
    return out.getvalue()
