"""PLACEHOLDER (owned by the cards helper): the compiled content library."""

from __future__ import annotations

from pathlib import Path


class ContentLibrary:
    def __len__(self) -> int:
        return 0


def load_library(content_dir: Path | None = None) -> ContentLibrary:
    del content_dir
    return ContentLibrary()
