"""The hooks a content item can serve, declared once. In a module of their own: the `bedside`
parser lists them (`match --hook`) without importing the content model. The protocol serves
each with one `service/hooks/discovery.py: ServiceDefinition` (`tests/hooks/test_discovery.py`
checks that every hook has one)."""

from __future__ import annotations

from typing import Literal, get_args

Hook = Literal["patient-view", "order-select", "order-sign", "encounter-start"]
HOOKS: tuple[Hook, ...] = get_args(Hook)
