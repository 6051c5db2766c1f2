"""`bedside doctor`: does the wiring work? Configuration, database and migrations, content,
shared state, and every registered EHR's key set, as a readable report for hospital IT.

Read-only: it migrates nothing, creates no database and never prints a secret.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import Key
from joserfc.jws import JWSRegistry
from sqlalchemy.engine import make_url

from service.db.engine import is_sqlite, make_engine, make_sessionmaker
from service.ehr.keysets import KeySetUnavailable, fetch_key_set
from service.ehr.registry import EhrRegistration, load_registrations
from service.ehr.sealing import SealError, is_sealed, unseal
from service.outbound import OutboundError, fetch
from service.settings import Settings

Status = Literal["ok", "warn", "fail"]
SMART_DEADLINE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the report."""

    area: str
    status: Status
    message: str

    @property
    def failed(self) -> bool:
        return self.status == "fail"


async def diagnose(settings: Settings, http: httpx.AsyncClient | None = None) -> list[Finding]:
    """Run every check; never raises for a problem it can report."""
    findings = check_configuration(settings)
    database, registrations = await check_database(settings)
    findings += database
    findings += check_content(settings)
    findings.append(check_accreditation(settings))
    findings += await check_shared_state(settings)
    async with httpx.AsyncClient(follow_redirects=False) as own_http:
        findings += check_client_secrets(registrations, settings)
        findings += await check_key_sets(registrations, settings, http or own_http)
        findings += await check_smart(registrations, http or own_http)
    return findings


def check_configuration(settings: Settings) -> list[Finding]:
    """Settings already validated; report what matters for a deployment."""
    findings = [
        Finding(
            "configuration",
            "ok",
            f"environment={settings.environment}, public URL {settings.public_url}",
        )
    ]
    if not settings.public_url.startswith("https://"):
        status: Status = "fail" if settings.environment != "development" else "warn"
        findings.append(
            Finding(
                "configuration",
                status,
                "BEDSIDE_PUBLIC_URL is not https: EHRs put this URL in the "
                "JWT `aud`; use https outside local development",
            )
        )
    if settings.environment == "production" and not settings.redis_url:
        findings.append(
            Finding(
                "configuration",
                "warn",
                "no BEDSIDE_REDIS_URL: more than one worker will not share "
                "replay caches, key caches or sessions",
            )
        )
    if settings.admin_token is None:
        findings.append(
            Finding("configuration", "ok", "admin API disabled (BEDSIDE_ADMIN_TOKEN not set)")
        )
    return findings


async def check_database(settings: Settings) -> tuple[list[Finding], list[EhrRegistration]]:
    """Reachable, migrated to head; returns the registrations when it can read them."""
    from service.db.migrate import applied_revisions, current_heads

    url = settings.resolved_database_url
    shown = make_url(url).render_as_string(hide_password=True)
    if is_sqlite(url) and not Path(make_url(url).database or "").exists():
        return [
            Finding(
                "database",
                "fail",
                f"{shown} does not exist yet: `bedside serve` creates and migrates it",
            )
        ], []
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            heads = await applied_revisions(connection)
        if heads != current_heads():
            return [
                Finding(
                    "database",
                    "fail",
                    f"{shown} is at revision "
                    f"{', '.join(sorted(heads)) or 'none'}, the code expects "
                    f"{', '.join(sorted(current_heads()))}: restart `bedside serve` "
                    "(it migrates on start)",
                )
            ], []
        async with make_sessionmaker(engine)() as session:
            registrations = list(await load_registrations(session))
    except Exception as exc:  # any driver error is a finding, not a crash
        return [Finding("database", "fail", f"{shown} unreachable: {_short(exc)}")], []
    finally:
        await engine.dispose()
    return [Finding("database", "ok", f"{shown} reachable, migrations at head")], registrations


def check_content(settings: Settings, today: date | None = None) -> list[Finding]:
    """The content library loads, is not empty, and cites current editions (`today`)."""
    from service.cards.library import BUNDLED_DIR
    from service.cards.loader import read_library
    from service.cards.sources import STALE

    try:
        loaded = read_library(settings.content_dir or BUNDLED_DIR, today=today or date.today())
    except Exception as exc:  # a broken library is a finding
        return [Finding("content", "fail", f"content library does not load: {_short(exc)}")]
    if loaded.errors:
        first = loaded.errors[0]
        return [
            Finding(
                "content",
                "fail",
                f"content library does not load: {len(loaded.errors)} errors, the first "
                f"{first}; run `bedside content check`",
            )
        ]
    if not loaded.items:
        return [Finding("content", "fail", "content library is empty")]
    source = settings.content_dir or "bundled library"
    findings = [Finding("content", "ok", f"{len(loaded.items)} content items loaded from {source}")]
    stale = sorted({Path(issue.file).stem for issue in loaded.warnings if issue.tag == STALE})
    if stale:
        shown = ", ".join(stale[:5]) + (f" and {len(stale) - 5} more" if len(stale) > 5 else "")
        findings.append(
            Finding(
                "content",
                "warn",
                f"{len(stale)} items cite a superseded or unverified edition ({shown}); "
                "`bedside content check --today` lists them",
            )
        )
    return findings


def check_accreditation(settings: Settings) -> Finding:
    """The credit rules load and hold the provider's own accreditation details: a bundled
    demo value left in production would print on every certificate."""
    from service.credit.rules import PLACEHOLDER, RulesError, load_rules

    try:
        rules = load_rules(settings.credit_rules_file)
    except RulesError as exc:
        return Finding("accreditation", "fail", _short(exc))
    placeholders = rules.placeholders()
    if not placeholders:
        return Finding("accreditation", "ok", f"accredited provider: {rules.provider.name}")
    status: Status = "fail" if settings.environment == "production" else "warn"
    shown = ", ".join(placeholders[:4]) + (" ..." if len(placeholders) > 4 else "")
    return Finding(
        "accreditation",
        status,
        f"{len(placeholders)} credit-rules values are {PLACEHOLDER} placeholders ({shown}): "
        "set the provider's name, address, ACCME id, statements and planners in "
        "BEDSIDE_CREDIT_RULES_FILE",
    )


async def check_shared_state(settings: Settings) -> list[Finding]:
    """Redis answers, when configured."""
    if not settings.redis_url:
        return [Finding("shared state", "ok", "in memory (single worker)")]
    from service.shared_state import RedisState

    state = RedisState(settings.redis_url)
    try:
        await state.get("doctor:ping")
    except Exception as exc:  # an unreachable Redis is a finding
        return [Finding("shared state", "fail", f"Redis unreachable: {_short(exc)}")]
    finally:
        await state.close()
    return [Finding("shared state", "ok", "Redis reachable")]


async def check_key_sets(
    registrations: list[EhrRegistration], settings: Settings, http: httpx.AsyncClient
) -> list[Finding]:
    """Each registered key set URL (and allowlisted jku) is reachable and usable."""
    if not registrations:
        return [Finding("EHRs", "warn", "no EHR registered (`bedside ehr add`)")]
    checks = [
        (registration, url)
        for registration in registrations
        for url in (registration.jwks_url, *registration.jku_allowlist)
    ]
    return list(
        await asyncio.gather(
            *(_check_key_set(registration, url, settings, http) for registration, url in checks)
        )
    )


async def _check_key_set(
    registration: EhrRegistration, url: str, settings: Settings, http: httpx.AsyncClient
) -> Finding:
    area = _area(registration)
    try:
        keys = await fetch_key_set(http, url)
    except KeySetUnavailable as exc:
        cause = exc.__cause__
        unreachable = isinstance(cause, OutboundError) and not cause.reason.startswith("status_")
        return Finding(area, "fail", f"key set {url}: {why_failed(exc) if unreachable else exc}")
    usable = [key for key in keys.keys if usable_algorithms(key, settings.jwt_algorithms)]
    if not usable:
        return Finding(
            area,
            "fail",
            f"key set {url}: no key for an allowed algorithm "
            f"({', '.join(settings.jwt_algorithms)})",
        )
    algorithms = sorted(
        {alg for key in usable for alg in usable_algorithms(key, settings.jwt_algorithms)}
    )
    status: Status = "ok"
    if settings.environment == "production" and url.startswith("http://"):
        status = "warn"
    return Finding(
        area, status, f"key set {url}: {len(usable)} usable key(s) ({', '.join(algorithms)})"
    )


async def check_smart(
    registrations: list[EhrRegistration], http: httpx.AsyncClient
) -> list[Finding]:
    """For EHRs with a FHIR base: SMART discovery answers and a client id is registered."""
    with_fhir = [r for r in registrations if r.fhir_base]
    return list(await asyncio.gather(*(_check_smart(r, http) for r in with_fhir)))


async def _check_smart(registration: EhrRegistration, http: httpx.AsyncClient) -> Finding:
    area = _area(registration)
    url = f"{registration.fhir_base}/.well-known/smart-configuration"
    if not registration.client_ids:
        return Finding(area, "warn", "FHIR base set but no --client-id: the app cannot launch")
    try:
        answer = await fetch(
            http,
            "GET",
            url,
            max_bytes=256 * 1024,
            deadline=SMART_DEADLINE_SECONDS,
            headers={"Accept": "application/json"},
        )
        document = answer.json()
    except OutboundError as exc:
        why = f"unusable (HTTP {exc.status})" if exc.reason.startswith("status_") else None
        return Finding(area, "warn", f"SMART configuration {url}: {why or why_failed(exc)}")
    endpoints = ("authorization_endpoint", "token_endpoint")
    if not isinstance(document, dict) or not all(document.get(e) for e in endpoints):
        return Finding(area, "warn", f"SMART configuration {url}: unusable (no endpoints)")
    return Finding(area, "ok", f"SMART configuration {url}: authorize and token endpoints")


def check_client_secrets(registrations: list[EhrRegistration], settings: Settings) -> list[Finding]:
    """Client secrets open with this server secret (service/ehr/sealing.py); one stored in
    clear by an older version is a warning."""
    findings = []
    for registration in registrations:
        stored = registration.client_secret
        if stored is None:
            continue
        if not is_sealed(stored):
            findings.append(
                Finding(
                    _area(registration),
                    "warn",
                    "client secret stored in clear (registered before sealing): register it again",
                )
            )
            continue
        try:
            unseal(
                settings.resolved_secret_key(),
                stored,
                issuer=registration.issuer,
                tenant_key=registration.tenant or "",
            )
        except SealError:
            findings.append(
                Finding(
                    _area(registration),
                    "fail",
                    "client secret does not open with BEDSIDE_SECRET_KEY (changed?): "
                    "register it again",
                )
            )
    return findings


def _area(registration: EhrRegistration) -> str:
    tenant = f" ({registration.tenant})" if registration.tenant else ""
    return f"EHR {registration.issuer}{tenant}"


def usable_algorithms(key: Key, allowed: list[str]) -> list[str]:
    """The allowed asymmetric algorithms this key can verify (type, curve, `alg`, `use`)."""
    names = []
    for name in allowed:
        model = JWSRegistry.algorithms.get(name)
        if model is None or model.key_type == "oct":
            continue
        try:
            model.check_key(key)
        except JoseError:
            continue
        names.append(name)
    return names


def render_report(findings: list[Finding]) -> str:
    """The report as printed by `bedside doctor`."""
    labels = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}
    lines = ["Bedside doctor"]
    lines += [f"  {labels[f.status]}  {f.area}: {f.message}" for f in findings]
    failed = sum(f.status == "fail" for f in findings)
    warned = sum(f.status == "warn" for f in findings)
    lines.append(
        f"{failed} problem(s), {warned} warning(s)." if failed or warned else "All checks passed."
    )
    return "\n".join(lines)


def why_failed(exc: BaseException) -> str:
    """A failed call in plain words for hospital IT, with the exception's type name to
    search for: `unreachable: connection refused (ConnectError)`, `timed out (ReadTimeout)`,
    `TLS error: certificate has expired (ConnectError)`."""
    chain = list(_causes(exc))
    transport = next((e for e in chain if isinstance(e, httpx.HTTPError)), None)
    shown = type(transport or chain[-1]).__name__
    tls = next((e for e in chain if isinstance(e, ssl.SSLError)), None)
    text = " ".join(str(e) for e in chain).lower()
    if tls is not None or "certificate" in text or "ssl" in text:
        detail = getattr(tls, "verify_message", None) or getattr(tls, "reason", None)
        return f"TLS error{f': {detail}' if detail else ''} ({shown})"
    if any(isinstance(e, OutboundError) and e.reason == "deadline" for e in chain):
        return "timed out (no whole answer within the deadline)"
    if any(isinstance(e, httpx.TimeoutException | TimeoutError) for e in chain):
        return f"timed out ({shown})"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text:
        return f"unreachable: connection refused ({shown})"
    if any(isinstance(e, socket.gaierror) for e in chain) or "name or service" in text:
        return f"unreachable: host not found ({shown})"
    if any(isinstance(e, ConnectionResetError) for e in chain) or "reset" in text:
        return f"unreachable: connection reset ({shown})"
    return f"unreachable ({shown})"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and what caused it, outermost first (httpx -> httpcore -> OSError)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _short(exc: BaseException) -> str:
    first_line = (str(exc).splitlines() or [""])[0][:200]
    return f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__
