"""The pure shaping of the report (`build_report`) over random per-learner contributions:
published numbers are the sums of what learners contributed, no published cell describes 1
to 4 learners, a total is hidden whenever exactly one of its parts is, and the JSON never
carries a number where a cell is suppressed."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from service.outcomes.formats import to_json
from service.outcomes.queries import Contribution
from service.outcomes.report import COLUMNS, NO_REASON, RawOutcomes, build_report
from tests.outcomes.factories import library

ITEMS = ["statin-diabetes", "nsaid-hf", "colorectal-screening"]
LEARNERS = [f"lrn_{n:040d}" for n in range(9)]
REASONS = ["too-many-alerts", "patient-declined", None]

counts = st.integers(min_value=1, max_value=4)
single = st.builds(
    lambda item, who, n: Contribution(item, who, (n,)),
    st.sampled_from(ITEMS),
    st.sampled_from(LEARNERS),
    counts,
)


def keyed(keys: list[Any], width: int = 1) -> st.SearchStrategy[Contribution]:
    return st.builds(
        lambda item, who, key, values: Contribution(item, who, tuple(values), key),
        st.sampled_from(ITEMS),
        st.sampled_from(LEARNERS),
        st.sampled_from(keys),
        st.lists(counts, min_size=width, max_size=width),
    )


def unique(rows: list[Contribution]) -> list[Contribution]:
    """One row per (item, learner, key), as a GROUP BY returns."""
    seen: dict[tuple[str, str, str | None], Contribution] = {}
    for row in rows:
        seen.setdefault((row.item_id, row.learner, row.key), row)
    return list(seen.values())


raws = st.builds(
    RawOutcomes,
    shown=st.lists(single, max_size=25).map(unique),
    launches=st.lists(single, max_size=15).map(unique),
    completed=st.lists(single, max_size=15).map(unique),
    credits=st.lists(single, max_size=15).map(unique),
    feedback=st.lists(keyed(["accepted", "overridden"]), max_size=20).map(unique),
    reasons=st.lists(keyed(REASONS), max_size=20).map(unique),
    practice=st.lists(keyed(["before", "after"], width=2), max_size=25).map(unique),
)


@given(raws)
@settings(max_examples=200, deadline=None)
def test_published_numbers_are_sums_and_never_about_one_to_four_learners(
    raw: RawOutcomes,
) -> None:
    report = build_report(2026, raw, library())
    expected_shown = {
        item: sum(c.values[0] for c in raw.shown if c.item_id == item) for item in ITEMS
    }
    for row in (*report.items, report.total):
        for column in COLUMNS:
            cell = row.cells[column]
            if not cell.suppressed:
                assert cell.learners == 0 or (cell.learners or 0) >= 5
        for _code, cell in row.reasons:
            if not cell.suppressed:
                assert (cell.learners or 0) >= 5
    for row in report.items:
        shown = row.cells["cards_shown"]
        if not shown.suppressed:
            assert shown.values == (expected_shown[row.item_id],)
            learners = {c.learner for c in raw.shown if c.item_id == row.item_id}
            assert shown.learners == len(learners)


@given(raws)
@settings(max_examples=200, deadline=None)
def test_a_total_is_hidden_when_exactly_one_of_its_parts_is(raw: RawOutcomes) -> None:
    report = build_report(2026, raw, library())
    for row in report.items:
        hidden = [cell for _code, cell in row.reasons if cell.suppressed]
        if len(hidden) == 1:
            assert row.cells["overridden"].suppressed
    for column in COLUMNS:
        hidden = [row for row in report.items if row.cells[column].suppressed]
        if len(hidden) == 1:
            assert report.total.cells[column].suppressed


@given(raws)
@settings(max_examples=100, deadline=None)
def test_the_json_carries_no_number_in_a_suppressed_cell(raw: RawOutcomes) -> None:
    document = json.loads(to_json(build_report(2026, raw, library())))

    def cells(value: Any) -> list[dict[str, Any]]:
        if isinstance(value, dict):
            found = [value] if "suppressed" in value else []
            return found + [c for v in value.values() for c in cells(v)]
        if isinstance(value, list):
            return [c for v in value for c in cells(v)]
        return []

    for cell in cells(document):
        numbers = {k: v for k, v in cell.items() if k not in {"suppressed", "why", "code"}}
        if cell["suppressed"]:
            assert set(numbers.values()) == {None}
        else:
            assert None not in numbers.values()
    reasons = [r for item in document["items"] for r in item["override_reasons"]]
    assert all(r["code"] != NO_REASON for r in reasons)
