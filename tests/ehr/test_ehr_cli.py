"""`bedside ehr add|list|remove`, run through service.cli.main like a shell would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from joserfc.jwk import ECKey

from service.cli import main

SECRET = "cli-secret-never-printed"


@pytest.fixture(autouse=True)
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BEDSIDE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("BEDSIDE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def _listing(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    capsys.readouterr()
    assert main(["ehr", "list", "--json"]) == 0
    ehrs: list[dict[str, object]] = json.loads(capsys.readouterr().out)["ehrs"]
    return ehrs


def test_add_list_remove_by_id(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "ehr",
                "add",
                "--issuer",
                "https://ehr.example.org",
                "--jwks-url",
                "https://ehr.example.org/jwks",
                "--tenant",
                "t1",
                "--fhir-base",
                "https://ehr.example.org/fhir",
                "--client-id",
                "a",
                "--client-id",
                "b",
                "--client-secret",
                SECRET,
                "--jku",
                "https://ehr.example.org/jwks2",
            ]
        )
        == 0
    )
    assert SECRET not in capsys.readouterr().out

    [ehr] = _listing(capsys)
    assert ehr["client_ids"] == ["a", "b"]
    assert ehr["client_auth"] == "client_secret_basic"
    assert ehr["jku_allowlist"] == ["https://ehr.example.org/jwks2"]
    assert main(["ehr", "list"]) == 0
    out = capsys.readouterr().out
    assert "https://ehr.example.org" in out
    assert SECRET not in out

    assert main(["ehr", "remove", str(ehr["id"])]) == 0
    assert _listing(capsys) == []


def test_remove_by_issuer_and_tenant(capsys: pytest.CaptureFixture[str]) -> None:
    for tenant in ("t1", "t2"):
        assert (
            main(
                [
                    "ehr",
                    "add",
                    "--issuer",
                    "https://ehr.example.org",
                    "--jwks-url",
                    "https://ehr.example.org/jwks",
                    "--tenant",
                    tenant,
                ]
            )
            == 0
        )
    assert main(["ehr", "remove", "--issuer", "https://ehr.example.org", "--tenant", "t1"]) == 0
    assert [ehr["tenant"] for ehr in _listing(capsys)] == ["t2"]
    assert main(["ehr", "remove", "--issuer", "https://ehr.example.org"]) == 1
    assert "no EHR registered" in capsys.readouterr().err


def test_private_key_jwt_with_a_client_jwks(
    environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = ECKey.generate_key("P-384", private=True, auto_kid=True)
    jwks_file = environment / "client.jwks.json"
    jwks_file.write_text(json.dumps({"keys": [key.as_dict(private=True)]}))
    assert (
        main(
            [
                "ehr",
                "add",
                "--issuer",
                "https://ehr.example.org",
                "--jwks-url",
                "https://ehr.example.org/jwks",
                "--client-id",
                "x",
                "--client-jwks",
                str(jwks_file),
            ]
        )
        == 0
    )
    [ehr] = _listing(capsys)
    assert (ehr["client_auth"], ehr["has_client_jwks"]) == ("private_key_jwt", True)
    assert str(key.as_dict(private=True)["d"]) not in json.dumps(ehr)


def test_private_key_jwt_with_bedside_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "ehr",
                "add",
                "--issuer",
                "https://ehr.example.org",
                "--jwks-url",
                "https://ehr.example.org/jwks",
                "--client-auth",
                "private_key_jwt",
            ]
        )
        == 0
    )
    [ehr] = _listing(capsys)
    assert (ehr["client_auth"], ehr["has_client_jwks"]) == ("private_key_jwt", False)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--jwks-url", "http://ehr.example.org/jwks"], "https"),
        (
            ["--jwks-url", "https://ehr.example.org/jwks", "--fhir-base", "ehr.example.org"],
            "absolute URL",
        ),
        (
            ["--jwks-url", "https://ehr.example.org/jwks", "--client-auth", "client_secret_basic"],
            "needs a client secret",
        ),
    ],
)
def test_invalid_input(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ehr", "add", "--issuer", "https://ehr.example.org", *argv]) == 1
    assert message in capsys.readouterr().err


def test_duplicate_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "ehr",
        "add",
        "--issuer",
        "https://ehr.example.org",
        "--jwks-url",
        "https://ehr.example.org/jwks",
    ]
    assert main(argv) == 0
    assert main(argv) == 1
    assert "already registered" in capsys.readouterr().err


def test_remove_needs_an_id_or_an_issuer(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ehr", "remove"]) == 2
    assert main(["ehr", "remove", "not-a-uuid"]) == 2
    assert main(["ehr", "remove", "00000000-0000-0000-0000-000000000000"]) == 1
    assert "error" in capsys.readouterr().err


def test_empty_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ehr", "list"]) == 0
    assert "no EHR registered" in capsys.readouterr().out


def test_invalid_configuration(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BEDSIDE_ENVIRONMENT", "production")
    assert main(["ehr", "list"]) == 1
    assert "invalid configuration" in capsys.readouterr().err


def test_unreadable_client_jwks(environment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "ehr",
        "add",
        "--issuer",
        "https://ehr.example.org",
        "--jwks-url",
        "https://ehr.example.org/jwks",
        "--client-jwks",
        str(environment / "missing.json"),
    ]
    assert main(argv) == 2
    assert "cannot read" in capsys.readouterr().err
