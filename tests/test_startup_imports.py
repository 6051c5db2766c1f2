"""Start-up stays light: a worker does not import what only app pages or sign-ins use, and
the `bedside` parser (built by `serve` before it starts the workers) does not import the
content model. Each check runs in a fresh interpreter, where nothing is imported yet."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from typing import get_args

from service.cards.hook_names import HOOKS
from service.cards.model import Hook


def _loaded(script: str, prefixes: tuple[str, ...], data_dir: Path) -> list[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("BEDSIDE_")}
    env["BEDSIDE_DATA_DIR"] = str(data_dir)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys\n{script}\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {prefixes!r}))",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    )
    loaded: list[str] = ast.literal_eval(done.stdout.strip())
    return loaded


def test_a_worker_loads_no_template_markdown_or_oauth_library(tmp_path: Path) -> None:
    # jinja2 and markdown-it render app pages, authlib exchanges a sign-in's code.
    assert _loaded("import service.asgi", ("jinja2", "markdown_it", "authlib"), tmp_path) == []


def test_the_command_parser_loads_no_content_model(tmp_path: Path) -> None:
    script = "from service.cli import build_parser\nbuild_parser()"
    cards = _loaded(script, ("service",), tmp_path)
    assert "service.cards.cli" in cards
    assert not {"service.cards.model", "service.cards.library", "service.cards.matching"} & {*cards}


def test_the_parser_hooks_are_the_content_model_hooks() -> None:
    assert HOOKS == get_args(Hook)
