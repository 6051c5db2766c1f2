"""The clinical panel through the real hook endpoint (signed EHR call, prefetch, ranking,
rendering): no card a clinician marked clinically wrong. With the most cards a response may
carry (10) and no repeat window, the endpoint shows what matching finds, up to that cap
(recall is measured on matching, in tests/cards/test_clinical_panel.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from service.cards.library import load_library
from service.settings import Settings
from tests.cards.clinical_panel import (
    DEFAULT_AT,
    PanelCase,
    bundle_of,
    draft_orders_of,
    load_panel,
    matched_ids,
)
from tests.hooks.conftest import HookClient, running_hooks
from tests.hooks.hook_requests import hook_request

CASES = load_panel()
MAX_CARDS = 10  # the most Settings allows
SERVICES = {
    "patient-view": "bedside-patient-view",
    "order-select": "bedside-order-select",
    "order-sign": "bedside-order-sign",
}


@pytest.fixture
async def panel_hooks(settings: Settings) -> AsyncIterator[HookClient]:
    panel_settings = settings.model_copy(
        update={"evaluation_date": DEFAULT_AT, "max_cards": MAX_CARDS, "repeat_window_days": 0}
    )
    async with running_hooks(panel_settings) as client:
        yield client


def _request(case: PanelCase) -> dict[str, Any]:
    # a new clinician each time: no card is held back as recently shown
    user = f"Practitioner/{uuid.uuid4()}"
    return hook_request(bundle_of(case), case.hook, user=user, draft_orders=draft_orders_of(case))


async def test_the_hook_endpoint_never_shows_a_wrong_card(panel_hooks: HookClient) -> None:
    library = load_library()
    by_summary = {item.summary: item.id for item in library}
    assert len(by_summary) == len(library), "card summaries must name one item each"
    wrong: list[str] = []
    for case in CASES:
        assert case.at == DEFAULT_AT, f"{case.id}: the hook app evaluates at {DEFAULT_AT}"
        response = await panel_hooks.call(SERVICES[case.hook], _request(case))
        assert response.status_code == 200, (case.id, response.text)
        shown = {by_summary[card["summary"]] for card in response.json()["cards"]}
        wrong += [f"{case.id}: {item}" for item in sorted(shown & case.never)]
        matched = matched_ids(library, case)
        assert shown <= matched, case.id
        assert len(shown) == min(MAX_CARDS, len(matched)), case.id
    assert not wrong, "clinically wrong cards:\n" + "\n".join(wrong)
