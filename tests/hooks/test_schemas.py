"""The response models refuse what CDS Hooks 2.0 forbids (service-actor requirements 3 and
36-94 of the Inferno list), so an invalid card can never be sent."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from service.hooks.schemas import Card, CardsResponse, HookRequest, Link

SOURCE = {"label": "USPSTF"}


def _card(**overrides: Any) -> dict[str, Any]:
    return {"uuid": "c1", "summary": "s", "indicator": "info", "source": SOURCE, **overrides}


@pytest.mark.parametrize(
    "overrides",
    [
        {"summary": "x" * 140},  # summary must be < 140 characters
        {"summary": ""},
        {"indicator": "urgent"},  # info | warning | critical
        {"source": {"url": "https://a.example"}},  # source.label is required
        {"source": {"label": "l", "url": "relative/path"}},  # absolute URLs only
        {"suggestions": [{"label": "do it"}]},  # selectionBehavior required with suggestions
        {"overrideReasons": [{"system": "s", "code": "c"}]},  # display required
        {"links": []},  # no empty arrays
        {"detail": ""},  # no empty strings
        {"links": [{"label": "l", "url": "https://a", "type": "absolute", "appContext": "x"}]},
        {"links": [{"label": "l", "url": "https://a", "type": "other"}]},
        {"source": {"label": "l", "topic": {"system": "s"}}},  # Coding needs system and code
    ],
)
def test_invalid_cards_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Card.model_validate(_card(**overrides))


def test_a_valid_card_serialises_without_nulls() -> None:
    card = Card.model_validate(
        _card(
            links=[
                {
                    "label": "Learn",
                    "url": "https://b/app/launch",
                    "type": "smart",
                    "appContext": "ctx",
                }
            ],
            suggestions=[{"label": "s"}],
            selectionBehavior="at-most-one",
        )
    )
    wire = CardsResponse(cards=[card]).to_wire()
    assert wire["cards"][0]["links"][0]["appContext"] == "ctx"
    assert "detail" not in wire["cards"][0]
    assert CardsResponse(cards=[]).to_wire() == {"cards": []}  # the one allowed empty value


def test_smart_link_may_carry_app_context() -> None:
    link = Link.model_validate(
        {"label": "l", "url": "https://a", "type": "smart", "appContext": "x"}
    )
    assert link.app_context == "x"


def test_request_tolerates_extensions_and_needs_fhir_server_with_authorization() -> None:
    base = {"hook": "patient-view", "hookInstance": "i", "context": {}, "extension": {"x": 1}}
    assert HookRequest.model_validate(base).hook == "patient-view"
    auth = {
        "access_token": "t",
        "token_type": "Bearer",
        "expires_in": 1,
        "scope": "s",
        "subject": "x",
    }
    with pytest.raises(ValidationError):
        HookRequest.model_validate({**base, "fhirAuthorization": auth})
    with pytest.raises(ValidationError):
        HookRequest.model_validate(
            {**base, "fhirServer": "https://f", "fhirAuthorization": {**auth, "token_type": "MAC"}}
        )
