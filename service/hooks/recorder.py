"""PLACEHOLDER: background recording of issued cards."""

from __future__ import annotations

from typing import Any


class CardRecorder:
    def __init__(self, sessions: Any) -> None:
        self._sessions = sessions

    def start(self) -> None:
        pass

    async def close(self) -> None:
        pass
