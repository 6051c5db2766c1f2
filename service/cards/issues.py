"""Problems found in a content library, and the exception that carries them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True, order=True)
class Issue:
    """One problem at `file:line`. Errors fail `content check` and loading; warnings do not."""

    file: str
    line: int
    message: str
    severity: Severity = "error"
    # what kind of problem, where a caller tells kinds apart (`stale`: a superseded or
    # unverified edition, which `bedside doctor` reports)
    tag: str = ""

    def __str__(self) -> str:
        suffix = " (warning)" if self.severity == "warning" else ""
        return f"{self.file}:{self.line}: {self.message}{suffix}"


class ContentError(Exception):
    """The content library is invalid; `issues` lists every error as `file:line: message`."""

    def __init__(self, issues: Iterable[Issue]) -> None:
        self.issues = tuple(sorted(issues))
        lines = "\n".join(str(issue) for issue in self.issues)
        super().__init__(f"invalid content library ({len(self.issues)} errors):\n{lines}")
