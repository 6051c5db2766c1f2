"""The load scenarios: Bedside vs the parse floor vs the naive peer (1 and 2 workers), library
and patient scaling, cold start of `bedside serve` and resident memory per worker."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from bench.bodies import REPO_ROOT, HookBody, sized_bodies, standard_bodies
from bench.harness import Harness, server_cpus
from bench.servers import (
    EVALUATION_DATE,
    BedsideSite,
    RunningServer,
    ServerSpec,
    flush_redis,
    prepare_site,
    reachable,
    start,
    uvicorn_spec,
    wait_ready,
)

if TYPE_CHECKING:
    from service.cards import ContentLibrary, PatientFacts


def _running(
    stack: ExitStack, spec: ServerSpec, harness: Harness, ready_path: str = "/healthz"
) -> RunningServer:
    server = start(spec, harness.log_dir)
    stack.callback(server.stop)
    wait_ready(server, ready_path, timeout=180.0)
    return server


def site_for(harness: Harness, workers: int, name: str, source: Path = REPO_ROOT) -> BedsideSite:
    """SQLite for one worker; PostgreSQL (a `bench_*` database) and Redis for several; the
    schema is `source`'s."""
    options = harness.options
    multi = workers > 1 and options.postgres_url and reachable(options.postgres_url, 5432)
    site = prepare_site(
        harness.work_dir / name,
        harness.ehr,
        postgres_admin_url=options.postgres_url if multi else None,
        database_name=f"bench_{name.replace('-', '_')}",
        source=source,
    )
    if workers > 1 and reachable(options.redis_url, 6379):
        site.redis_url = options.redis_url
        flush_redis(options.redis_url)
    else:
        site.redis_url = None
    return site


def headline(harness: Harness, workers: int) -> dict[str, Any]:
    """Bedside, the floor and the naive peer on pv-50k, pv-250k and order-sign (and, with
    `--baseline`, another checkout's Bedside in the same rounds)."""
    cpus = server_cpus(workers)
    bodies = list(standard_bodies().values())
    if harness.options.smoke:
        bodies = bodies[:1]
    site = site_for(harness, workers, f"headline-{workers}w")
    with ExitStack() as stack:
        servers = {
            "floor": _running(
                stack, uvicorn_spec("floor", "bench.floor_app:app", workers, cpus), harness
            ),
            "bedside": _running(stack, site.spec(workers, cpus), harness),
            "naive": _running(
                stack, uvicorn_spec("naive", "bench.naive_app:app", workers, cpus), harness
            ),
        }
        signed = {"floor": False, "bedside": True, "naive": False}
        if harness.options.baseline:
            source = Path(harness.options.baseline)
            other = site_for(harness, workers, f"headline-{workers}w-baseline", source)
            spec = other.spec(workers, cpus, name="baseline", source=source)
            servers["baseline"] = _running(stack, spec, harness)
            signed["baseline"] = True
        results = harness.compare(servers, bodies, signed)
        rss = {name: [round(v, 1) for v in s.rss_mb()] for name, s in servers.items()}
    return {
        "workers": workers,
        "database": site.database_url.split(":", 1)[0],
        "redis": bool(site.redis_url),
        "bodies": results,
        "rss_mb": rss,
    }


def synth_library(harness: Harness, count: int) -> Path:
    """`bedside content synth --count N` into the work dir (cached per count)."""
    out = harness.work_dir / f"library-{count}"
    if not (out / "items").is_dir():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "service.cli",
                "content",
                "synth",
                "--count",
                str(count),
                "--out",
                str(out),
            ],
            check=True,
            capture_output=True,
        )
    return out


def body_facts(body: HookBody, at: date) -> tuple[str, PatientFacts]:
    """The hook and the patient facts `handle_hook` derives from this body (its prefetch is
    complete, so nothing is fetched), as `service/hooks/service.py: read_call` builds them."""
    from service.cards import facts_from_resources, resources_from_bundle, resources_from_prefetch

    request = orjson.loads(body.body)
    context = request.get("context") or {}
    orders = resources_from_bundle(context.get("draftOrders") or {})
    resources = resources_from_prefetch(request.get("prefetch"))
    return str(request["hook"]), facts_from_resources(resources, at=at, draft_orders=orders)


def ranked_matches(library: ContentLibrary, hook: str, facts: PatientFacts, at: date) -> list[str]:
    """The ids of the items that apply to the patient, in the order `ranking.choose` shows
    them to a clinician without a profile: the first two on the first call, the next two
    on the second (the repeat window blocks the ones already shown), and so on."""
    from service.cards import LearnerState, match
    from service.cards.ranking import rank_key

    found = match(library, facts, hook=hook, at=at)
    found.sort(key=lambda candidate: rank_key(candidate, LearnerState()))
    return [candidate.item.id for candidate in found]


@dataclass(frozen=True)
class SubsetPlan:
    """Which items of a large library a smaller one keeps so that both show the same cards.

    For every benchmark body the small library's applicable items are exactly the large
    library's `prefix[body]` best-ranked ones (all of them when they fit); every other item
    it keeps applies to none of the bodies. A clinician then gets the same cards from both:
    the repeat window blocks what was shown, so each call goes further down the same ranking,
    and the two agree until the small library's prefix is used up (`prefix[body] // 2` calls
    of a body by one clinician, fewer when other bodies' calls blocked some of it)."""

    size: int
    keep: tuple[str, ...]
    prefix: Mapping[str, int] = field(default_factory=dict)
    matching: Mapping[str, int] = field(default_factory=dict)
    fillers: int = 0

    @property
    def all_matches_kept(self) -> bool:
        return all(self.prefix[body] == count for body, count in self.matching.items())

    def to_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "applicable_in_large": dict(self.matching),
            "applicable_kept": dict(self.prefix),
            "fillers": self.fillers,
            "all_applicable_kept": self.all_matches_kept,
        }


def _closed_prefixes(ranked: Mapping[str, list[str]], top: int) -> tuple[dict[str, int], set[str]]:
    """Prefix lengths of at least `top` per body such that no kept item applies to a body
    below that body's prefix (an item kept for one body may rank lower for another: that
    body's prefix then grows to include it), and the items they keep."""
    lengths = {body: min(top, len(ids)) for body, ids in ranked.items()}
    while True:
        kept = {item_id for body, ids in ranked.items() for item_id in ids[: lengths[body]]}
        grown = {
            body: max([lengths[body]] + [n + 1 for n, item_id in enumerate(ids) if item_id in kept])
            for body, ids in ranked.items()
        }
        if grown == lengths:
            return lengths, kept
        lengths = grown


def plan_subset(library: ContentLibrary, ranked: Mapping[str, list[str]], size: int) -> SubsetPlan:
    """Choose `size` items of `library` (see `SubsetPlan`); `ranked`: per body, the ids
    `ranked_matches` gives for it in `library`. The prefixes are as long as `size` allows."""
    longest = max((len(ids) for ids in ranked.values()), default=0)
    lengths, chosen = _closed_prefixes(ranked, 0)
    for top in range(1, longest + 1):
        wider, kept = _closed_prefixes(ranked, top)
        if len(kept) > size:
            break
        lengths, chosen = wider, kept
    applicable = {item_id for ids in ranked.values() for item_id in ids}
    fillers = [item.id for item in library.items if item.id not in applicable]
    fillers = fillers[: max(size - len(chosen), 0)]
    if len(chosen) + len(fillers) < size:
        raise ValueError(f"the library has too few items for a subset of {size}")
    chosen = chosen | set(fillers)
    return SubsetPlan(
        size=size,
        keep=tuple(item.id for item in library.items if item.id in chosen),
        prefix=lengths,
        matching={body: len(ids) for body, ids in ranked.items()},
        fillers=len(fillers),
    )


def write_subset(source: Path, out: Path, keep: Iterable[str]) -> Path:
    """Copy the items of a synthetic library (`bedside content synth`: one item per file,
    named by its id) whose ids are in `keep`, and everything outside `items/`, to `out`."""
    wanted = set(keep)
    if out.exists():
        shutil.rmtree(out)
    copied = set()
    for path in sorted(source.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(source)
        if relative.parts[0] == "items":
            if path.stem not in wanted:
                continue
            copied.add(path.stem)
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    if copied != wanted:
        raise ValueError(f"items not found in {source}: {sorted(wanted - copied)[:5]}")
    return out


def subset_library(
    harness: Harness, large_dir: Path, size: int, bodies: list[HookBody]
) -> tuple[Path, SubsetPlan]:
    """A `size`-item subset of the synthetic library in `large_dir` that shows the benchmark
    bodies the same cards (`plan_subset`), written into the work dir."""
    from service.cards import load_library

    at = date.fromisoformat(EVALUATION_DATE)
    library = load_library(large_dir, cache_dir=harness.work_dir / "content-cache")
    ranked: dict[str, list[str]] = {}
    for body in bodies:
        hook, facts = body_facts(body, at)
        ranked[body.name] = ranked_matches(library, hook, facts, at)
    plan = plan_subset(library, ranked, size)
    out = harness.work_dir / f"library-{size}-of-{len(library)}"
    return write_subset(large_dir, out, plan.keep), plan


def card_probe(harness: Harness, server: RunningServer, body: HookBody) -> dict[str, Any]:
    """One signed request as clinician 1 (the body's own userId, also the first clinician of
    every load run, so the one with the longest history): status, cards and their summaries
    (which name the synthetic items)."""
    url, pool = harness.url_and_pool(server, body, True)
    assert pool is not None
    response = httpx.post(
        url,
        content=body.body,
        headers={"Content-Type": "application/json", "Authorization": "Bearer " + pool.take(1)[0]},
        timeout=30.0,
    )
    if response.status_code != 200:
        return {"status": response.status_code, "cards": -1, "items": []}
    cards = orjson.loads(response.content).get("cards", [])
    return {
        "status": 200,
        "cards": len(cards),
        "items": sorted(str(card.get("summary", "")) for card in cards),
    }


def cards_agree(probes: Mapping[str, Mapping[str, Any]]) -> dict[str, bool]:
    """Whether every server's probe showed the same number of cards, and the same items."""
    counts = {probe["cards"] for probe in probes.values()}
    items = {tuple(probe.get("items", ())) for probe in probes.values()}
    return {"count": len(counts) == 1 and -1 not in counts, "items": len(items) == 1}


def library_scaling(harness: Harness) -> dict[str, Any]:
    """The same patients against a small and a large synthetic library (1 worker).

    The large library is `bedside content synth --count N`; each smaller one is a subset of
    it that shows the benchmark bodies the same cards (`SubsetPlan`), so that the servers
    differ by the library's size only, not by how many cards they render, sign and record.
    Each server is probed as clinician 1 before the runs and again after all of them (the
    repeat window then has blocked everything that clinician was shown); the comparison is
    `comparable` only when both probes show equal card counts for every body."""
    sizes = sorted(harness.options.library_sizes)
    bodies = list(standard_bodies().values())[:2]
    if harness.options.smoke:
        bodies = bodies[:1]
    large_dir = synth_library(harness, sizes[-1])
    libraries, plans = {sizes[-1]: large_dir}, {}
    for n in sizes[:-1]:
        libraries[n], plan = subset_library(harness, large_dir, n, bodies)
        plans[f"library-{n}"] = plan.to_dict()
    site = site_for(harness, 1, "library")
    with ExitStack() as stack:
        servers = {
            f"library-{n}": _running(
                stack,
                site.spec(1, "1", content_dir=libraries[n], name=f"library-{n}"),
                harness,
            )
            for n in sizes
        }
        first = {
            body.name: {name: card_probe(harness, s, body) for name, s in servers.items()}
            for body in bodies
        }
        results = harness.compare(servers, bodies, dict.fromkeys(servers, True))
        after = {
            body.name: {name: card_probe(harness, s, body) for name, s in servers.items()}
            for body in bodies
        }
        rss = {name: [round(v, 1) for v in s.rss_mb()] for name, s in servers.items()}
    cards = {
        body: {
            name: {"first": first[body][name], "after_load": after[body][name]} for name in servers
        }
        for body in first
    }
    agreement = {
        body: {"first": cards_agree(first[body]), "after_load": cards_agree(after[body])}
        for body in first
    }
    equal = {
        body: all(phase["count"] for phase in phases.values()) for body, phases in agreement.items()
    }
    small, large = (f"library-{n}" for n in (sizes[0], sizes[-1]))
    ratios = {
        body: {
            "p50_ratio": _ratio(r[large]["p50_ms"], r[small]["p50_ms"]),
            "cpu_ratio": _ratio(r[large]["cpu_ms_per_request"], r[small]["cpu_ms_per_request"]),
            "rps_ratio": _ratio(r[small]["rps"], r[large]["rps"]),
            "cards_equal": equal[body],
        }
        for body, r in results.items()
    }
    return {
        "sizes": list(sizes),
        "subsets": plans,
        "bodies": results,
        "cards": cards,
        "cards_agree": agreement,
        "comparable": all(equal.values()),
        "ratios_large_over_small": ratios,
        "rss_mb": rss,
    }


def patient_scaling(harness: Harness) -> dict[str, Any]:
    """Small and large patients (resource counts), Bedside against the floor (1 worker)."""
    bodies = list(sized_bodies(harness.options.patient_sizes).values())
    site = site_for(harness, 1, "patients")
    with ExitStack() as stack:
        servers = {
            "floor": _running(stack, uvicorn_spec("floor", "bench.floor_app:app", 1, "1"), harness),
            "bedside": _running(stack, site.spec(1, "1"), harness),
        }
        results = harness.compare(servers, bodies, {"floor": False, "bedside": True})
    return {"bodies": results}


def _first_hook(server: RunningServer, harness: Harness, body: HookBody, timeout: float) -> float:
    """Seconds from process start to the first hook answered 200."""
    url = f"{server.base_url}/cds-services/{body.service_id}"
    pool = harness.pool(url)
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=10.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"bedside exited:\n{server.log_tail()}")
            try:
                response = client.post(
                    url,
                    content=body.body,
                    headers={
                        "Content-Type": "application/json",
                        "Authorization": "Bearer " + pool.take(1)[0],
                    },
                )
                if response.status_code == 200:
                    return time.perf_counter() - server.started_at
            except httpx.HTTPError:
                pass
            time.sleep(0.01)
    raise RuntimeError(f"no hook answered within {timeout}s:\n{server.log_tail()}")


def cold_start(harness: Harness) -> dict[str, Any]:
    """`bedside serve` (1 and 2 workers) to the first answered hook, bundled and large
    library; RSS per worker right after."""
    body = standard_bodies()["pv-50k"]
    runs = 1 if harness.options.smoke else 3
    site = site_for(harness, 1, "cold")
    libraries: dict[str, Path | None] = {
        "bundled": None,
        f"synth-{harness.options.library_sizes[-1]}": synth_library(
            harness, harness.options.library_sizes[-1]
        ),
    }
    out: dict[str, Any] = {}
    for label, content_dir in libraries.items():
        for workers in (1, 2) if not harness.options.smoke else (1,):
            seconds, rss = [], []
            for _ in range(runs):
                spec = site.spec(
                    workers,
                    server_cpus(workers),
                    content_dir=content_dir,
                    name=f"cold-{label}-{workers}w",
                )
                server = start(spec, harness.log_dir)
                try:
                    seconds.append(_first_hook(server, harness, body, timeout=300.0))
                    if workers > 1:  # the other worker may still be loading
                        wait_ready(server, "/readyz", timeout=300.0)
                        time.sleep(1.0)
                    rss.append(max(server.rss_mb() or [0.0]))
                finally:
                    server.stop()
            out[f"{label}-{workers}w"] = {
                "first_hook_s": round(median(seconds), 3),
                "runs_s": [round(s, 3) for s in seconds],
                "max_rss_mb_per_worker": round(median(rss), 1),
            }
    return out


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 3) if denominator else None
