"""Start-up stays light: a worker does not import what only app pages or sign-ins use, and
the `bedside` parser (built by `serve` before it starts the workers) does not import the
content model. Each check runs in a fresh interpreter, where nothing is imported yet."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.interpreter import fresh_interpreter


def _loaded(script: str, prefixes: tuple[str, ...], data_dir: Path) -> list[str]:
    listing = f"print(sorted(m for m in sys.modules if m.split('.')[0] in {prefixes!r}))"
    printed = fresh_interpreter(
        f"import sys\n{script}\n{listing}", {"BEDSIDE_DATA_DIR": str(data_dir)}
    )
    loaded: list[str] = ast.literal_eval(printed)
    return loaded


def test_a_worker_loads_no_template_markdown_or_oauth_library(tmp_path: Path) -> None:
    # jinja2 and markdown-it render app pages, authlib exchanges a sign-in's code.
    assert _loaded("import service.asgi", ("jinja2", "markdown_it", "authlib"), tmp_path) == []


def test_the_command_parser_loads_no_content_model(tmp_path: Path) -> None:
    script = "from service.cli import build_parser\nbuild_parser()"
    cards = _loaded(script, ("service",), tmp_path)
    assert "service.cards.cli" in cards
    assert not {"service.cards.model", "service.cards.library", "service.cards.matching"} & {*cards}
