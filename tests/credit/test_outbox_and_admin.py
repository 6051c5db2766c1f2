"""The xAPI outbox (a down LRS loses nothing), retention pruning, and the admin CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit import service as credit
from service.credit.models import AuditEvent, LearningCycle, LedgerEntry, XapiOutboxItem
from service.credit.outbox import backoff, push_due
from service.credit.retention import RetentionError, earliest_allowed_cutoff, prune
from service.credit.rules import CreditRules
from service.db.engine import transaction
from service.settings import Settings
from tests.credit.factories import NOW, make_item, make_patch, make_profile

Sessions = async_sessionmaker[AsyncSession]
LEARNER = "lrn_" + "e" * 40
LRS = "https://lrs.example/xapi"


async def _claim_at(sessions: Sessions, rules: CreditRules, when: datetime, n: int = 1) -> None:
    async with transaction(sessions) as session:
        await credit.update_profile(session, LEARNER, make_profile(), now=when)
        for i in range(n):
            cycle = await credit.start_cycle(
                session, learner_key=LEARNER, item=make_item(), card_uuid=None, now=when
            )
            await credit.update_cycle(session, LEARNER, cycle.id, make_patch(), now=when)
            await credit.claim(
                session, LEARNER, cycle.id, idempotency_key=f"{when}-{i}", rules=rules, now=when
            )


async def _pending(sessions: Sessions) -> int:
    async with sessions() as session:
        query = (
            select(func.count()).select_from(XapiOutboxItem).where(XapiOutboxItem.sent_at.is_(None))
        )
        return int((await session.execute(query)).scalar_one())


async def _push(sessions: Sessions, handler: Any, now: datetime) -> Any:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        async with transaction(sessions) as session:
            return await push_due(
                session,
                http=http,
                lrs_url=LRS,
                auth=httpx.BasicAuth("u", "p"),
                public_url="https://bedside.test",
                now=now,
            )


async def test_down_lrs_loses_nothing_then_delivers(sessions: Sessions, rules: CreditRules) -> None:
    await _claim_at(sessions, rules, NOW)
    assert await _pending(sessions) == 4

    def down(_request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    failed = await _push(sessions, down, NOW)
    assert (failed.sent, failed.failed) == (0, 4)
    assert await _pending(sessions) == 4
    early = await _push(sessions, down, NOW + timedelta(seconds=10))  # backing off: not due
    assert (early.sent, early.failed) == (0, 0)
    seen: list[dict[str, Any]] = []

    def up(request: httpx.Request) -> httpx.Response:
        assert request.headers["X-Experience-API-Version"] == "1.0.3"
        assert request.url == f"{LRS}/statements"
        assert request.headers["Authorization"].startswith("Basic ")
        seen.extend(json.loads(request.content))
        return httpx.Response(200, json=[s["id"] for s in seen])

    done = await _push(sessions, up, NOW + timedelta(minutes=1))
    assert (done.sent, done.failed) == (4, 0)
    assert await _pending(sessions) == 0
    assert [s["verb"]["display"]["en-US"] for s in seen] == [
        "launched",
        "answered",
        "completed",
        "earned",
    ]
    assert all(s["actor"]["account"]["homePage"] == "https://bedside.test" for s in seen)


async def test_lrs_error_status_is_retried(sessions: Sessions, rules: CreditRules) -> None:
    await _claim_at(sessions, rules, NOW)
    result = await _push(sessions, lambda _r: httpx.Response(503), NOW)
    assert result.failed == 4
    async with sessions() as session:
        row = (await session.scalars(select(XapiOutboxItem))).first()
    assert row is not None
    assert row.attempts == 1
    assert row.last_error == "LRS answered HTTP 503"
    assert row.next_attempt_at == NOW + backoff(1)


def test_backoff_grows_and_is_capped() -> None:
    assert backoff(1) == timedelta(seconds=30)
    assert backoff(2) == timedelta(seconds=60)
    assert backoff(30) == timedelta(hours=6)


async def test_prune_refuses_young_records(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        with pytest.raises(RetentionError, match="6 years"):
            await prune(session, before=date(2024, 1, 1), now=NOW, actor="test")
    assert earliest_allowed_cutoff(date(2028, 2, 29)) == date(2022, 2, 28)


async def test_prune_deletes_only_old_records(sessions: Sessions, rules: CreditRules) -> None:
    old = datetime(2018, 3, 1, tzinfo=UTC)
    await _claim_at(sessions, rules, old, n=2)
    await _claim_at(sessions, rules, NOW, n=1)
    async with transaction(sessions) as session:
        report = await prune(session, before=date(2019, 1, 1), now=NOW, actor="test")
    assert (report.ledger_entries, report.cycles) == (2, 2)
    async with sessions() as session:
        entries = (await session.scalars(select(LedgerEntry))).all()
        cycles = (await session.scalars(select(LearningCycle))).all()
        actions = [e.action for e in (await session.scalars(select(AuditEvent))).all()]
    assert [e.earned_at.year for e in entries] == [2026]
    assert len(cycles) == 1
    assert "retention.pruned" in actions


def _cli(env_db: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "BEDSIDE_DATABASE_URL": env_db,
        "BEDSIDE_DATA_DIR": str(tmp_path / "cli-data"),
    }
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


async def test_report_and_prune_cli(
    sessions: Sessions, rules: CreditRules, database_url: str, tmp_path: Path
) -> None:
    await _claim_at(sessions, rules, NOW, n=3)
    out = tmp_path / "pars.tsv"
    pars = _cli(database_url, tmp_path, "credit", "report", "--period", "2026", "--out", str(out))
    assert pars.returncode == 0, pars.stderr
    assert "1 distinct learners" in pars.stderr
    assert "left out of the board file" not in pars.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text()), delimiter="\t"))
    assert len(rows) == 3
    assert rows[0]["Board"] == "ABIM"
    assert rows[0]["Last Name"] == "Lovelace"
    summary = _cli(
        database_url, tmp_path, "credit", "report", "--period", "2026", "--format", "csv"
    )
    assert summary.returncode == 0
    assert "BEDSIDE-POC-2026" in summary.stdout
    assert ",1,1.5" in summary.stdout
    refused = _cli(database_url, tmp_path, "credit", "prune", "--before", "2025-01-01")
    assert refused.returncode == 2
    assert "6 years" in refused.stderr
    allowed = _cli(database_url, tmp_path, "credit", "prune", "--before", "2019-01-01")
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(allowed.stdout)["ledger_entries"] == 0


async def test_the_service_pushes_the_outbox_in_the_background(
    sessions: Sessions, rules: CreditRules, settings: Settings
) -> None:
    import asyncio

    from service.credit.jobs import push_periodically

    await _claim_at(sessions, rules, NOW)
    seen: list[dict[str, Any]] = []

    def lrs(request: httpx.Request) -> httpx.Response:
        seen.extend(json.loads(request.content))
        return httpx.Response(200, json=[])

    lrs_settings = settings.model_copy(update={"lrs_url": LRS})
    async with httpx.AsyncClient(transport=httpx.MockTransport(lrs)) as http:
        job = asyncio.create_task(
            push_periodically(lrs_settings, sessions, http, interval_seconds=0.05)
        )
        try:
            for _ in range(200):
                if seen and await _pending(sessions) == 0:
                    break
                await asyncio.sleep(0.05)
        finally:
            job.cancel()
    assert await _pending(sessions) == 0
    assert len({s["id"] for s in seen}) == 4


async def test_the_report_says_who_is_left_out_for_want_of_names(
    sessions: Sessions, rules: CreditRules, database_url: str, tmp_path: Path
) -> None:
    # a consenting profile written before given and family names existed: never split
    async with transaction(sessions) as session:
        await credit.update_profile(
            session,
            LEARNER,
            make_profile(name="Maria de la Cruz", given_name=None, family_name=None),
            now=NOW,
        )
        cycle = await credit.start_cycle(
            session, learner_key=LEARNER, item=make_item(), card_uuid=None, now=NOW
        )
        await credit.update_cycle(session, LEARNER, cycle.id, make_patch(), now=NOW)
        await credit.claim(session, LEARNER, cycle.id, idempotency_key="k", rules=rules, now=NOW)
    out = tmp_path / "pars.tsv"
    pars = _cli(database_url, tmp_path, "credit", "report", "--period", "2026", "--out", str(out))
    assert pars.returncode == 0, pars.stderr
    assert "1 consenting learner(s) left out of the board file" in pars.stderr
    assert "Cruz" not in out.read_text()
