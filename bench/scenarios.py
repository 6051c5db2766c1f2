"""The load scenarios: Bedside vs the parse floor vs the naive peer (1 and 2 workers), library
and patient scaling, cold start of `bedside serve` and resident memory per worker."""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from statistics import median
from typing import Any

import httpx

from bench.bodies import HookBody, sized_bodies, standard_bodies
from bench.harness import Harness, server_cpus
from bench.servers import (
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


def _running(
    stack: ExitStack, spec: ServerSpec, harness: Harness, ready_path: str = "/healthz"
) -> RunningServer:
    server = start(spec, harness.log_dir)
    stack.callback(server.stop)
    wait_ready(server, ready_path, timeout=180.0)
    return server


def site_for(harness: Harness, workers: int, name: str) -> BedsideSite:
    """SQLite for one worker; PostgreSQL (a `bench_*` database) and Redis for several."""
    options = harness.options
    multi = workers > 1 and options.postgres_url and reachable(options.postgres_url, 5432)
    site = prepare_site(
        harness.work_dir / name,
        harness.ehr,
        postgres_admin_url=options.postgres_url if multi else None,
        database_name=f"bench_{name.replace('-', '_')}",
    )
    if workers > 1 and reachable(options.redis_url, 6379):
        site.redis_url = options.redis_url
        flush_redis(options.redis_url)
    else:
        site.redis_url = None
    return site


def headline(harness: Harness, workers: int) -> dict[str, Any]:
    """Bedside, the floor and the naive peer on pv-50k, pv-250k and order-sign."""
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


def library_scaling(harness: Harness) -> dict[str, Any]:
    """The same patients against a small and a large synthetic library (1 worker)."""
    sizes = harness.options.library_sizes
    bodies = list(standard_bodies().values())[:2]
    if harness.options.smoke:
        bodies = bodies[:1]
    site = site_for(harness, 1, "library")
    with ExitStack() as stack:
        servers = {
            f"library-{n}": _running(
                stack,
                site.spec(1, "1", content_dir=synth_library(harness, n), name=f"library-{n}"),
                harness,
            )
            for n in sizes
        }
        results = harness.compare(servers, bodies, dict.fromkeys(servers, True))
        rss = {name: [round(v, 1) for v in s.rss_mb()] for name, s in servers.items()}
    small, large = (f"library-{n}" for n in (sizes[0], sizes[-1]))
    ratios = {
        body: {
            "p50_ratio": _ratio(r[large]["p50_ms"], r[small]["p50_ms"]),
            "cpu_ratio": _ratio(r[large]["cpu_ms_per_request"], r[small]["cpu_ms_per_request"]),
            "rps_ratio": _ratio(r[small]["rps"], r[large]["rps"]),
        }
        for body, r in results.items()
    }
    return {
        "sizes": list(sizes),
        "bodies": results,
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
