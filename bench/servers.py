"""Servers under test, started as subprocesses: the floor, the naive peer and Bedside itself.

Bedside runs as `bedside serve` does (`python -m service.cli serve`), on its own temporary
data dir and database, with the benchmark EHR registered through the registry service
(`service/ehr/service.py: add_ehr`) and its JWKS served on loopback. Resident memory comes
from /proc (no psutil needed).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.bodies import FHIR_BASE, REPO_ROOT
from bench.tokens import BenchEhr

EVALUATION_DATE = "2021-04-01"
BENCH_REDIS_URL = "redis://127.0.0.1:6379/14"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerSpec:
    """How to start one server; `cpus` pins it with taskset (e.g. "1")."""

    name: str
    argv: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    cpus: str | None = None
    workers: int = 1
    cwd: Path = REPO_ROOT  # the checkout whose code runs (`python -m` imports from here)


@dataclass
class RunningServer:
    spec: ServerSpec
    process: subprocess.Popen[bytes]
    log_path: Path
    started_at: float
    ready_seconds: float = 0.0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.spec.port}"

    def worker_pids(self) -> list[int]:
        """The worker processes: the main process (1 worker) or its spawned children."""
        if self.spec.workers <= 1:
            return [self.process.pid]
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.process.pid and b"spawn_main" in cmdline:
                children.append(int(entry.name))
        return sorted(children)

    def rss_mb(self) -> list[float]:
        """Resident set size of each worker, in MiB (VmRSS from /proc)."""
        sizes = []
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        return sizes

    def cpu_seconds(self) -> float:
        """User + system CPU time consumed so far by the worker processes."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in self.worker_pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        return total

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start(spec: ServerSpec, log_dir: Path) -> RunningServer:
    """Start a server (pinned when `spec.cpus`); does not wait for it."""
    argv = ["taskset", "-c", spec.cpus] if spec.cpus and shutil.which("taskset") else []
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **spec.env}
    log_path = log_dir / f"{spec.name}-{spec.port}.log"
    handle = log_path.open("wb")
    process = subprocess.Popen(
        [*argv, *spec.argv], cwd=spec.cwd, env=env, stdout=handle, stderr=subprocess.STDOUT
    )
    handle.close()
    return RunningServer(spec, process, log_path, time.perf_counter())


def wait_ready(server: RunningServer, path: str = "/healthz", timeout: float = 60.0) -> float:
    """Poll `path` until it answers 200; returns seconds since start."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"{server.spec.name} exited:\n{server.log_tail()}")
            try:
                if client.get(server.base_url + path).status_code == 200:
                    server.ready_seconds = time.perf_counter() - server.started_at
                    return server.ready_seconds
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
    server.stop()
    raise RuntimeError(f"{server.spec.name} not ready after {timeout}s:\n{server.log_tail()}")


def uvicorn_spec(name: str, module: str, workers: int, cpus: str | None) -> ServerSpec:
    """The floor or the naive app under uvicorn, configured like `bedside serve`."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        module,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return ServerSpec(name, argv, port, cpus=cpus, workers=workers)


@dataclass
class BedsideSite:
    """A prepared Bedside deployment: data dir, migrated database, registered EHR."""

    data_dir: Path
    database_url: str
    ehr: BenchEhr
    redis_url: str | None = None

    def spec(
        self,
        workers: int,
        cpus: str | None,
        *,
        content_dir: Path | None = None,
        port: int | None = None,
        name: str = "bedside",
        source: Path = REPO_ROOT,
    ) -> ServerSpec:
        port = port or free_port()
        env = {
            "BEDSIDE_DATA_DIR": str(self.data_dir),
            "BEDSIDE_DATABASE_URL": self.database_url,
            "BEDSIDE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "BEDSIDE_EVALUATION_DATE": EVALUATION_DATE,
            "BEDSIDE_SECRET_KEY": secrets.token_urlsafe(48),
            "BEDSIDE_LOG_LEVEL": "WARNING",
            # The per-issuer rate limit stays on the path but never trips under load.
            "BEDSIDE_RATE_LIMIT_PER_MINUTE": "100000000",
            # Every call renders, signs and records its cards, as a stream of different
            # patients would. With the default 30-day window the 500 rotating clinicians see
            # each benchmark patient's few applicable items within ~8 calls, after which most
            # calls answered no card at all and cost less than a real one.
            "BEDSIDE_REPEAT_WINDOW_DAYS": "0",
        }
        if workers > 1 and self.redis_url:
            env["BEDSIDE_REDIS_URL"] = self.redis_url
        if content_dir is not None:
            env["BEDSIDE_CONTENT_DIR"] = str(content_dir)
        argv = [
            sys.executable,
            "-m",
            "service.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
        return ServerSpec(name, argv, port, env=env, cpus=cpus, workers=workers, cwd=source)

    def audience(self, port: int, service_id: str) -> str:
        return f"http://127.0.0.1:{port}/cds-services/{service_id}"


async def _register(database_url: str, ehr: BenchEhr) -> None:
    from service.db.engine import make_engine, make_sessionmaker, transaction
    from service.ehr.service import add_ehr

    engine = make_engine(database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            await add_ehr(session, issuer=ehr.issuer, jwks_url=ehr.jwks.url, fhir_base=FHIR_BASE)
    finally:
        await engine.dispose()


async def _recreate_postgres(admin_url: str, name: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def prepare_site(
    work_dir: Path,
    ehr: BenchEhr,
    *,
    postgres_admin_url: str | None = None,
    database_name: str = "bench",
    source: Path = REPO_ROOT,
) -> BedsideSite:
    """A fresh data dir and database (SQLite, or a re-created PostgreSQL database), migrated
    by the code in `source` (another checkout's schema may differ), with the benchmark EHR
    registered."""
    data_dir = work_dir / "bedside-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    if postgres_admin_url:
        url = asyncio.run(_recreate_postgres(postgres_admin_url, database_name))
    else:
        database = work_dir / "bedside.db"
        for stale in (database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))):
            stale.unlink(missing_ok=True)  # a kept --work-dir: its EHR key is a past run's
        url = f"sqlite:///{database}"
    subprocess.run(
        [sys.executable, "-c", f"from service.db.migrate import upgrade; upgrade({url!r})"],
        cwd=source,
        env={**os.environ, "PYTHONPATH": str(source)},
        check=True,
    )
    asyncio.run(_register(url, ehr))
    return BedsideSite(data_dir, url, ehr, BENCH_REDIS_URL)


def flush_redis(url: str) -> None:
    """Empty the benchmark's Redis database (replay cache, rate windows, key cache)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def reachable(url: str, default_port: int) -> bool:
    from urllib.parse import urlparse

    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 1
        ):
            return True
    except OSError:
        return False
