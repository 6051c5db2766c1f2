"""Exactly-once across a crash: a child process submitting claims to PostgreSQL is killed with
SIGKILL mid-run; the client then retries every claim with the same keys. Afterwards no
acknowledged claim is missing, none is duplicated, and retries answer with the stored entry."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit import service as credit
from service.credit.models import LedgerEntry
from service.credit.rules import CreditRules
from service.db.engine import make_engine, make_sessionmaker, transaction
from tests.credit.factories import NOW, make_item, make_patch, make_profile

pytestmark = pytest.mark.postgres
Sessions = async_sessionmaker[AsyncSession]

CHILD = textwrap.dedent(
    """
    import asyncio, json, sys, uuid
    from datetime import datetime
    from service.credit import service as credit
    from service.credit.rules import load_rules
    from service.db.engine import make_engine, make_sessionmaker, transaction

    async def main(url, jobs_path, now):
        jobs = json.loads(open(jobs_path).read())
        engine = make_engine(url, pool_size=2)
        sessions, rules = make_sessionmaker(engine), load_rules()
        for learner, cycle, key in jobs:
            async with transaction(sessions) as session:
                result = await credit.claim(session, learner, uuid.UUID(cycle),
                                            idempotency_key=key, rules=rules, now=now)
            print("ACK", key, result.entry.id, flush=True)  # only after the commit
            await asyncio.sleep(0.005)

    asyncio.run(main(sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3])))
    """
)


@pytest.fixture
async def pg_sessions(postgres_url: str) -> AsyncIterator[Sessions]:
    engine = make_engine(postgres_url, pool_size=5)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def _jobs(sessions: Sessions, run: int, learners: int = 3, per: int = 12) -> list[list[str]]:
    jobs: list[list[str]] = []
    async with transaction(sessions) as session:
        for n in range(learners):
            learner = f"lrn_crash_{run}_{n}"
            await credit.update_profile(session, learner, make_profile(), now=NOW)
            for _ in range(per):
                cycle = await credit.start_cycle(
                    session, learner_key=learner, item=make_item(), card_uuid=None, now=NOW
                )
                await credit.update_cycle(session, learner, cycle.id, make_patch(), now=NOW)
                jobs.append([learner, str(cycle.id), f"key-{uuid.uuid4()}"])
    return jobs


async def _run_child(url: str, jobs_file: Path, script: Path, kill_after: int) -> dict[str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        url,
        str(jobs_file),
        NOW.isoformat(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    acked: dict[str, str] = {}
    while len(acked) < kill_after:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
        assert line, "child ended before it was killed"
        _, key, entry_id = line.decode().split()
        acked[key] = entry_id
    proc.kill()  # SIGKILL: no cleanup, possibly mid-transaction
    for rest in (await proc.stdout.read()).decode().splitlines():
        _, key, entry_id = rest.split()
        acked[key] = entry_id
    await proc.wait()
    return acked


@pytest.mark.parametrize("kill_after", [1, 7, 20])
async def test_claims_survive_sigkill(
    pg_sessions: Sessions,
    postgres_url: str,
    rules: CreditRules,
    tmp_path: Path,
    kill_after: int,
) -> None:
    jobs = await _jobs(pg_sessions, kill_after)
    jobs_file, script = tmp_path / "jobs.json", tmp_path / "child.py"
    jobs_file.write_text(json.dumps(jobs))
    script.write_text(CHILD)
    acked = await _run_child(postgres_url, jobs_file, script, kill_after)
    assert len(acked) < len(jobs), "the child finished before it was killed"
    retried: dict[str, str] = {}
    for learner, cycle, key in jobs:  # the client retries everything with the same keys
        async with transaction(pg_sessions) as session:
            result = await credit.claim(
                session, learner, uuid.UUID(cycle), idempotency_key=key, rules=rules, now=NOW
            )
        retried[key] = str(result.entry.id)
    assert all(retried[key] == entry_id for key, entry_id in acked.items())  # none missing
    learners = {learner for learner, _, _ in jobs}
    async with pg_sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.learner.in_(learners))
        )
        cycles = await session.scalar(
            select(func.count(func.distinct(LedgerEntry.claim_cycle_id))).where(
                LedgerEntry.learner.in_(learners)
            )
        )
    assert count == len(jobs) == cycles  # none duplicated
    assert len(set(retried.values())) == len(jobs)
