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


def test_divergent_authorities_are_both_on_the_card() -> None:
    def view(label: str, organization: str, position: str) -> dict[str, Any]:
        source = {"organization": organization, "title": "Schedule", "year": 2026}
        return {
            "label": label,
            "position": position,
            "source": {**source, "url": "https://example.org/s"},
        }

    rendered = card(
        perspectives=[
            view("CDC (2026)", "CDC", "Hepatitis B at birth by shared decision."),
            view("AAP (2026)", "AAP", "Hepatitis B for every newborn within 24 hours."),
        ]
    )
    detail = rendered["detail"]
    assert "**Authorities differ:**" in detail
    cdc, aap = detail.index("**CDC (2026)**"), detail.index("**AAP (2026)**")
    assert cdc < aap < detail.index("Source: USPSTF")
    assert "within 24 hours. (AAP, 2026)" in detail
    assert "Authorities differ" not in card()["detail"]


def test_a_case_link_says_how_long_it_takes() -> None:
    rendered = card(type="case", case=case_block(), credit={"format": "enduring"})
    assert rendered["links"][0]["label"] == "Learn in 10 min - earn 0.5 CME"
