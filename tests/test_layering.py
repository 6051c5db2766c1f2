"""The packages' layering, read from the code's own imports (every import: at module level,
inside functions, under TYPE_CHECKING). A unit is a package under `service/` (`service.cards`),
a top-level module of `service/` (`service.app`), `smart_app` or `ehr_simulator`.

A unit imports only units of lower layers, so there is no cycle between packages; within
the foundation, where small modules use each other, the test asks for no cycle. A new unit
must be given a layer here: that is the moment to decide where it belongs (CONVENTIONS.md,
"Where a change goes")."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("service", "smart_app", "ehr_simulator")

# Lowest first. Each layer may import the layers below it, never its own (except the
# foundation's modules, acyclically) or those above.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset(
        {
            "service",  # the package's face: its version
            "service.settings",
            "service.errors",
            "service.identity",
            "service.keys",
            "service.app_context",
            "service.responses",
            "service.observability",
            "service.shared_state",
            "service.limits",
            "service.deps",
            "service.outbound",
            "service.db",
        }
    ),
    frozenset({"service.cards"}),  # the pure core
    # trusting EHRs; credit and its ledger; the review queue
    frozenset({"service.ehr", "service.credit", "service.reviews"}),
    frozenset({"service.memory"}),  # learner memory (reads what the domains recorded)
    frozenset({"service.hooks", "service.outcomes"}),  # CDS Hooks; practice outcomes
    frozenset({"service.runtime", "service.migrations"}),  # what a worker holds; the schema
    frozenset({"smart_app", "service.doctor"}),
    frozenset({"service.app"}),  # the composition root
    frozenset({"service.asgi", "service.cli"}),
    frozenset({"ehr_simulator"}),  # the demo's EHR: never imported by the product
)
FOUNDATION = LAYERS[0]
LAYER_OF = {unit: index for index, layer in enumerate(LAYERS) for unit in layer}


def unit_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "service" or len(parts) == 1:
        return parts[0]
    return f"service.{parts[1]}"


def _modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _imported(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def unit_imports() -> dict[str, dict[str, set[str]]]:
    """unit -> imported unit -> the modules that import it (for the failure message)."""
    graph: dict[str, dict[str, set[str]]] = {}
    for module, path in _modules():
        unit = unit_of(module)
        edges = graph.setdefault(unit, {})
        for imported in _imported(path):
            if imported.split(".")[0] in PACKAGES and unit_of(imported) != unit:
                edges.setdefault(unit_of(imported), set()).add(module)
    return graph


GRAPH = unit_imports()


def test_every_unit_has_a_layer() -> None:
    assert sorted(set(GRAPH) - set(LAYER_OF)) == []


@pytest.mark.parametrize("unit", sorted(GRAPH))
def test_a_unit_imports_only_lower_layers(unit: str) -> None:
    upward = {
        imported: sorted(modules)
        for imported, modules in GRAPH[unit].items()
        if LAYER_OF.get(imported, len(LAYERS)) >= LAYER_OF.get(unit, len(LAYERS))
        and not (unit in FOUNDATION and imported in FOUNDATION)
    }
    assert upward == {}, f"{unit} imports its own layer or one above it"


def test_the_foundation_has_no_cycle() -> None:
    edges = {u: {v for v in GRAPH.get(u, {}) if v in FOUNDATION} for u in FOUNDATION}
    done: set[str] = set()

    def visit(unit: str, path: tuple[str, ...]) -> None:
        assert unit not in path, " -> ".join((*path, unit))
        if unit in done:
            return
        for imported in sorted(edges[unit]):
            visit(imported, (*path, unit))
        done.add(unit)

    for unit in sorted(FOUNDATION):
        visit(unit, ())


def test_the_product_never_imports_the_simulator() -> None:
    importers = {unit for unit, edges in GRAPH.items() if "ehr_simulator" in edges}
    assert importers == set()


def test_the_reader_sees_imports_inside_functions() -> None:
    # `service.cli` imports the packages' command modules inside its functions only
    assert {"service.cards", "service.credit", "service.ehr"} <= set(GRAPH["service.cli"])
