"""The ledger under crash: SIGKILL of the worker process, then of PostgreSQL itself, while 8
clients make claims over HTTP and retry with the same Idempotency-Key until acknowledged.

Pass: 0 lost acknowledged claims (every acknowledged entry is in the ledger), 0 duplicates
(one claim entry per key and per cycle), every retry answers the same entry. Both run on a
throwaway cluster (initdb/pg_ctl as the `postgres` user, non-default port) whose fsync,
synchronous_commit and full_page_writes are asserted on. The CI runs are
short; `pytest -m slow tests/reliability` runs 5 x 2,000 claims for each kind of crash.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from service.credit import service as credit
from service.db.base import utcnow
from service.db.engine import make_engine, make_sessionmaker, transaction
from service.db.migrate import upgrade
from service.settings import Settings
from service.shared_state import RedisState
from smart_app.session import SessionStore
from tests.credit.factories import make_item, make_patch, make_profile
from tests.reliability.crash_harness import (
    Claim,
    ClaimOutcome,
    ThrowawayCluster,
    WorkerProcess,
    claim_until_acknowledged,
    postgres_binaries,
)

CLIENTS = 8
# Finding (test_commit_order.py): SessionDep commits after the response is sent, so a crash
# can lose an acknowledged claim. While it is open, lost claims are counted in the figures
# instead of failing the run; set this to False with the fix (duplicates always fail).
LOSS_FINDING_OPEN = False
PRIVATE_REDIS_DB = 13  # not the shared test db 15, which other runs flush under our feet
SESSION_TTL_SECONDS = 7200
CYCLES_PER_LEARNER = 20  # 10 credits: under the default 20-credit yearly cap
pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def private_redis(redis_url: str) -> str:
    """A Redis database of our own, never flushed: the learner sessions of a run must survive
    whatever else runs (the shared test db is flushed after every test; flushing this one
    would break a concurrent run). The sessions expire after SESSION_TTL_SECONDS."""
    return redis_url.rsplit("/", 1)[0] + f"/{PRIVATE_REDIS_DB}"


@dataclass(frozen=True)
class CrashRun:
    claims: int
    kills: int
    runs: int


CI_RUN = CrashRun(claims=200, kills=1, runs=1)
LONG_RUN = CrashRun(claims=2_000, kills=6, runs=5)


async def _prepare(database_url: str, redis_url: str, count: int) -> list[Claim]:
    """Learners with profiles, `count` completed cycles, a bearer per learner (in Redis)."""
    engine = make_engine(database_url)
    state = RedisState(redis_url)
    settings = Settings(secret_key="x" * 40, session_ttl_seconds=SESSION_TTL_SECONDS)  # type: ignore[arg-type]
    store = SessionStore(state, settings)
    claims: list[Claim] = []
    run = uuid.uuid4().hex[:8]
    try:
        for first in range(0, count, CYCLES_PER_LEARNER):
            learner = f"lrn_crash_{run}_{first}"
            async with transaction(make_sessionmaker(engine)) as session:
                await credit.update_profile(session, learner, make_profile(), now=utcnow())
                cycles = []
                for index in range(min(CYCLES_PER_LEARNER, count - first)):
                    view = await credit.start_cycle(
                        session,
                        learner_key=learner,
                        item=make_item(item_id=f"item-{index}"),
                        card_uuid=str(uuid.uuid4()),
                        now=utcnow(),
                    )
                    await credit.update_cycle(session, learner, view.id, make_patch(), now=utcnow())
                    cycles.append(str(view.id))
            app_session = await store.create(learner_key=learner, registration_id="r", issuer="i")
            bearer = await store.issue_bearer(app_session)
            claims.extend(Claim(bearer, cycle, f"claim-{run}-{cycle}") for cycle in cycles)
    finally:
        await state.close()
        await engine.dispose()
    random.shuffle(claims)
    return claims


async def _ledger(database_url: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database_url)
    try:
        return list(
            await connection.fetch(
                "SELECT id, idempotency_key, claim_cycle_id FROM ledger_entry WHERE kind = 'claim'"
            )
        )
    finally:
        await connection.close()


def _assert_exactly_once(
    claims: list[Claim], outcome: ClaimOutcome, rows: list[asyncpg.Record]
) -> int:
    """Assert no duplicate, no refusal, no changed answer; returns the lost acknowledged claims
    (asserted to be 0 once the commit-order finding is fixed)."""
    assert outcome.refused == []
    assert outcome.mismatched == []
    wanted = {claim.key for claim in claims}
    assert set(outcome.acknowledged) == wanted
    mine = [row for row in rows if row["idempotency_key"] in wanted]
    by_key = {row["idempotency_key"]: str(row["id"]) for row in mine}
    assert len(by_key) == len(mine), "a duplicate claim entry for one key"
    assert len({row["claim_cycle_id"] for row in mine}) == len(mine), "two claims of a cycle"
    lost = [key for key, entry in outcome.acknowledged.items() if by_key.get(key) != entry]
    if not LOSS_FINDING_OPEN:
        assert lost == [], f"{len(lost)} acknowledged claims lost"
    return len(lost)


def _count(
    figures: dict[str, float], run: str, outcome: ClaimOutcome, kills: int, lost: int
) -> None:
    """Add a run's numbers to the figures (runs, acknowledged, lost, retries, kills)."""
    figures[f"{run} lost"] = figures.get(f"{run} lost", 0) + lost
    figures[f"{run} runs"] = figures.get(f"{run} runs", 0) + 1
    figures[f"{run} acknowledged"] = figures.get(f"{run} acknowledged", 0) + len(
        outcome.acknowledged
    )
    figures[f"{run} retries"] = figures.get(f"{run} retries", 0) + outcome.retries
    figures[f"{run} kills"] = kills
    figures[f"{run} 401 retries"] = figures.get(f"{run} 401 retries", 0) + outcome.auth_retries


async def _claims_with_crashes(
    worker: WorkerProcess, claims: list[Claim], kills: int, crash: object
) -> ClaimOutcome:
    """8 clients claim while `crash()` (then a restart) happens `kills` times, each once a
    random share (10-80%) of the claims is acknowledged: by progress, not by time, so that
    the crashes land mid-run however fast claims get (a fixed 0.3-1.2 s delay missed a
    200-claim run once claims reached ~500/s)."""
    outcome = ClaimOutcome()
    shares = [claims[index::CLIENTS] for index in range(CLIENTS)]
    clients = asyncio.gather(
        *(claim_until_acknowledged(worker.url, share, outcome) for share in shares)
    )
    marks = sorted(int(len(claims) * random.uniform(0.1, 0.8)) for _ in range(kills))

    async def crasher() -> None:
        for mark in marks:
            while len(outcome.acknowledged) < mark and not clients.done():
                await asyncio.sleep(0.005)
            if clients.done():
                return
            await asyncio.to_thread(crash)  # type: ignore[arg-type]

    await asyncio.gather(clients, crasher())
    return outcome


async def _worker_crash_runs(
    cluster: ThrowawayCluster,
    redis_url: str,
    tmp_path: Path,
    plan: CrashRun,
    figures: dict[str, float],
) -> None:
    postgres_url = cluster.url
    worker = WorkerProcess(_worker_env(postgres_url, redis_url, tmp_path), tmp_path / "worker.log")
    worker.start()

    def crash() -> None:
        worker.kill()
        worker.start()

    try:
        for _ in range(plan.runs):
            claims = await _prepare(postgres_url, redis_url, plan.claims)
            outcome = await _claims_with_crashes(worker, claims, plan.kills, crash)
            lost = _assert_exactly_once(claims, outcome, await _ledger(postgres_url))
            _count(figures, f"worker-kill {plan.claims}", outcome, worker.kills, lost)
    finally:
        worker.stop()
    assert worker.kills >= 1


def _worker_env(database_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "BEDSIDE_DATABASE_URL": database_url,
        "BEDSIDE_REDIS_URL": redis_url,
        "BEDSIDE_SECRET_KEY": "crash-test-secret-" + "x" * 32,
        "BEDSIDE_DATA_DIR": str(tmp_path / "data"),
        "BEDSIDE_LOG_LEVEL": "WARNING",
    }


async def test_worker_sigkill_during_claims(
    cluster: ThrowawayCluster, private_redis: str, tmp_path: Path, figures: dict[str, float]
) -> None:
    await _worker_crash_runs(cluster, private_redis, tmp_path, CI_RUN, figures)


@pytest.mark.slow
@pytest.mark.timeout(3600)
async def test_worker_sigkill_during_claims_long(
    cluster: ThrowawayCluster, private_redis: str, tmp_path: Path, figures: dict[str, float]
) -> None:
    await _worker_crash_runs(cluster, private_redis, tmp_path, LONG_RUN, figures)


@pytest.fixture(scope="module")
def cluster() -> Iterator[ThrowawayCluster]:
    """A throwaway, migrated PostgreSQL cluster for this module (both crash kinds use it: a
    shared test database could be truncated under the test by a concurrent run)."""
    if postgres_binaries() is None or (os.geteuid() == 0 and not shutil.which("runuser")):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("initdb/pg_ctl are required under CI=true")
        pytest.skip("PostgreSQL server binaries are not installed")
    made = ThrowawayCluster(Path(f"/tmp/bedside-pg-{uuid.uuid4().hex[:8]}"))  # short socket path
    made.create()
    try:
        upgrade(made.url)
        yield made
    finally:
        made.destroy()


async def _durability_settings(url: str) -> dict[str, str]:
    connection = await asyncpg.connect(url)
    try:
        return {
            name: await connection.fetchval(f"SHOW {name}")
            for name in ("fsync", "synchronous_commit", "full_page_writes")
        }
    finally:
        await connection.close()


async def _postgres_crash_runs(
    cluster: ThrowawayCluster,
    redis_url: str,
    tmp_path: Path,
    plan: CrashRun,
    figures: dict[str, float],
) -> None:
    assert await _durability_settings(cluster.url) == {
        "fsync": "on",
        "synchronous_commit": "on",
        "full_page_writes": "on",
    }
    worker = WorkerProcess(_worker_env(cluster.url, redis_url, tmp_path), tmp_path / "worker.log")
    worker.start()

    def crash() -> None:
        cluster.kill()
        cluster.start()

    try:
        for _ in range(plan.runs):
            claims = await _prepare(cluster.url, redis_url, plan.claims)
            outcome = await _claims_with_crashes(worker, claims, plan.kills, crash)
            lost = _assert_exactly_once(claims, outcome, await _ledger(cluster.url))
            _count(figures, f"postgres-kill {plan.claims}", outcome, cluster.kills, lost)
    finally:
        worker.stop()
    assert cluster.kills >= 1
    assert (await _durability_settings(cluster.url))["fsync"] == "on"


async def test_postgres_sigkill_during_claims(
    cluster: ThrowawayCluster, private_redis: str, tmp_path: Path, figures: dict[str, float]
) -> None:
    await _postgres_crash_runs(cluster, private_redis, tmp_path, CI_RUN, figures)


@pytest.mark.slow
@pytest.mark.timeout(3600)
async def test_postgres_sigkill_during_claims_long(
    cluster: ThrowawayCluster, private_redis: str, tmp_path: Path, figures: dict[str, float]
) -> None:
    await _postgres_crash_runs(cluster, private_redis, tmp_path, LONG_RUN, figures)
