"""Targets and the printed table: turns the results JSON into met/missed lines."""

from __future__ import annotations

from typing import Any

Target = dict[str, Any]


def _get(results: dict[str, Any], *path: str) -> Any:
    value: Any = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _target(
    name: str, value: float | None, limit: float, *, at_least: bool, unit: str = ""
) -> Target:
    met = None if value is None else (value >= limit if at_least else value <= limit)
    sign = ">=" if at_least else "<="
    return {"target": name, "value": value, "limit": f"{sign} {limit}{unit}", "met": met}


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _headline_targets(results: dict[str, Any]) -> list[Target]:
    one = _get(results, "headline", "1", "bodies") or {}
    out = []
    for body, limit in (("pv-250k", 0.8), ("pv-50k", 0.7)):
        rows = one.get(body, {})
        out.append(
            _target(
                f"{body} throughput / floor (1 worker)",
                _ratio(_get(rows, "bedside", "rps"), _get(rows, "floor", "rps")),
                limit,
                at_least=True,
                unit="x",
            )
        )
        out.append(
            _target(
                f"{body} floor CPU / Bedside CPU per request (1 worker)",
                _ratio(
                    _get(rows, "floor", "cpu_ms_per_request"),
                    _get(rows, "bedside", "cpu_ms_per_request"),
                ),
                limit,
                at_least=True,
                unit="x",
            )
        )
    for body in ("pv-250k", "pv-50k"):
        rows = one.get(body, {})
        out.append(
            _target(
                f"{body} p99 / floor p99 at 16 connections (1 worker)",
                _ratio(_get(rows, "bedside", "p99_ms"), _get(rows, "floor", "p99_ms")),
                2.0,
                at_least=False,
                unit="x",
            )
        )
    rows = one.get("pv-250k", {})
    out.append(
        _target(
            "pv-250k throughput / naive fhir.resources (1 worker)",
            _ratio(_get(rows, "bedside", "rps"), _get(rows, "naive", "rps")),
            15.0,
            at_least=True,
            unit="x",
        )
    )
    return out


def unequal_cards(library: dict[str, Any]) -> list[str]:
    """Where the library-scaling servers showed different numbers of cards to the same body:
    from the probes before and after the load runs (`cards`), or, in results written before
    those existed, from the one probe of each row."""
    found = []
    probes = library.get("cards")
    if isinstance(probes, dict):
        phases = {
            (body, phase): {server: p[phase] for server, p in servers.items() if phase in p}
            for body, servers in probes.items()
            for phase in ("first", "after_load")
        }
    else:
        phases = {
            (body, "probe"): {s: row["probe"] for s, row in rows.items() if "probe" in row}
            for body, rows in (library.get("bodies") or {}).items()
        }
    for (body, phase), by_server in phases.items():
        counts = {server: probe.get("cards") for server, probe in by_server.items()}
        if len(set(counts.values())) > 1 or -1 in counts.values():
            shown = " vs ".join(f"{server} {count}" for server, count in counts.items())
            found.append(f"{body} {phase.replace('_', ' ')}: {shown}")
    return found


def _library_target(results: dict[str, Any]) -> Target:
    """The worst large/small p50 ratio; not judged (met None, with a note) when the two
    libraries showed different numbers of cards: the ratio would then measure cards
    rendered, signed and recorded per call, not the library's size."""
    library = _get(results, "library") or {}
    ratios = library.get("ratios_large_over_small") or {}
    worst = max((r["p50_ratio"] for r in ratios.values() if r.get("p50_ratio")), default=None)
    target = _target("large / small library p50 latency", worst, 1.1, at_least=False, unit="x")
    unequal = unequal_cards(library)
    if worst is not None and unequal:
        target["met"] = None
        target["note"] = "not comparable, cards differ: " + "; ".join(unequal)
    return target


def targets(results: dict[str, Any]) -> list[Target]:
    """Every target of the performance issue, with its measured value (None: not run)."""
    out = _headline_targets(results)
    out.append(_library_target(results))
    builds = _get(results, "micro", "index_build") or {}
    large = [v for k, v in builds.items() if k != "bundled"]
    out.append(
        _target(
            "index build (compile + index), large library",
            large[0]["compile_index_s"] if large else None,
            1.0,
            at_least=False,
            unit=" s",
        )
    )
    cold = _get(results, "cold_start") or {}
    rss = [v["max_rss_mb_per_worker"] for k, v in cold.items() if not k.startswith("bundled")]
    out.append(
        _target(
            "RSS per worker, large library",
            max(rss) if rss else None,
            150.0,
            at_least=False,
            unit=" MiB",
        )
    )
    starts = [v["first_hook_s"] for v in cold.values()]
    out.append(
        _target(
            "cold start to first hook (worst case)",
            max(starts) if starts else None,
            3.0,
            at_least=False,
            unit=" s",
        )
    )
    hook = _get(results, "micro", "hook") or {}
    added = [_get(v, "recording_and_learner_state", "added_p50_ms") for v in hook.values()]
    added = [a for a in added if a is not None]
    out.append(
        _target(
            "recording + learner state added at p50",
            max(added) if added else None,
            1.0,
            at_least=False,
            unit=" ms",
        )
    )
    out.append(
        _target(
            "claims per second, PostgreSQL, 2 workers",
            _get(results, "ledger", "claims_per_second"),
            500.0,
            at_least=True,
        )
    )
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def table(results: dict[str, Any]) -> str:
    """A plain-text table of the load runs and the targets."""
    lines = ["workers body        server   rps      p50ms    p99ms    cpu-ms/req fail cards"]
    for workers, section in sorted((results.get("headline") or {}).items()):
        for body, rows in section["bodies"].items():
            for server, row in rows.items():
                if server.startswith("_"):
                    continue
                lines.append(
                    f"{workers:<7} {body:<11} {server:<8} {_fmt(row['rps']):<8} "
                    f"{_fmt(row['p50_ms']):<8} {_fmt(row['p99_ms']):<8} "
                    f"{_fmt(row['cpu_ms_per_request']):<10} {row['failures']:<4} "
                    f"{row['probe']['cards']}"
                )
    for section in ("library", "patients"):
        probes = _get(results, section, "cards") or {}
        for body, rows in (_get(results, section, "bodies") or {}).items():
            for server, row in rows.items():
                if not server.startswith("_"):
                    cards = str(row["probe"]["cards"])
                    after = _get(probes, body, server, "after_load", "cards")
                    if after is not None:  # library: first call -> after the load runs
                        cards = f"{_get(probes, body, server, 'first', 'cards')}->{after}"
                    lines.append(
                        f"{'1':<7} {body:<11} {server:<8} {_fmt(row['rps']):<8} "
                        f"{_fmt(row['p50_ms']):<8} {_fmt(row['p99_ms']):<8} "
                        f"{_fmt(row['cpu_ms_per_request']):<10} {row['failures']:<4} "
                        f"{cards}"
                    )
    lines.append("")
    lines.append("target                                                   value    limit     met")
    for row in results.get("targets", []):
        met = {True: "yes", False: "NO", None: "-"}[row["met"]]
        if row.get("note"):
            met = "NOT COMPARABLE"
        lines.append(f"{row['target']:<56} {_fmt(row['value']):<8} {row['limit']:<9} {met}")
        if row.get("note"):
            lines.append(f"    {row['note']}")
    return "\n".join(lines)


def _md_row(cells: list[Any]) -> str:
    return "| " + " | ".join(_fmt(c) for c in cells) + " |"


def markdown(results: dict[str, Any]) -> str:
    """The results as Markdown tables (what docs/performance.md quotes)."""
    out = [
        "| workers | body | server | req/s | p50 ms | p99 ms | CPU ms/req | failures |",
        "|---|---|---|---|---|---|---|---|",
    ]
    sections = [
        (w, s["bodies"])
        for w, s in sorted((results.get("headline") or {}).items())
        if isinstance(s, dict) and "bodies" in s
    ]
    sections += [("1", _get(results, name, "bodies") or {}) for name in ("library", "patients")]
    for workers, bodies in sections:
        for body, rows in bodies.items():
            for server, row in rows.items():
                if not server.startswith("_"):
                    out.append(
                        _md_row(
                            [
                                workers,
                                body,
                                server,
                                row["rps"],
                                row["p50_ms"],
                                row["p99_ms"],
                                row["cpu_ms_per_request"],
                                row["failures"],
                            ]
                        )
                    )
    out += ["", "| target | measured | limit | met |", "|---|---|---|---|"]
    for row in results.get("targets", []):
        met = {True: "yes", False: "**no**", None: "not run"}[row["met"]]
        if row.get("note"):
            met = f"**{row['note']}**"
        out.append(_md_row([row["target"], row["value"], row["limit"], met]))
    probes = _get(results, "library", "cards") or {}
    if probes:
        out += [
            "",
            "| body | library | cards, first call | cards after the load runs |",
            "|---|---|---|---|",
        ]
        for body, servers in probes.items():
            for server, probe in servers.items():
                first, after = probe["first"]["cards"], probe["after_load"]["cards"]
                out.append(_md_row([body, server, first, after]))
    return "\n".join(out)


if __name__ == "__main__":
    import sys
    from pathlib import Path

    import orjson

    loaded = orjson.loads(Path(sys.argv[1]).read_bytes())
    loaded["targets"] = targets(loaded)  # judged again: results may predate a check
    print(markdown(loaded))
