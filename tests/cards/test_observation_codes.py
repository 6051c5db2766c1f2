"""`ContentLibrary.observation_codes`: every LOINC code a criterion can look up in the
patient's observations, so that the hook may skip the others."""

from __future__ import annotations

from datetime import date

from service.cards.facts import facts_from_resources
from service.cards.library import ContentLibrary
from service.cards.matching import match
from tests.cards.factories import make_item, make_terminology, observation

AT = date(2021, 4, 1)
VALUESETS = {"vs-panels": {"loinc": ["24331-1"]}}


def _library() -> ContentLibrary:
    items = [
        make_item(id="a1c-high", applies={"labs": [{"loinc": ["4548-4"], "op": ">", "value": 9}]}),
        make_item(id="no-lipids", applies={"labs_missing": [{"loinc": ["2093-3"]}]}),
        make_item(id="bp-seen", applies={"procedures": {"any_of": {"loinc": ["8480-6"]}}}),
        make_item(
            id="panel-none", applies={"procedures": {"none_of": {"valuesets": ["vs-panels"]}}}
        ),
        make_item(id="sex-only", applies={"sex": "female"}),
    ]
    return ContentLibrary(items, make_terminology(VALUESETS))


def test_codes_of_labs_missing_labs_and_observations_as_procedures() -> None:
    assert _library().observation_codes == {"4548-4", "2093-3", "8480-6", "24331-1"}


def test_matching_on_the_wanted_observations_alone_is_unchanged() -> None:
    library = _library()
    resources = [
        observation("4548-4", 9.5, "2021-02-01"),
        observation("2093-3", 180, "2021-01-01"),
        observation("8480-6", 150, "2021-03-01", unit="mm[Hg]"),
        observation("24331-1", 1, "2021-03-01", unit=""),
        observation("718-7", 13.5, "2021-03-01", unit="g/dL"),  # no criterion reads it
    ]
    every = facts_from_resources(resources, at=AT)
    wanted = facts_from_resources(resources, at=AT, observations=library.observation_codes)
    assert "718-7" in every.labs
    assert "718-7" not in wanted.labs
    found = match(library, wanted, hook="patient-view", at=AT)
    assert found == match(library, every, hook="patient-view", at=AT)
    assert {m.item_id for m in found} == {"a1c-high", "bp-seen"}
