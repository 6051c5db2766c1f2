"""Command-line jobs of the credit package, each one unit of work on its own engine, and the
outbox's background push.

Packages above the credit package may add events to the outbox before each push round
(`Producer`): the outcomes package turns closed months of practice counts into statements
this way. The credit package never imports them; the composition root passes them in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit.outbox import PushReport, push_due
from service.credit.reporting import AnnualReport, annual_report
from service.credit.retention import PruneReport, prune
from service.credit.rules import load_rules
from service.db.base import utcnow
from service.db.engine import make_engine, make_sessionmaker, transaction
from service.settings import Settings

CLI_ACTOR = "admin-cli"
log = logging.getLogger("bedside.credit.jobs")

# Adds due events to the outbox in the session's unit of work; returns how many it added
# (0 when it has nothing left, so a round calls it until then, at most MAX_PRODUCER_BATCHES).
Producer = Callable[[AsyncSession, datetime], Awaitable[int]]
MAX_PRODUCER_BATCHES = 20


async def run_report(settings: Settings, year: int) -> AnnualReport:
    """The annual report of `year` (audited)."""
    engine = make_engine(settings.resolved_database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            rules = load_rules(settings.credit_rules_file)
            return await annual_report(session, year, rules, actor=CLI_ACTOR, now=utcnow())
    finally:
        await engine.dispose()


async def run_prune(settings: Settings, before: date) -> PruneReport:
    """Delete records older than `before` (RetentionError when younger than 6 years)."""
    engine = make_engine(settings.resolved_database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            return await prune(session, before=before, now=utcnow(), actor=CLI_ACTOR)
    finally:
        await engine.dispose()


def _lrs_auth(settings: Settings) -> httpx.Auth | None:
    if settings.lrs_username and settings.lrs_password:
        return httpx.BasicAuth(settings.lrs_username, settings.lrs_password.get_secret_value())
    return None


async def drain_outbox(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient
) -> tuple[int, int]:
    """Push due statements in batches until none is due or a batch fails: (sent, failed)."""
    assert settings.lrs_url is not None
    sent = failed = 0
    while True:
        async with transaction(sessions) as session:
            batch = await push_due(
                session,
                http=http,
                lrs_url=settings.lrs_url,
                auth=_lrs_auth(settings),
                public_url=settings.public_url,
                now=utcnow(),
            )
        sent, failed = sent + batch.sent, failed + batch.failed
        if batch.sent == 0 or batch.failed:
            return sent, failed


async def produce(sessions: async_sessionmaker[AsyncSession], producers: Sequence[Producer]) -> int:
    """Let each producer add its due events, each batch in its own unit of work, until it
    has none left (or `MAX_PRODUCER_BATCHES` batches this round). A failing producer is
    logged and skipped: the statements already queued are still pushed."""
    added = 0
    for producer in producers:
        try:
            for _ in range(MAX_PRODUCER_BATCHES):
                async with transaction(sessions) as session:
                    batch = await producer(session, utcnow())
                added += batch
                if batch == 0:
                    break
        except Exception:
            log.exception("preparing xAPI statements failed; retrying later")
    return added


async def run_push(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    producers: Sequence[Producer] = (),
) -> PushReport:
    """Push due outbox statements to the LRS (the `bedside credit push-xapi` command), after
    the `producers` have added theirs."""
    engine = make_engine(settings.resolved_database_url)
    try:
        async with httpx.AsyncClient(transport=transport, timeout=10.0) as http:
            sessions = make_sessionmaker(engine)
            await produce(sessions, producers)
            sent, failed = await drain_outbox(settings, sessions, http)
    finally:
        await engine.dispose()
    return PushReport(sent=sent, failed=failed, pending=failed)


async def push_periodically(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    *,
    interval_seconds: float = 60.0,
    producers: Sequence[Producer] = (),
) -> None:
    """Keep the outbox flowing while the service runs (started by the app when an LRS is
    configured). On PostgreSQL each worker locks its due batch (`SKIP LOCKED`), so two workers
    never push the same rows at once; statement ids are stable, so a batch pushed again (an
    answer lost, or SQLite) is answered 409 by the LRS and counted as delivered. A down or
    trickling LRS only delays delivery: each POST has an overall deadline
    (`outbox.PUSH_DEADLINE_SECONDS`) and its statements stay pending. Each round first lets
    the `producers` add their due events (`produce`)."""
    while True:
        await produce(sessions, producers)
        try:
            await drain_outbox(settings, sessions, http)
        except Exception:
            log.exception("pushing xAPI statements failed; retrying later")
        await asyncio.sleep(interval_seconds)
