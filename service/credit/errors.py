"""Errors of the credit package, rendered by the app's one BedsideError handler."""

from __future__ import annotations

from collections.abc import Sequence

from service.credit.engine import FIXABLE, Refusal
from service.errors import BedsideError


class ClaimRefused(BedsideError):
    """A claim the rules refuse. `reasons` are messages for the clinician, `codes` stable ids
    (cycle-incomplete, case-not-passed, profile-incomplete: 422; cap-reached, window-passed,
    profession-not-eligible, already-claimed: 409)."""

    def __init__(self, refusals: Sequence[Refusal]) -> None:
        self.reasons: list[str] = [r.message for r in refusals]
        self.codes: list[str] = [r.code for r in refusals]
        status = 422 if self.codes and all(c in FIXABLE for c in self.codes) else 409
        super().__init__(" ".join(self.reasons) or "claim refused", status)
