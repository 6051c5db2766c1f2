"""Hooks are declared once: every hook content may target is served by exactly one service,
whose context model is that hook's (CDS Hooks 2.0 hook definitions)."""

from __future__ import annotations

from service.cards.hook_names import HOOKS
from service.hooks.discovery import SERVICES, discovery_document
from service.hooks.schemas import OrderSelectContext, OrderSignContext


def test_every_hook_is_served_once() -> None:
    assert sorted(service.hook for service in SERVICES) == sorted(HOOKS)


def test_order_hooks_require_their_draft_orders() -> None:
    by_hook = {service.hook: service.context for service in SERVICES}
    assert issubclass(by_hook["order-sign"], OrderSignContext)
    assert by_hook["order-select"] is OrderSelectContext  # draftOrders and selections
    assert "draft_orders" not in by_hook["patient-view"].model_fields


def test_the_discovery_document_lists_every_service() -> None:
    listed = discovery_document()["services"]
    assert [(s["id"], s["hook"]) for s in listed] == [(s.id, s.hook) for s in SERVICES]
    assert all("context" not in entry for entry in listed)  # our model is not on the wire
