"""Smoke test over whatever the bundled library holds: it loads, every item renders a card,
and a Synthea patient's facts resolve through its terminology."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import orjson
import pytest

from service.cards.facts import facts_from_resources
from service.cards.library import ContentLibrary, load_library
from service.cards.matching import match, match_exhaustive
from service.cards.model import HOOKS
from service.cards.render import render_card
from service.cards.resources import resources_from_bundle

SYNTHEA = Path(__file__).resolve().parents[1] / "fixtures" / "synthea"
AT = date(2021, 4, 1)


@pytest.fixture(scope="module")
def library() -> ContentLibrary:
    return load_library()


def test_bundled_library_loads(library: ContentLibrary) -> None:
    assert len(library) > 0
    assert library.terminology.rxnorm


def test_every_item_renders(library: ContentLibrary) -> None:
    for item in library:
        card = render_card(
            item,
            card_uuid="u",
            launch_url="https://b/app/launch",
            app_context="ctx",
            credit_label="earn 0.5 CME",
        )
        assert len(card["summary"]) < 140
        assert card["source"]["topic"]["code"] == item.id


@pytest.mark.parametrize("path", sorted(SYNTHEA.glob("*.json")), ids=lambda p: p.name[:14])
def test_synthea_patients_index_equals_exhaustive(library: ContentLibrary, path: Path) -> None:
    resources = resources_from_bundle(orjson.loads(path.read_bytes()))
    facts = facts_from_resources(resources, at=AT, terminology=library.terminology)
    assert facts.age is not None
    for hook in HOOKS:
        assert match(library, facts, hook=hook, at=AT) == match_exhaustive(
            library, facts, hook=hook, at=AT
        )


def test_synthea_brand_diazepam(library: ContentLibrary) -> None:
    paths = list(SYNTHEA.glob("Delbert_Williamson_*.json"))
    if not paths:
        pytest.skip("Synthea fixture not present")
    resources = resources_from_bundle(orjson.loads(paths[0].read_bytes()))
    facts = facts_from_resources(resources, at=AT, terminology=library.terminology)
    assert any("diazepam" in med.ingredients for med in facts.medications)
    assert facts.sex == "male"
    assert facts.smoking is not None
