"""Issue 18: `bedside doctor` says in plain words why a key set is unreachable (refused,
timed out, TLS), keeping the exception's type name."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

from service.cli import main
from service.credit.rules import DEFAULT_RULES_FILE
from service.doctor import why_failed
from service.outbound import OutboundError
from tests.cards.factories import item_data, write_library


@pytest.fixture(autouse=True)
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BEDSIDE_DATABASE_URL", f"sqlite:///{tmp_path / 'doctor.db'}")
    monkeypatch.setenv("BEDSIDE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BEDSIDE_CONTENT_DIR", str(write_library(tmp_path / "lib", [item_data()])))
    monkeypatch.setenv("BEDSIDE_CREDIT_RULES_FILE", str(DEFAULT_RULES_FILE))
    return tmp_path


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on (bound, never listening: refused while held)."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


def _doctor(capsys: pytest.CaptureFixture[str], jwks_url: str) -> str:
    issuer = "https://ehr.example.org"
    assert main(["ehr", "add", "--issuer", issuer, "--jwks-url", jwks_url]) == 0
    capsys.readouterr()
    assert main(["doctor"]) == 1
    return capsys.readouterr().out


def test_a_refused_connection_is_said_in_words(
    capsys: pytest.CaptureFixture[str], closed_port: int
) -> None:
    url = f"http://127.0.0.1:{closed_port}/jwks"
    out = _doctor(capsys, url)
    assert f"key set {url}: unreachable: connection refused (ConnectError)" in out


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (httpx.ConnectTimeout("timed out"), "timed out (ConnectTimeout)"),
        (httpx.ReadTimeout("timed out"), "timed out (ReadTimeout)"),
        (httpx.ConnectError("[Errno -2] Name or service not known"), "host not found"),
    ],
)
def test_timeouts_and_names_are_said_in_words(
    capsys: pytest.CaptureFixture[str], error: Exception, words: str
) -> None:
    url = "https://ehr.example.org/jwks"
    with respx.mock(assert_all_mocked=True) as router:
        router.get(url).mock(side_effect=error)
        out = _doctor(capsys, url)
    assert f"key set {url}: " in out
    assert words in out


def test_a_tls_failure_names_the_certificate_problem() -> None:
    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    verify.verify_message = "certificate has expired"
    transport = httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    transport.__cause__ = verify
    outbound = OutboundError("unreachable", detail="ConnectError")
    outbound.__cause__ = transport
    assert why_failed(outbound) == "TLS error: certificate has expired (ConnectError)"


def _past_the_deadline() -> None:
    try:
        raise TimeoutError
    except TimeoutError:
        raise OutboundError("deadline") from None  # as service/outbound.py raises it


def test_the_deadline_is_a_timeout() -> None:
    with pytest.raises(OutboundError) as caught:
        _past_the_deadline()
    assert why_failed(caught.value) == "timed out (no whole answer within the deadline)"
