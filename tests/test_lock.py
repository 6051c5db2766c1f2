"""The lock files pin every dependency pyproject.toml names, with hashes, so a fresh machine
installs the tested versions (.ci/run, the Dockerfile and the README install from them)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _name(requirement: str) -> str:
    """PEP 503 normalised name of a requirement string."""
    name = re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def _pinned(lock: str) -> dict[str, str]:
    text = (ROOT / "requirements" / lock).read_text()
    return {_name(m[1]): m[2] for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M)}


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [
        ("runtime.txt", PROJECT["dependencies"]),
        ("test.txt", [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["test"]]),
    ],
)
def test_every_dependency_is_pinned(lock: str, requirements: list[str]) -> None:
    pinned = _pinned(lock)
    assert sorted({_name(r) for r in requirements} - set(pinned)) == [], "run scripts/lock"


@pytest.mark.parametrize("lock", ["runtime.txt", "test.txt"])
def test_every_pin_has_a_hash(lock: str) -> None:
    blocks = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / "requirements" / lock).read_text().strip())
    assert all("--hash=sha256:" in block for block in blocks if "==" in block)


def test_ci_and_the_image_install_from_the_lock() -> None:
    assert "--require-hashes -r requirements/test.txt" in (ROOT / ".ci" / "run").read_text()
    assert "--require-hashes -r requirements/runtime.txt" in (ROOT / "Dockerfile").read_text()
