"""Card rendering: CDS Hooks 2.0 shape, no empty values."""

from __future__ import annotations

from typing import Any

from service.cards.render import render_card
from tests.cards.factories import case_block, make_item


def card(**overrides: Any) -> dict[str, Any]:
    return render_card(
        make_item(**overrides),
        card_uuid="u-1",
        launch_url="https://b/app/launch",
        app_context="signed.token",
        credit_label="earn 0.5 CME",
    )


def _no_empty(value: Any) -> None:
    assert value not in (None, "", [], {})
    if isinstance(value, dict):
        for inner in value.values():
            _no_empty(inner)
    if isinstance(value, list):
        for inner in value:
            _no_empty(inner)


def test_card_shape() -> None:
    rendered = card(indicator="warning")
    assert rendered["uuid"] == "u-1"
    assert rendered["summary"] == "A short test summary."
    assert rendered["indicator"] == "warning"
    assert rendered["source"] == {
        "label": "USPSTF",
        "url": "https://example.org/rec",
        "topic": {
            "system": "urn:bedside:content",
            "code": "test-item",
            "display": "A test guideline",
        },
    }
    assert rendered["links"] == [
        {
            "label": "Learn in 2 min - earn 0.5 CME",
            "url": "https://b/app/launch",
            "type": "smart",
            "appContext": "signed.token",
        }
    ]
    _no_empty(rendered)


def test_detail_has_body_and_citation() -> None:
    detail = card()["detail"]
    assert detail.startswith("Do the **thing**.")
    assert detail.endswith("Source: USPSTF, *Test recommendation* (2021). Grade: B.")


def test_no_grade_no_empty_fields() -> None:
    source = {"organization": "CDC", "title": "T", "year": 2022, "url": "https://cdc.gov/x"}
    rendered = card(source=source)
    assert "Grade" not in rendered["detail"]
    _no_empty(rendered)


def test_case_card_shows_vignette_not_answers() -> None:
    rendered = card(type="case", case=case_block(), credit={"format": "enduring"})
    assert "synthetic patient" in rendered["detail"]
    assert "**thing**" not in rendered["detail"]


def test_summary_stays_under_140() -> None:
    item = make_item().model_copy(update={"summary": "x " * 100})
    rendered = render_card(
        item, card_uuid="u", launch_url="https://b", app_context="c", credit_label="0.5"
    )
    assert len(rendered["summary"]) < 140
