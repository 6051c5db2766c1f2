"""Open Badges 3.0 and CLR-style credentials: signed VC-JWT, verified offline, tamper-evident;
the verify endpoint, the admin reversal endpoint and the `bedside credential verify` CLI."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from joserfc.jwk import ECKey, KeySet
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit import service as credit
from service.credit.rules import CreditRules
from service.db.engine import transaction
from service.keys import SigningKeys
from service.settings import Settings
from tests.credit.factories import NOW, make_item, make_patch, make_profile

Sessions = async_sessionmaker[AsyncSession]
LEARNER = "lrn_" + "d" * 40
PUBLIC = "https://bedside.test"


@pytest.fixture(scope="module")
def keys() -> SigningKeys:
    key = ECKey.generate_key("P-384", parameters={"alg": "ES384", "use": "sig"}, private=True)
    key.ensure_kid()
    return SigningKeys(KeySet([key]))


async def _claims(sessions: Sessions, rules: CreditRules, n: int = 2) -> list[uuid.UUID]:
    ids = []
    async with transaction(sessions) as session:
        await credit.update_profile(session, LEARNER, make_profile(), now=NOW)
        for i in range(n):
            cycle = await credit.start_cycle(
                session,
                learner_key=LEARNER,
                item=make_item(item_id=f"g{i}"),
                card_uuid=None,
                now=NOW,
            )
            await credit.update_cycle(session, LEARNER, cycle.id, make_patch(), now=NOW)
            result = await credit.claim(
                session, LEARNER, cycle.id, idempotency_key=f"k{i}", rules=rules, now=NOW
            )
            ids.append(result.entry.id)
    return ids


def _flip_one_byte(token: str) -> str:
    header, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw[raw.index(b"0.5")] = ord("9")  # 0.5 credits -> 9.5 credits
    tampered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    return ".".join([header, tampered, signature])


async def test_open_badge_verifies_and_tampering_fails(
    sessions: Sessions, rules: CreditRules, keys: SigningKeys
) -> None:
    entry_id, _ = await _claims(sessions, rules)
    async with transaction(sessions) as session:
        token = await credit.open_badge_credential(
            session, LEARNER, entry_id, signing_keys=keys, rules=rules, public_url=PUBLIC, now=NOW
        )
    report = credit.verify_credential(token, keys.public_jwks())
    assert report.valid, report.errors
    assert report.kind == "OpenBadgeCredential"
    assert report.issuer == rules.provider.name
    assert report.learner == "Ada Lovelace"
    assert report.credits == [
        {
            "credit_type": "ama-pra-1",
            "amount": 0.5,
            "activity_id": "BEDSIDE-POC-2026",
            "activity": "Bedside Internet Point-of-Care Learning 2026",
            "date": "2026-06-15",
        }
    ]
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "ES384", "kid": keys.kid, "typ": "JWT"}
    assert "1234567893" not in token
    assert "npi" not in token.lower()
    broken = credit.verify_credential(_flip_one_byte(token), keys.public_jwks())
    assert not broken.valid
    assert broken.errors


async def test_signature_from_another_key_fails(
    sessions: Sessions, rules: CreditRules, keys: SigningKeys
) -> None:
    entry_id, _ = await _claims(sessions, rules)
    async with transaction(sessions) as session:
        token = await credit.open_badge_credential(
            session, LEARNER, entry_id, signing_keys=keys, rules=rules, public_url=PUBLIC, now=NOW
        )
    other = ECKey.generate_key("P-384", parameters={"alg": "ES384"}, private=True)
    other_jwks = {"keys": [{**other.as_dict(private=False), "kid": keys.kid}]}
    assert not credit.verify_credential(token, other_jwks).valid
    assert not credit.verify_credential("not.a.jwt", keys.public_jwks()).valid


async def test_transcript_credential_skips_reversed(
    sessions: Sessions, rules: CreditRules, keys: SigningKeys
) -> None:
    first, _second = await _claims(sessions, rules)
    async with transaction(sessions) as session:
        await credit.reverse_entry(
            session, first, reason="error", actor="admin", rules=rules, now=NOW
        )
        token = await credit.transcript_credential(
            session, LEARNER, signing_keys=keys, rules=rules, public_url=PUBLIC, now=NOW
        )
    report = credit.verify_credential(token, keys.public_jwks())
    assert report.valid
    assert report.kind == "ClrCredential"
    assert [c["amount"] for c in report.credits] == [0.5]


async def test_verify_endpoint_and_admin_reversal(
    settings: Settings, rules: CreditRules, app_client: httpx.AsyncClient
) -> None:
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    (entry_id,) = await _claims(runtime.sessions, rules, n=1)
    async with transaction(runtime.sessions) as session:
        token = await credit.open_badge_credential(
            session,
            LEARNER,
            entry_id,
            signing_keys=runtime.signing_keys,
            rules=rules,
            public_url=PUBLIC,
        )
    ok = await app_client.post("/api/credentials/verify", json={"credential": token})
    bad = await app_client.post(
        "/api/credentials/verify", json={"credential": _flip_one_byte(token)}
    )
    assert ok.status_code == 200
    assert ok.json()["valid"] is True
    assert bad.status_code == 200
    assert bad.json()["valid"] is False
    path = f"/admin/credit/entries/{entry_id}/reverse"
    assert (await app_client.post(path, json={"reason": "x"})).status_code == 401
    auth = {"Authorization": "Bearer test-admin-token"}
    assert (await app_client.post(path, json={"reason": " "}, headers=auth)).status_code == 400
    done = await app_client.post(path, json={"reason": "entered in error"}, headers=auth)
    assert done.status_code == 200, done.text
    assert done.json()["amount"] == -0.5
    assert done.json()["reverses_id"] == str(entry_id)
    again = await app_client.post(path, json={"reason": "entered in error"}, headers=auth)
    assert again.json()["id"] == done.json()["id"]
    missing = await app_client.post(
        f"/admin/credit/entries/{uuid.uuid4()}/reverse", json={"reason": "x"}, headers=auth
    )
    assert missing.status_code == 404


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"BEDSIDE_DATA_DIR": str(tmp_path / "cli-data"), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


async def test_credential_verify_cli(
    sessions: Sessions, rules: CreditRules, keys: SigningKeys, tmp_path: Path
) -> None:
    entry_id, _ = await _claims(sessions, rules)
    async with transaction(sessions) as session:
        token = await credit.open_badge_credential(
            session, LEARNER, entry_id, signing_keys=keys, rules=rules, public_url=PUBLIC, now=NOW
        )
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(keys.public_jwks()))
    good, bad = tmp_path / "badge.jwt", tmp_path / "tampered.jwt"
    good.write_text(token + "\n")
    bad.write_text(_flip_one_byte(token))
    valid = _cli(tmp_path, "credential", "verify", str(good), "--jwks", str(jwks))
    assert valid.returncode == 0, valid.stderr
    assert "valid: yes" in valid.stdout
    assert rules.provider.name in valid.stdout
    assert "Ada Lovelace" in valid.stdout
    assert "0.5 ama-pra-1" in valid.stdout
    invalid = _cli(tmp_path, "credential", "verify", str(bad), "--jwks", str(jwks))
    assert invalid.returncode == 1
    assert "valid: no" in invalid.stdout
    assert _cli(tmp_path, "credential", "verify", str(tmp_path / "absent")).returncode == 1


async def test_credential_verify_cli_with_the_deployments_own_keys(
    sessions: Sessions, rules: CreditRules, tmp_path: Path
) -> None:
    key = ECKey.generate_key("P-384", parameters={"alg": "ES384", "use": "sig"}, private=True)
    key.ensure_kid()
    data_dir = tmp_path / "cli-data"
    data_dir.mkdir()
    (data_dir / "signing-jwks.json").write_text(json.dumps({"keys": [key.as_dict(private=True)]}))
    own = SigningKeys(KeySet([key]))
    entry_id, _ = await _claims(sessions, rules)
    async with transaction(sessions) as session:
        token = await credit.open_badge_credential(
            session, LEARNER, entry_id, signing_keys=own, rules=rules, public_url=PUBLIC
        )
    badge = tmp_path / "badge.json"
    badge.write_text(json.dumps({"credential": token}))
    assert _cli(tmp_path, "credential", "verify", str(badge)).returncode == 0
    (data_dir / "signing-jwks.json").unlink()
    missing = _cli(tmp_path, "credential", "verify", str(badge))
    assert missing.returncode == 1
    assert "--jwks" in missing.stderr
    assert not (data_dir / "signing-jwks.json").exists()  # verifying never mints a key
