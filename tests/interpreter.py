"""Running a check in a fresh interpreter, where nothing is imported yet (start-up tests)."""

from __future__ import annotations

import os
import subprocess
import sys


def fresh_interpreter(script: str, env: dict[str, str] | None = None) -> str:
    """What `script` prints in a new Python process, BEDSIDE_* variables replaced by `env`."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("BEDSIDE_")}
    done = subprocess.run(  # fixed arguments, our own interpreter
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**base, **(env or {})},
        timeout=60,
    )
    return done.stdout.strip()
