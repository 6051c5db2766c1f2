"""Command-line jobs of the credit package, each one unit of work on its own engine."""

from __future__ import annotations

from datetime import date

import httpx

from service.credit.outbox import PushReport, push_due
from service.credit.reporting import AnnualReport, annual_report
from service.credit.retention import PruneReport, prune
from service.credit.rules import load_rules
from service.db.base import utcnow
from service.db.engine import make_engine, make_sessionmaker, transaction
from service.settings import Settings

CLI_ACTOR = "admin-cli"


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


async def run_push(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> PushReport:
    """Push due outbox statements to the LRS in batches until none is due or one fails."""
    assert settings.lrs_url is not None
    auth = None
    if settings.lrs_username and settings.lrs_password:
        auth = httpx.BasicAuth(settings.lrs_username, settings.lrs_password.get_secret_value())
    engine = make_engine(settings.resolved_database_url)
    sent = failed = 0
    try:
        async with httpx.AsyncClient(transport=transport, timeout=10.0) as http:
            while True:
                async with transaction(make_sessionmaker(engine)) as session:
                    batch = await push_due(
                        session,
                        http=http,
                        lrs_url=settings.lrs_url,
                        auth=auth,
                        public_url=settings.public_url,
                        now=utcnow(),
                    )
                sent, failed = sent + batch.sent, failed + batch.failed
                if batch.sent == 0 or batch.failed:
                    break
    finally:
        await engine.dispose()
    return PushReport(sent=sent, failed=failed, pending=failed)
