"""The load harness: options, token pools per audience, one measured run (throughput, latency
and the server's CPU time per request), and interleaved A/B/A/B comparisons.

CPU placement on the 2-core machine: with one worker, servers are pinned to CPU 1 and wrk to
CPU 0; with two workers the servers use both CPUs and wrk stays on CPU 0 (it then competes
with one worker, as a co-located load balancer would). CPU-ms per request is read from
/proc for the server's workers and is much less sensitive to other load on the machine than
throughput is.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

import httpx
import orjson

from bench.bodies import HookBody
from bench.load import LoadResult, median_result, run_load
from bench.servers import RunningServer
from bench.tokens import BenchEhr, TokenPool

WRK_CPUS = "0"


def server_cpus(workers: int) -> str:
    return "1" if workers == 1 else "0,1"


@dataclass
class Options:
    """What to run, and how long."""

    seconds: float = 10.0
    warmup: float = 2.0
    rounds: int = 3
    connections: int = 16
    workers: tuple[int, ...] = (1, 2)
    client: str = "auto"
    smoke: bool = False
    postgres_url: str | None = "postgresql://postgres@127.0.0.1:5432/test"
    redis_url: str = "redis://127.0.0.1:6379/14"
    library_sizes: tuple[int, ...] = (100, 10_000)
    patient_sizes: tuple[int, ...] = (50, 1000)
    claims: int = 3000  # ~6 s of claims: 1,000 (~2 s) varied by +-20% run to run
    ehr_algorithm: str = "ES384"  # how the bench EHR signs its JWTs (ES384 or RS384)
    baseline: str | None = None  # a checkout whose Bedside the headline runs beside this one

    @classmethod
    def smoke_options(cls) -> Options:
        return cls(
            seconds=1.0,
            warmup=0.5,
            rounds=1,
            connections=4,
            workers=(1,),
            smoke=True,
            library_sizes=(20, 60),
            patient_sizes=(20, 60),
            claims=40,
        )


@dataclass
class Measured:
    """One measured run with the server's CPU cost."""

    load: LoadResult
    cpu_ms_per_request: float


@dataclass
class Harness:
    """Shared state of a benchmark session: the EHR, token pools, logs, last throughputs."""

    options: Options
    work_dir: Path
    ehr: BenchEhr = field(default_factory=BenchEhr)
    pools: dict[str, TokenPool] = field(default_factory=dict)
    last_rps: dict[tuple[str, str], float] = field(default_factory=dict)

    @property
    def log_dir(self) -> Path:
        path = self.work_dir / "logs"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def pool(self, audience: str) -> TokenPool:
        if audience not in self.pools:
            self.pools[audience] = TokenPool(self.ehr, audience)
        return self.pools[audience]

    def url_and_pool(
        self, server: RunningServer, body: HookBody, signed: bool
    ) -> tuple[str, TokenPool | None]:
        url = f"{server.base_url}/cds-services/{body.service_id}"
        return url, (self.pool(url) if signed else None)

    def measure(
        self, server: RunningServer, body: HookBody, *, signed: bool, seconds: float | None = None
    ) -> Measured:
        """One load run against `server` (signed: a fresh EHR JWT per request)."""
        url, pool = self.url_and_pool(server, body, signed)
        key = (server.spec.name, body.name)
        cpu_before = server.cpu_seconds()
        result = run_load(
            url,
            body.body,
            pool=pool,
            seconds=seconds or self.options.seconds,
            connections=self.options.connections,
            client=self.options.client,
            expected_rps=self.last_rps.get(key, 3000.0),
            cpus=WRK_CPUS,
        )
        cpu = server.cpu_seconds() - cpu_before
        self.last_rps[key] = max(result.rps, 1.0)
        per_request = cpu * 1000 / result.requests if result.requests else 0.0
        return Measured(result, round(per_request, 3))

    def probe(self, server: RunningServer, body: HookBody, *, signed: bool) -> dict[str, Any]:
        """One request: its status and how many cards came back (proves the path works)."""
        url, pool = self.url_and_pool(server, body, signed)
        headers = {"Content-Type": "application/json"}
        if pool is not None:
            headers["Authorization"] = "Bearer " + pool.take(1)[0]
        response = httpx.post(url, content=body.body, headers=headers, timeout=30.0)
        cards = -1
        if response.status_code == 200:
            cards = len(orjson.loads(response.content).get("cards", []))
        return {"status": response.status_code, "cards": cards}

    def compare(
        self, servers: dict[str, RunningServer], bodies: list[HookBody], signed: dict[str, bool]
    ) -> dict[str, dict[str, Any]]:
        """Warm every server up, then interleave runs, the order reversed every other round
        (A B C, C B A, ...) so that no server always runs in the same place: run always last,
        after the naive server, a build measured 5-10% more CPU per request than in second
        place (session 10); medians per (body, server)."""
        out: dict[str, dict[str, Any]] = {}
        for body in bodies:
            runs: dict[str, list[Measured]] = {name: [] for name in servers}
            probes = {name: self.probe(s, body, signed=signed[name]) for name, s in servers.items()}
            for name, server in servers.items():
                self.measure(server, body, signed=signed[name], seconds=self.options.warmup)
            order = list(servers.items())
            for number in range(self.options.rounds):
                for name, server in order if number % 2 == 0 else reversed(order):
                    runs[name].append(self.measure(server, body, signed=signed[name]))
            out[body.name] = {
                name: {
                    **median_result([m.load for m in measured]),
                    "cpu_ms_per_request": round(median(m.cpu_ms_per_request for m in measured), 3),
                    "probe": probes[name],
                    "client": measured[0].load.client,
                }
                for name, measured in runs.items()
            }
            out[body.name]["_body"] = {
                "kilobytes": round(body.kilobytes, 1),
                "resources": body.resources,
            }
        return out


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        load = []
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "loadavg_at_start": load,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
