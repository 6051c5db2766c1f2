"""Static and supply-chain checks: the AST rules (and unit tests of the rules themselves),
bandit with no high-severity finding, pip-audit with no known vulnerability."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability.static_rules import check_source, check_tree

ROOT = Path(__file__).resolve().parents[2]
SOURCES = (ROOT / "service", ROOT / "smart_app")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _rules(source: str) -> list[str]:
    return [violation.rule for violation in check_source(source)]


def test_application_source_obeys_the_rules() -> None:
    violations = check_tree(*SOURCES)
    assert not violations, "\n".join(str(v) for v in violations)


@pytest.mark.parametrize(
    "source",
    [
        "from joserfc import jwt\njwt.decode(token, key)",
        "from joserfc import jws\njws.deserialize_compact(token, key)",
        "from joserfc import jws\njws.deserialize_json(token, key)",
        "import jwt\njwt.decode(token, key, algorithms=None)",
        "import jwt\njwt.decode(token, key, None)",
        "import jwt\njwt.decode(token, key, **options)",
        "from authlib.jose import jwt\nclaims = jwt.decode(s, key)",
        "from joserfc.jwt import decode\ndecode(token, key)",
        "from joserfc.jws import deserialize_compact as dc\ndc(token, key)",
    ],
)
def test_rule_catches_unpinned_verification(source: str) -> None:
    assert _rules(source) == ["unpinned-verification"]


@pytest.mark.parametrize(
    "source",
    [
        "from joserfc import jwt\njwt.decode(token, key, algorithms=['ES384'])",
        "from joserfc import jws\njws.deserialize_compact(token, key, algorithms=ALGS)",
        "import jwt\njwt.decode(token, key, ['RS384'])",
        "from joserfc.jwt import decode\ndecode(token, key, algorithms=['ES384'])",
        "data.decode('utf-8')",  # bytes.decode is no verification
        "base64.urlsafe_b64decode(x)",
        "await runtime.jwt.verify(authorization, audience, endpoint)",  # our verifier
    ],
)
def test_rule_accepts_pinned_verification(source: str) -> None:
    assert _rules(source) == []


@pytest.mark.parametrize(
    "source",
    [
        "log.info('header %s', request.headers['Authorization'])",
        "logger.debug('token: %s', access_token)",
        "logging.warning(f'got {token.id_token}')",
        "log.error('refresh failed', extra={'refresh_token': value})",
        "self.log.info('secret %s', settings.client_secret)",
        "log.exception('oops', extra={'fields': {'authorization': header}})",
        "_logger.log(10, 'x %s', response.json()['access_token'])",
        "log.info('%s', headers.get('authorization'))",
        "log.info('Access-Token %s', value)",
    ],
)
def test_rule_catches_credentials_in_logs(source: str) -> None:
    assert _rules(source) == ["credential-in-log"]


@pytest.mark.parametrize(
    "source",
    [
        "log.info('EHR JWT rejected', extra={'fields': {'reason': reason}})",
        "log.exception('could not write the authentication audit record')",
        "print(access_token)",  # not a logger (ruff's T20 forbids print anyway)
        "cache.info(access_token)",  # not a logger
        "headers = {'Authorization': f'Bearer {token}'}",  # not a log call
    ],
)
def test_rule_accepts_clean_logging(source: str) -> None:
    assert _rules(source) == []


def _tool_or_skip(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        if IN_CI:
            pytest.fail(f"{module} is required under CI=true (add it to the test extra)")
        pytest.skip(f"{module} is not installed")


def test_bandit_finds_no_high_severity_issue(tmp_path: Path) -> None:
    _tool_or_skip("bandit")
    report = tmp_path / "bandit.json"
    command = [sys.executable, "-m", "bandit", "-q", "-r", *map(str, SOURCES)]
    command += ["--severity-level", "high", "-f", "json", "-o", str(report)]
    subprocess.run(  # fixed arguments, our own interpreter
        command,
        check=False,
        timeout=120,
        capture_output=True,
    )
    results = json.loads(report.read_text())
    assert results["errors"] == []
    high = [f"{r['filename']}:{r['line_number']} {r['test_id']}" for r in results["results"]]
    assert high == [], high


def _pypi_reachable() -> bool:
    try:
        with socket.create_connection(("pypi.org", 443), timeout=3):
            return True
    except OSError:
        return False


@pytest.mark.slow
def test_pip_audit_finds_no_known_vulnerability(tmp_path: Path) -> None:
    """The installed set (the project's dependencies as locked in this environment)."""
    _tool_or_skip("pip_audit")
    if not _pypi_reachable():
        pytest.skip("PyPI is unreachable: pip-audit cannot fetch advisories")
    report = tmp_path / "audit.json"
    command = [sys.executable, "-m", "pip_audit", "--skip-editable", "--progress-spinner", "off"]
    command += ["-f", "json", "-o", str(report)]
    subprocess.run(  # fixed arguments, our own interpreter
        command,
        check=False,
        timeout=600,
        capture_output=True,
    )
    dependencies = json.loads(report.read_text())["dependencies"]
    audited = [d for d in dependencies if "skip_reason" not in d]
    if not audited:
        pytest.skip("the advisory service answered for no package (no PyPI JSON API here)")
    vulnerable = {
        f"{d['name']} {d['version']}": [v["id"] for v in d["vulns"]]
        for d in audited
        if d.get("vulns")
    }
    assert vulnerable == {}
