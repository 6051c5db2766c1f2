"""The practice-measure panel: synthetic calls written from each measure's definition (the
eCQM it is modelled on, the guideline text), each with every measure it must count and whether
concordant, and the measures it must never count (tests/fixtures/clinical_panel/measures).

Patients and draft orders are built as the clinical panel builds them (`clinical_panel.py`);
`observed` reads the facts as the hook does and asks `observe_practice` after matching, as the
hook will.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from service.cards.facts import PatientFacts, facts_from_resources
from service.cards.library import ContentLibrary
from service.cards.matching import match
from service.cards.measures import observe_practice
from service.cards.resources import resources_from_bundle
from tests.cards.clinical_panel import (
    DEFAULT_AT,
    PANEL_DIR,
    PanelCase,
    bundle_of,
    draft_orders_of,
)

MEASURE_PANEL_DIR = PANEL_DIR / "measures"


@dataclass(frozen=True)
class MeasureCase:
    """One call and what it must count: measure id -> concordant, and measures never counted."""

    call: PanelCase
    observe: dict[str, bool]
    never: frozenset[str]

    @property
    def id(self) -> str:
        """The case id."""
        return self.call.id


def _case(path: Path, data: dict[str, Any]) -> MeasureCase:
    call = PanelCase(
        id=data["id"],
        file=path.name,
        hook=data.get("hook", "patient-view"),
        at=data.get("at", DEFAULT_AT),
        data=data,
        must=frozenset(),
        never=frozenset(),
    )
    return MeasureCase(call, dict(data.get("observe") or {}), frozenset(data.get("never") or ()))


def load_measure_panel() -> list[MeasureCase]:
    """Every case of every measure panel file, in file order."""
    return [
        _case(path, data)
        for path in sorted(MEASURE_PANEL_DIR.glob("*.yaml"))
        for data in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
    ]


def facts_of(library: ContentLibrary, case: MeasureCase) -> PatientFacts:
    """The patient's facts as the hook reads them (only the observations the library reads)."""
    call = case.call
    return facts_from_resources(
        resources_from_bundle(bundle_of(call)),
        at=call.at,
        draft_orders=draft_orders_of(call),
        terminology=library.terminology,
        observations=library.observation_codes,
    )


def observed(
    library: ContentLibrary, case: MeasureCase, *, after_match: bool = True
) -> dict[str, bool]:
    """What the call counts: measure id -> concordant (after matching on the same facts, as the
    hook does, unless `after_match` is False)."""
    call = case.call
    facts = facts_of(library, case)
    if after_match:
        match(library, facts, hook=call.hook, at=call.at)
    found = observe_practice(library, facts, hook=call.hook, at=call.at)
    return {observation.item_id: observation.concordant for observation in found}
