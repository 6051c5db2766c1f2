"""Ledger throughput: credit claims per second on PostgreSQL, two worker processes, every claim
carrying an idempotency key, one in ten retried concurrently from the other worker, the claims
in flight together from different learners (as clinicians claim one cycle at a time).

Claims go through `service/credit/service.py: claim()` (the function behind
`POST /api/learner/cycles/{id}/claim`) inside `service.db.engine.transaction`, 16 concurrent
tasks per process: the HTTP route needs a SMART session per learner, which only a full
launch creates. Cycles are documented beforehand (question + application) so each claim is
granted; learners hold at most 5 cycles so yearly caps never refuse one.

Besides wall-clock claims per second, the run reports CPU per claim of the claiming
processes and of the PostgreSQL backends serving them (from /proc): on a shared machine
wall-clock throughput swings with other load, CPU per claim much less.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.servers import _recreate_postgres, reachable

CYCLES_PER_LEARNER = 5
CONCURRENCY = 16
NOW = datetime(2021, 4, 1, 12, tzinfo=UTC)


async def _prepare(url: str, claims: int) -> list[tuple[str, str]]:
    """Documented, claimable cycles: (learner, cycle id) pairs."""
    from service.credit import service as credit
    from service.credit.schemas import CycleItem, CyclePatch, ProfileUpdate
    from service.db.engine import make_engine, make_sessionmaker, transaction

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    item = CycleItem(
        item_id="bench-statin",
        item_version="1",
        item_type="guideline",
        title="Statins in diabetes",
        credit_format="poc",
        source_citation="ADA Standards of Care 2021, section 10",
    )
    patch = CyclePatch(
        question="Which statin intensity for this patient?", application="confirmed-plan"
    )
    profile = ProfileUpdate(name="Bench Learner", profession="physician-md")
    pairs: list[tuple[str, str]] = []
    try:
        for start in range(0, claims, 200):
            async with transaction(sessions) as session:
                for index in range(start, min(start + 200, claims)):
                    learner = f"bench-learner-{index // CYCLES_PER_LEARNER:06d}"
                    if index % CYCLES_PER_LEARNER == 0:
                        await credit.update_profile(session, learner, profile, now=NOW)
                    view = await credit.start_cycle(
                        session,
                        learner_key=learner,
                        item=item,
                        card_uuid=str(uuid.uuid4()),
                        now=NOW,
                    )
                    await credit.update_cycle(session, learner, view.id, patch, now=NOW)
                    pairs.append((learner, str(view.id)))
    finally:
        await engine.dispose()
    return pairs


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (/proc); None where it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _server_cpu(engine: Any) -> dict[int, list[float | None]]:
    """CPU of the PostgreSQL backends behind the engine's connections, from connect to close
    (read from /proc when each connection opens and closes: an overflow connection closes at
    checkin, and its backend's CPU would be lost at the end of the run). asyncpg knows the
    backend's pid from the handshake, so this costs no query."""
    from sqlalchemy import event

    spans: dict[int, list[float | None]] = {}

    def on_connect(_dbapi: Any, record: Any) -> None:
        pid = record.driver_connection.get_server_pid()
        spans[pid] = [_cpu_seconds(pid), None]

    def on_close(_dbapi: Any, record: Any) -> None:
        pid = record.driver_connection.get_server_pid()
        if pid in spans:
            spans[pid][1] = _cpu_seconds(pid)

    event.listen(engine.sync_engine, "connect", on_connect)
    event.listen(engine.sync_engine, "close", on_close)
    return spans


def _spent(spans: dict[int, list[float | None]]) -> float | None:
    """Total CPU of the backends between connect and close; None when one was not read."""
    total = 0.0
    for opened, closed in spans.values():
        if opened is None or closed is None:
            return None
        total += closed - opened
    return total


async def _claim_all(url: str, work: list[tuple[str, str]], start_at: float) -> dict[str, Any]:
    from service.credit import service as credit
    from service.credit.cycles import bundled_rules
    from service.db.engine import make_engine, make_sessionmaker, transaction

    engine = make_engine(url)
    backends = _server_cpu(engine)
    sessions = make_sessionmaker(engine)
    rules = bundled_rules()
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for pair in work:
        queue.put_nowait(pair)
    errors: list[str] = []

    async def worker() -> None:
        while not queue.empty():
            learner, cycle_id = queue.get_nowait()
            try:
                async with transaction(sessions) as session:
                    await credit.claim(
                        session,
                        learner,
                        uuid.UUID(cycle_id),
                        idempotency_key=f"bench-{cycle_id}",
                        rules=rules,
                        now=NOW,
                    )
            except Exception as exc:  # counted and reported, never hidden
                errors.append(type(exc).__name__)

    async with engine.connect():
        pass  # open one connection before the clock starts
    await asyncio.sleep(max(0.0, start_at - time.time()))
    started, cpu_started = time.time(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    finished, cpu = time.time(), time.process_time() - cpu_started
    await engine.dispose()  # closes every connection: each backend's CPU is read
    return {
        "started": started,
        "finished": finished,
        "calls": len(work),
        "errors": errors,
        "client_cpu": cpu,
        "server_cpu": _spent(backends),
    }


def _worker_main(url: str, work: list[tuple[str, str]], start_at: float, results: Any) -> None:
    results.put(asyncio.run(_claim_all(url, work, start_at)))


async def _ledger_rows(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM ledger_entry"))
    finally:
        await conn.close()


def _schedule(
    pairs: list[tuple[str, str]],
) -> tuple[list[list[tuple[str, str]]], list[tuple[str, str]]]:
    """Each process's queue: every learner's first cycle, then every learner's second...
    (clinicians claim one cycle at a time, so the claims in flight together are different
    learners'), dealt alternately to the two processes; one claim in ten is also queued at
    the same point in the other process's queue, a retry (same key) racing the original.
    Retries go to each process in turn (claims 0 and 11 of every 20), so that neither queue
    runs ahead of the other."""
    rounds = sorted(range(len(pairs)), key=lambda i: (i % CYCLES_PER_LEARNER, i))
    halves: list[list[tuple[str, str]]] = [[], []]
    retries: list[tuple[str, str]] = []
    for n, index in enumerate(rounds):
        halves[n % 2].append(pairs[index])
        if n % 20 in (0, 11):
            halves[(n + 1) % 2].append(pairs[index])
            retries.append(pairs[index])
    return halves, retries


def claims_per_second(postgres_admin_url: str | None, claims: int) -> dict[str, Any]:
    """Two processes claim `claims` cycles (plus 10% concurrent retries); claims per second
    and the exactly-once check (ledger rows == cycles)."""
    if not postgres_admin_url or not reachable(postgres_admin_url, 5432):
        return {"skipped": "PostgreSQL not reachable"}
    from service.db.migrate import upgrade

    url = asyncio.run(_recreate_postgres(postgres_admin_url, "bench_ledger"))
    upgrade(url)
    pairs = asyncio.run(_prepare(url, claims))
    halves, retries = _schedule(pairs)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start_at = time.time() + 3.0
    processes = [
        context.Process(target=_worker_main, args=(url, half, start_at, results)) for half in halves
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    wall = max(o["finished"] for o in outcomes) - min(o["started"] for o in outcomes)
    rows = asyncio.run(_ledger_rows(url))
    errors = [e for o in outcomes for e in o["errors"]]
    client_cpu = sum(o["client_cpu"] for o in outcomes)
    server_cpus = [o["server_cpu"] for o in outcomes]
    server_cpu = None if None in server_cpus else sum(server_cpus)
    return {
        "path": "service.credit.service.claim() in 2 processes x 16 tasks",
        "cycles": len(pairs),
        "calls": sum(o["calls"] for o in outcomes),
        "retries": len(retries),
        "seconds": round(wall, 3),
        "claims_per_second": round(len(pairs) / wall, 1) if wall else 0.0,
        "calls_per_second": round(sum(o["calls"] for o in outcomes) / wall, 1) if wall else 0.0,
        "client_cpu_ms_per_claim": round(1000 * client_cpu / len(pairs), 3),
        "server_cpu_ms_per_claim": None
        if server_cpu is None
        else round(1000 * server_cpu / len(pairs), 3),
        "ledger_rows": rows,
        "exactly_once": rows == len(pairs),
        "errors": len(errors),
        "error_types": sorted(set(errors)),
    }
