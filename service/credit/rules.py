"""PLACEHOLDER (owned by the credit helper): credit rules configuration."""

from __future__ import annotations

from pathlib import Path


class CreditRules:
    pass


def load_rules(path: Path | None = None) -> CreditRules:
    del path
    return CreditRules()
