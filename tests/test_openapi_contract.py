"""openapi.yaml describes every public endpoint: a route the spec lacks, or a spec path with
no route, fails this test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from fastapi.routing import APIRoute
from starlette.routing import Route

from service.app import create_app

SPEC = Path(__file__).resolve().parent.parent / "openapi.yaml"
METHODS = {"get", "post", "put", "patch", "delete"}


def _spec_operations() -> set[tuple[str, str]]:
    spec = yaml.safe_load(SPEC.read_text())
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in METHODS
    }


def _routes(routes: list[Any]) -> list[Route]:
    """Every route, looking inside included routers (FastAPI wraps them; we use no prefixes)."""
    found: list[Route] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found.extend(_routes(inner.routes))
        elif isinstance(route, APIRoute | Route):
            found.append(route)
    return found


def _app_operations() -> set[tuple[str, str]]:
    operations = set()
    for route in _routes(create_app().routes):
        if route.path.startswith("/static"):
            continue
        for method in route.methods or ():
            if method.lower() in METHODS:
                operations.add((method, route.path))
    return operations


def test_every_route_is_in_openapi_yaml() -> None:
    missing = _app_operations() - _spec_operations()
    assert not missing, f"routes missing from openapi.yaml: {sorted(missing)}"


def test_every_openapi_path_has_a_route() -> None:
    extra = _spec_operations() - _app_operations()
    assert not extra, f"openapi.yaml paths without a route: {sorted(extra)}"


def test_spec_is_openapi_3() -> None:
    spec = yaml.safe_load(SPEC.read_text())
    assert spec["openapi"].startswith("3.")
    assert all(
        op.get("responses")
        for item in spec["paths"].values()
        for m, op in item.items()
        if m in METHODS
    )
