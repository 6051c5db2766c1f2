"""Issue 18: `bedside credential verify FILE` without `--jwks` verifies with this deployment's
published keys (the signing key file of Settings) and says clearly when there are none."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from joserfc.jwk import ECKey, KeySet

from service.cli import main
from service.credit.exports import credentials as vc
from service.keys import SigningKeys

PUBLIC = "https://bedside.test"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("BEDSIDE_SIGNING_KEY_FILE", "BEDSIDE_ENVIRONMENT", "BEDSIDE_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BEDSIDE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _key_file(path: Path) -> SigningKeys:
    key = ECKey.generate_key("P-384", parameters={"alg": "ES384", "use": "sig"}, private=True)
    key.ensure_kid()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"keys": [key.as_dict(private=True)]}))
    return SigningKeys(KeySet([key]))


def _verify(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["credential", "verify", *arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_configured_signing_key_file_is_used(
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key_file = tmp_path / "keys" / "signing.json"
    keys = _key_file(key_file)
    monkeypatch.setenv("BEDSIDE_SIGNING_KEY_FILE", str(key_file))
    credential = {
        "id": "urn:uuid:0b6c4d52-4f8a-4a4e-9a43-7c2f6f0f7d10",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": PUBLIC, "name": "Bedside test provider"},
        "credentialSubject": {"id": f"{PUBLIC}/learners/x"},
    }
    badge = tmp_path / "badge.jwt"
    badge.write_text(vc.sign(credential, keys, f"{PUBLIC}/learners/x", datetime.now(UTC)))
    code, out, err = _verify(capsys, str(badge))
    assert (code, err) == (0, "")
    assert "valid: yes" in out
    assert not data_dir.exists()  # verifying never mints a key in the data dir


def test_without_keys_the_error_says_where_it_looked_and_what_to_do(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    badge = tmp_path / "badge.jwt"
    badge.write_text("a.b.c")
    code, out, err = _verify(capsys, str(badge))
    assert code == 1
    assert out == ""
    assert err == (
        f"error: no signing keys of this deployment at {data_dir / 'signing-jwks.json'}: "
        "run where the service runs (same BEDSIDE_SIGNING_KEY_FILE or BEDSIDE_DATA_DIR), "
        "or pass --jwks FILE\n"
    )
    assert not data_dir.exists()


def test_an_unusable_key_file_is_one_line_not_a_traceback(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir.mkdir()
    (data_dir / "signing-jwks.json").write_text("{}")
    badge = tmp_path / "badge.jwt"
    badge.write_text("a.b.c")
    code, _, err = _verify(capsys, str(badge))
    assert code == 1
    assert err == f"error: {data_dir / 'signing-jwks.json'}: not a JSON Web Key Set\n"


def test_a_missing_credential_file_is_named(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    del data_dir
    code, _, err = _verify(capsys, str(tmp_path / "absent.jwt"))
    assert code == 1
    assert err == f"error: cannot read {tmp_path / 'absent.jwt'}: No such file or directory\n"
