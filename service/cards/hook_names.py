"""The hooks a content item can serve, in a module of their own: the `bedside` parser lists
them (`match --hook`) without importing the content model."""

from __future__ import annotations

HOOKS: tuple[str, ...] = ("patient-view", "order-select", "order-sign", "encounter-start")
