"""`bedside demo`: the product never imports the simulator; the command loads it by name when
it runs, and says so in one line when it is not installed."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import pytest

from service.cli import SIMULATOR, build_parser, main

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("service", "smart_app")


def _imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module)
    return modules


def test_the_product_imports_nothing_of_the_simulator() -> None:
    simulator = SIMULATOR.partition(".")[0]
    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for package in PRODUCT
        for path in sorted((ROOT / package).rglob("*.py"))
        for module in _imported_modules(path)
        if module == simulator or module.startswith(simulator + ".")
    ]
    assert offenders == []


def test_the_demo_is_listed_and_its_help_names_its_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = build_parser()
    assert "demo" in parser.format_help()
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["demo", "--help"])
    assert exit_.value.code == 0
    shown = capsys.readouterr().out
    options = ("--port", "--ehr-port", "--data-dir", "--client-auth")
    assert all(option in shown for option in options)


def test_the_demo_hands_its_options_to_the_simulator(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def run_demo(**options: Any) -> int:
        calls.append(options)
        return 0

    monkeypatch.setattr(f"{SIMULATOR}.run_demo", run_demo)
    assert main(["demo", "--port", "9000", "--data-dir", "/tmp/x"]) == 0
    assert calls == [
        {
            "port": 9000,
            "ehr_port": 8001,
            "data_dir": Path("/tmp/x"),
            "client_auth": "private_key_jwt",
        }
    ]


def test_without_the_simulator_the_demo_fails_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [m for m in sys.modules if m.split(".")[0] == "ehr_simulator"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "ehr_simulator", None)  # import fails: not installed
    assert main(["demo"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert "not installed" in captured.err
