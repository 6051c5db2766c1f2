"""The load generator: wrk (outside the server's process, pinned when asked) driving a Lua
script that sends every pre-signed token once, or a small httpx client when wrk is absent.

Both give a `LoadResult`: throughput, p50/p90/p99 latency and the count of failed responses
(a run with failures is flagged, never silently averaged in).
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.tokens import TokenPool

LUA_SCRIPT = Path(__file__).with_name("rotate.lua")
CLINICIANS = 500  # distinct context.userId values per run (see rotate.lua)
USER_MARKER = b"Practitioner/bench-clinician-1"


@dataclass(frozen=True, slots=True)
class LoadResult:
    """One load run's outcome."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    failures: int
    client: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _token_budget(expected_rps: float, seconds: float, connections: int) -> int:
    """Tokens to hand a run: 3x the expected count, at least 500/s (unsent ones come back)."""
    return math.ceil(max(expected_rps, 500.0) * seconds * 3) + 4 * connections + 200


def run_wrk(
    url: str,
    body: bytes,
    *,
    pool: TokenPool | None,
    seconds: float,
    connections: int = 16,
    expected_rps: float = 3000.0,
    cpus: str | None = None,
    users: int = CLINICIANS,
) -> LoadResult:
    """One wrk run (1 thread, `connections` connections) POSTing `body` to `url`, the
    clinician (`context.userId`) rotating over `users`."""
    path = "/" + url.split("/", 3)[3]
    budget = _token_budget(expected_rps, seconds, connections) if pool else 0
    tokens = pool.take(budget) if pool else []
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        body_file, tokens_file = Path(tmp, "body.json"), Path(tmp, "tokens.txt")
        body_file.write_bytes(body)
        tokens_file.write_text("\n".join(tokens) + "\n")
        argv = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            str(LUA_SCRIPT),
            url,
            "--",
            str(body_file),
            str(tokens_file) if tokens else "-",
            path,
            str(users),
        ]
        if cpus and shutil.which("taskset"):
            argv = ["taskset", "-c", cpus, *argv]
        completed = subprocess.run(argv, capture_output=True, text=True, check=False)
    line = next((ln for ln in completed.stdout.splitlines() if ln.startswith("BENCH_JSON ")), "")
    if not line:
        raise RuntimeError(f"wrk failed: {completed.stdout}\n{completed.stderr}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    errors = raw["connect_errors"] + raw["read_errors"] + raw["write_errors"] + raw["timeouts"]
    if pool:
        sent = min(len(tokens), raw["requests"] + errors + 2 * connections)
        pool.give_back(tokens[sent:])
    duration = raw["duration_us"] / 1e6
    return LoadResult(
        requests=raw["requests"],
        seconds=round(duration, 3),
        rps=round(raw["requests"] / duration, 1) if duration else 0.0,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        failures=raw["status_errors"] + errors,
        client="wrk",
    )


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, math.ceil(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


async def _python_load(
    url: str, body: bytes, pool: TokenPool | None, seconds: float, connections: int
) -> LoadResult:
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:
        deadline = time.perf_counter() + seconds

        head, _, tail = body.partition(USER_MARKER)
        sent = 0

        async def worker() -> None:
            nonlocal failures, sent
            while time.perf_counter() < deadline:
                sent += 1
                payload = (
                    (
                        head
                        + b"Practitioner/bench-clinician-"
                        + str(sent % CLINICIANS).encode()
                        + tail
                    )
                    if tail
                    else body
                )
                headers = {"Content-Type": "application/json"}
                if pool is not None:
                    headers["Authorization"] = "Bearer " + pool.take(1)[0]
                started = time.perf_counter()
                try:
                    response = await client.post(url, content=payload, headers=headers)
                    ok = response.status_code < 400
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - started)
                failures += 0 if ok else 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return LoadResult(
        requests=len(latencies),
        seconds=round(elapsed, 3),
        rps=round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        p50_ms=round(_percentile(latencies, 0.50) * 1000, 3),
        p90_ms=round(_percentile(latencies, 0.90) * 1000, 3),
        p99_ms=round(_percentile(latencies, 0.99) * 1000, 3),
        failures=failures,
        client="python",
    )


def run_python(
    url: str, body: bytes, *, pool: TokenPool | None, seconds: float, connections: int = 16
) -> LoadResult:
    """The fallback load generator (in this process): fine for smoke runs, not for numbers."""
    return asyncio.run(_python_load(url, body, pool, seconds, connections))


def run_load(
    url: str,
    body: bytes,
    *,
    pool: TokenPool | None,
    seconds: float,
    connections: int = 16,
    client: str = "auto",
    expected_rps: float = 3000.0,
    cpus: str | None = None,
) -> LoadResult:
    """wrk when available (or asked for), otherwise the Python client."""
    use_wrk = client == "wrk" or (client == "auto" and wrk_available())
    if use_wrk:
        return run_wrk(
            url,
            body,
            pool=pool,
            seconds=seconds,
            connections=connections,
            expected_rps=expected_rps,
            cpus=cpus,
        )
    return run_python(url, body, pool=pool, seconds=seconds, connections=connections)


def median_result(results: list[LoadResult]) -> dict[str, Any]:
    """Medians of throughput and latencies over repeated runs (failures summed)."""
    from statistics import median

    return {
        "runs": len(results),
        "rps": round(median(r.rps for r in results), 1),
        "p50_ms": round(median(r.p50_ms for r in results), 3),
        "p99_ms": round(median(r.p99_ms for r in results), 3),
        "failures": sum(r.failures for r in results),
        "rps_runs": [r.rps for r in results],
    }
