"""The machinery of the crash tests: a Bedside worker in its own process (uvicorn) that can be
SIGKILLed and restarted, a throwaway PostgreSQL cluster (initdb/pg_ctl on a non-default port)
that can be SIGKILLed whole and restarted, and clients that claim credit over HTTP, retrying
with the same Idempotency-Key until the claim is acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class WorkerProcess:
    """One uvicorn worker running service.asgi:app with the given environment."""

    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    kills: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> None:
        env = {**os.environ, **self.env, "BEDSIDE_PUBLIC_URL": self.url}
        with self.log_path.open("ab") as log:
            command = [sys.executable, "-m", "uvicorn", "service.asgi:app", "--host", "127.0.0.1"]
            command += ["--port", str(self.port), "--log-level", "warning", "--no-access-log"]
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited: see {self.log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=0.5).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError("worker did not become healthy")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook, no flush, no goodbye."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def postgres_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@dataclass
class ThrowawayCluster:
    """A PostgreSQL cluster made for one test, run as the `postgres` OS user."""

    directory: Path
    port: int = field(default_factory=free_port)
    kills: int = 0

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *command: str, timeout: float = 60) -> None:
        bindir = postgres_binaries()
        assert bindir is not None
        prefix = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
        subprocess.run(  # fixed arguments
            [*prefix, str(bindir / command[0]), *command[1:]],
            check=True,
            timeout=timeout,
            capture_output=True,
        )

    def create(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        data = str(self.directory / "data")
        self._as_postgres("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()

    def start(self) -> None:
        data = str(self.directory / "data")
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        self._as_postgres(
            "pg_ctl", "-D", data, "-o", options, "-l", str(self.directory / "log"), "-w", "start"
        )

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend at once (a crash, not a shutdown)."""
        pid_file = self.directory / "data" / "postmaster.pid"
        postmaster = int(pid_file.read_text().splitlines()[0])
        victims = [postmaster, *_children(postmaster)]
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in victims) and time.monotonic() < deadline:
            time.sleep(0.05)
        # The dead postmaster may linger as a zombie (a container's PID 1 need not reap it),
        # which PostgreSQL would take for a running server: after a real crash and reboot the
        # lock file names no live process either.
        pid_file.unlink(missing_ok=True)
        for stale in self.directory.glob(".s.PGSQL.*"):  # the socket and its lock file
            stale.unlink(missing_ok=True)
        self.kills += 1

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self._as_postgres(
                "pg_ctl", "-D", str(self.directory / "data"), "-m", "immediate", "stop"
            )
        for pid in _processes_mentioning(str(self.directory)):  # whatever pg_ctl missed
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.directory, ignore_errors=True)


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == parent:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass(frozen=True)
class Claim:
    """One claim to make: whose, which cycle, with which key."""

    bearer: str
    cycle_id: str
    key: str


@dataclass
class ClaimOutcome:
    acknowledged: dict[str, str] = field(default_factory=dict)  # key -> entry id
    refused: list[tuple[str, int, str]] = field(default_factory=list)
    retries: int = 0
    auth_retries: int = 0  # 401s for a valid bearer, retried (reported as a figure)
    mismatched: list[str] = field(default_factory=list)  # a retry answered another entry


async def claim_until_acknowledged(
    base_url: str, claims: list[Claim], outcome: ClaimOutcome, *, give_up_after: float = 120
) -> None:
    """One client: each claim retried with its key until a 200 (or a definitive 4xx)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        for claim in claims:
            deadline = time.monotonic() + give_up_after
            unauthorized = 0
            while True:
                try:
                    response = await http.post(
                        f"/api/learner/cycles/{claim.cycle_id}/claim",
                        headers={
                            "Authorization": f"Bearer {claim.bearer}",
                            "Idempotency-Key": claim.key,
                        },
                    )
                except httpx.HTTPError:
                    response = None
                if response is not None and response.status_code == 200:
                    entry = str(response.json()["entry"]["id"])
                    previous = outcome.acknowledged.setdefault(claim.key, entry)
                    if previous != entry:
                        outcome.mismatched.append(claim.key)
                    break
                if response is not None and response.status_code == 401 and unauthorized < 20:
                    unauthorized += 1  # the bearer is valid: a 401 here is itself a finding
                    outcome.auth_retries += 1
                    await asyncio.sleep(0.1)
                    continue
                if response is not None and 400 <= response.status_code < 500:
                    outcome.refused.append((claim.key, response.status_code, response.text[:200]))
                    break
                if time.monotonic() > deadline:
                    outcome.refused.append((claim.key, 0, "gave up"))
                    break
                outcome.retries += 1
                await asyncio.sleep(0.05)
