"""`bedside serve`: what it tells its workers (uvicorn itself is replaced: nothing listens)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.cli import main


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **options: calls.append(options))
    monkeypatch.setenv("BEDSIDE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BEDSIDE_PUBLIC_URL", "http://127.0.0.1:8000")
    for name in ("BEDSIDE_REDIS_URL", "BEDSIDE_LEARNER_STATE_CACHE_SECONDS"):
        monkeypatch.setenv(name, "")  # recorded, so that what serve sets is undone after
        monkeypatch.delenv(name)
    return calls


def test_several_workers_without_redis_keep_no_learner_states(
    served: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    assert main(["serve", "--workers", "2"]) == 0
    assert served[0]["workers"] == 2
    assert os.environ["BEDSIDE_LEARNER_STATE_CACHE_SECONDS"] == "0"
    assert "read learner states on every call" in capsys.readouterr().err


def test_one_worker_keeps_learner_states(served: list[dict[str, Any]]) -> None:
    import os

    assert main(["serve"]) == 0
    assert served[0]["workers"] == 1
    assert "BEDSIDE_LEARNER_STATE_CACHE_SECONDS" not in os.environ
