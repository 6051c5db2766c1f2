"""EHR client secrets at rest: sealed, bound to their registration and the server secret,
never in a database dump, and `bedside doctor` says when one does not open."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

import pytest

from service.cli import main
from service.ehr.sealing import SealError, is_sealed, seal, unseal

KEY = b"server-secret-one-0123456789abcdef0123456789"
OTHER_KEY = b"server-secret-two-0123456789abcdef0123456789"
ISSUER = "https://ehr.example.org"
SECRET = "s3cr3t-client-value"


def test_round_trip_and_fresh_nonce() -> None:
    first = seal(KEY, SECRET, issuer=ISSUER, tenant_key="a")
    second = seal(KEY, SECRET, issuer=ISSUER, tenant_key="a")
    assert is_sealed(first)
    assert first != second
    assert SECRET not in first
    assert unseal(KEY, first, issuer=ISSUER, tenant_key="a") == SECRET


@pytest.mark.parametrize(
    ("key", "issuer", "tenant"),
    [
        (OTHER_KEY, ISSUER, "a"),  # the server secret was rotated
        (KEY, "https://other.example.org", "a"),  # copied onto another EHR's row
        (KEY, ISSUER, "b"),  # or another tenant's
    ],
)
def test_does_not_open_elsewhere(key: bytes, issuer: str, tenant: str) -> None:
    sealed = seal(KEY, SECRET, issuer=ISSUER, tenant_key="a")
    with pytest.raises(SealError):
        unseal(key, sealed, issuer=issuer, tenant_key=tenant)


def test_tampering_is_detected() -> None:
    sealed = seal(KEY, SECRET, issuer=ISSUER, tenant_key="")
    raw = bytearray(base64.urlsafe_b64decode(sealed.removeprefix("sealed:v1:")))
    raw[-1] ^= 0x01  # one bit of the authentication tag (a character flip may hit padding)
    flipped = "sealed:v1:" + base64.urlsafe_b64encode(bytes(raw)).decode()
    for altered in (flipped, sealed[:-4], "sealed:v1:!!not-base64!!"):
        with pytest.raises(SealError):
            unseal(KEY, altered, issuer=ISSUER, tenant_key="")


def test_a_secret_stored_in_clear_is_still_read() -> None:
    assert unseal(KEY, "legacy-plain", issuer=ISSUER, tenant_key="") == "legacy-plain"


@pytest.fixture
def installation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    database = tmp_path / "bedside.db"
    monkeypatch.setenv("BEDSIDE_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("BEDSIDE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BEDSIDE_SECRET_KEY", KEY.decode())
    monkeypatch.setattr("service.cards.library.load_library", lambda _dir=None, **_: [1])
    monkeypatch.setattr("service.doctor.check_key_sets", _no_findings)
    monkeypatch.setattr("service.doctor.check_smart", _no_findings)
    assert main(["ehr", "list"]) == 0  # creates and migrates the database
    return database


async def _no_findings(*_: object) -> list[object]:
    return []


def _stored_secret(database: Path) -> str:
    with sqlite3.connect(database) as connection:
        (value,) = connection.execute("SELECT client_secret FROM ehr_registration").fetchone()
    return str(value)


def _doctor(capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    main(["doctor"])
    return capsys.readouterr().out


def test_cli_stores_it_sealed_and_doctor_reads_it(
    installation: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["ehr", "add", "--issuer", ISSUER, "--jwks-url", f"{ISSUER}/jwks"]
    assert main([*args, "--client-id", "app", "--client-secret", SECRET]) == 0
    stored = _stored_secret(installation)
    assert is_sealed(stored)
    for file in installation.parent.glob(installation.name + "*"):  # the WAL files too
        assert SECRET.encode() not in file.read_bytes()
    assert unseal(KEY, stored, issuer=ISSUER, tenant_key="") == SECRET
    assert "client secret" not in _doctor(capsys)


def test_doctor_fails_when_the_server_secret_changed(
    installation: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["ehr", "add", "--issuer", ISSUER, "--jwks-url", f"{ISSUER}/jwks"]
    assert main([*args, "--client-id", "app", "--client-secret", SECRET]) == 0
    monkeypatch.setenv("BEDSIDE_SECRET_KEY", OTHER_KEY.decode())
    report = _doctor(capsys)
    assert "FAIL  EHR https://ehr.example.org: client secret does not open" in report


def test_doctor_warns_about_a_secret_stored_in_clear(
    installation: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["ehr", "add", "--issuer", ISSUER, "--jwks-url", f"{ISSUER}/jwks"]
    assert main([*args, "--client-id", "app", "--client-secret", SECRET]) == 0
    with sqlite3.connect(installation) as connection:
        connection.execute("UPDATE ehr_registration SET client_secret = 'from-an-old-version'")
    assert "WARN  EHR https://ehr.example.org: client secret stored in clear" in _doctor(capsys)
