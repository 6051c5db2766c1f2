"""Sub-commands of this package (placeholder until the package lands)."""

from __future__ import annotations

from typing import Any


def register(commands: Any) -> None:
    """Add this package's sub-commands to the `bedside` parser."""
    del commands
