"""`bedside doctor`: a readable report and a non-zero exit on problems."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
import yaml

from service.cli import main
from service.credit.rules import DEFAULT_RULES_FILE, load_rules
from service.db.migrate import upgrade
from tests.cards.factories import item_data, write_library
from tests.hooks.jwt_factory import FakeEhr

JWKS_URL = "https://ehr.example.org/jwks"


def _own_rules(folder: Path) -> Path:
    """The bundled credit rules with the provider's own values in place of the demo ones."""
    text = DEFAULT_RULES_FILE.read_text(encoding="utf-8")
    text = text.replace("DEMO-0000000", "4001234").replace("DEMO: ", "").replace("DEMO ", "")
    path = folder / "credit_rules.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_rules(path).placeholders() == []
    return path


@pytest.fixture(autouse=True)
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BEDSIDE_DATABASE_URL", f"sqlite:///{tmp_path / 'doctor.db'}")
    monkeypatch.setenv("BEDSIDE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BEDSIDE_PUBLIC_URL", "https://bedside.test")
    items = [item_data(id=f"item-{n}") for n in range(3)]
    monkeypatch.setenv("BEDSIDE_CONTENT_DIR", str(write_library(tmp_path / "content", items)))
    monkeypatch.setenv("BEDSIDE_CREDIT_RULES_FILE", str(_own_rules(tmp_path)))
    return tmp_path


@pytest.fixture
def jwks_mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield router


def _register(*extra: str) -> None:
    assert (
        main(["ehr", "add", "--issuer", "https://ehr.example.org", "--jwks-url", JWKS_URL, *extra])
        == 0
    )


def _doctor(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["doctor"])
    return code, capsys.readouterr().out


def test_healthy_installation(
    jwks_mock: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    jwks_mock.get(JWKS_URL).mock(return_value=httpx.Response(200, json=FakeEhr().jwks()))
    _register()
    code, out = _doctor(capsys)
    assert code == 0, out
    assert "migrations at head" in out
    assert "3 content items" in out
    assert "1 usable key(s) (ES384)" in out
    assert "All checks passed." in out


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(503), "HTTP 503"),
        (httpx.Response(200, text="not json"), "not JSON"),
        (httpx.Response(200, json={"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}), "no usable"),
    ],
)
def test_broken_key_set(
    jwks_mock: respx.MockRouter,
    capsys: pytest.CaptureFixture[str],
    response: httpx.Response,
    message: str,
) -> None:
    jwks_mock.get(JWKS_URL).mock(return_value=response)
    _register()
    code, out = _doctor(capsys)
    assert code == 1
    assert "FAIL  EHR https://ehr.example.org" in out
    assert message in out


def test_key_for_a_disallowed_algorithm(
    jwks_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    jwks_mock.get(JWKS_URL).mock(return_value=httpx.Response(200, json=FakeEhr(alg="ES256").jwks()))
    _register()
    monkeypatch.setenv("BEDSIDE_JWT_ALGORITHMS", "ES384,RS384")
    code, out = _doctor(capsys)
    assert code == 1
    assert "no key for an allowed algorithm" in out


def test_unreachable_key_set(
    jwks_mock: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    jwks_mock.get(JWKS_URL).mock(side_effect=httpx.ConnectError("refused"))
    _register()
    code, out = _doctor(capsys)
    assert code == 1
    assert "ConnectError" in out


def test_no_ehr_is_a_warning(capsys: pytest.CaptureFixture[str], environment: Path) -> None:
    upgrade(f"sqlite:///{environment / 'doctor.db'}")
    code, out = _doctor(capsys)
    assert code == 0
    assert "WARN  EHRs: no EHR registered" in out


def test_database_missing_or_not_migrated(
    environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _doctor(capsys)
    assert code == 1
    assert "does not exist yet" in out
    sqlite3.connect(environment / "doctor.db").close()
    code, out = _doctor(capsys)
    assert code == 1
    assert "at revision none" in out


def test_content_problems(
    monkeypatch: pytest.MonkeyPatch, environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade(f"sqlite:///{environment / 'doctor.db'}")
    broken = item_data(id="item-0", agee=3)
    write_library(environment / "content", [broken])
    code, out = _doctor(capsys)
    assert code == 1
    assert "FAIL  content: content library does not load: 1 errors, the first" in out
    assert "item-0.md:" in out
    assert "agee: unknown field" in out
    empty = write_library(environment / "empty", [])
    monkeypatch.setenv("BEDSIDE_CONTENT_DIR", str(empty))
    assert _doctor(capsys)[1].count("content library is empty") == 1


def test_stale_items_are_reported(
    monkeypatch: pytest.MonkeyPatch, environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade(f"sqlite:///{environment / 'doctor.db'}")
    source = {
        **item_data()["source"],
        "family": "uspstf-test",
        "edition": "2021",
        "verified": "2026-01-10",
    }
    content = write_library(environment / "stale", [item_data(id="item-1", source=source)])
    monkeypatch.setenv("BEDSIDE_CONTENT_DIR", str(content))
    family = {
        "title": "Test topic",
        "organization": "USPSTF",
        "edition": "2026",
        "published": "2026-03-01",
        "cadence": "irregular",
        "url": "https://example.org/rec",
        "checked": "2026-03-02",
    }
    (content / "sources.yaml").write_text(
        yaml.safe_dump({"families": {"uspstf-test": family}}), encoding="utf-8"
    )
    code, out = _doctor(capsys)
    assert code == 0  # stale content still shows; the report says what to re-read
    assert "WARN  content: 1 items cite a superseded or unverified edition (item-1)" in out


def test_demo_accreditation_values_fail_in_production(
    monkeypatch: pytest.MonkeyPatch, environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade(f"sqlite:///{environment / 'doctor.db'}")
    monkeypatch.setenv("BEDSIDE_CREDIT_RULES_FILE", str(DEFAULT_RULES_FILE))
    code, out = _doctor(capsys)
    assert "WARN  accreditation: 12 credit-rules values are DEMO placeholders" in out
    assert "provider.accme_id" in out or "..." in out
    monkeypatch.setenv("BEDSIDE_ENVIRONMENT", "production")
    monkeypatch.setenv("BEDSIDE_SECRET_KEY", "s" * 40)
    code, out = _doctor(capsys)
    assert code == 1
    assert "FAIL  accreditation: 12 credit-rules values are DEMO placeholders" in out
    monkeypatch.setenv("BEDSIDE_CREDIT_RULES_FILE", str(_own_rules(environment)))
    assert "accreditation: accredited provider: Bedside Continuing Education" in _doctor(capsys)[1]


def test_public_url_and_configuration(
    monkeypatch: pytest.MonkeyPatch, environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade(f"sqlite:///{environment / 'doctor.db'}")
    monkeypatch.setenv("BEDSIDE_PUBLIC_URL", "http://bedside.example")
    assert "WARN  configuration: BEDSIDE_PUBLIC_URL is not https" in _doctor(capsys)[1]
    monkeypatch.setenv("BEDSIDE_ENVIRONMENT", "production")
    code, out = _doctor(capsys)
    assert code == 1
    assert out.startswith("FAIL  configuration")


def test_smart_configuration_of_the_fhir_base(
    jwks_mock: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    jwks_mock.get(JWKS_URL).mock(return_value=httpx.Response(200, json=FakeEhr().jwks()))
    smart = jwks_mock.get("https://ehr.example.org/fhir/.well-known/smart-configuration")
    smart.mock(
        return_value=httpx.Response(
            200,
            json={"authorization_endpoint": "https://e/authorize", "token_endpoint": "https://e/t"},
        )
    )
    _register("--fhir-base", "https://ehr.example.org/fhir", "--client-id", "bedside")
    code, out = _doctor(capsys)
    assert code == 0, out
    assert "authorize and token endpoints" in out

    smart.mock(return_value=httpx.Response(404))
    code, out = _doctor(capsys)
    assert code == 0
    assert "WARN  EHR https://ehr.example.org: SMART configuration" in out
    assert "unusable (HTTP 404)" in out


def test_fhir_base_without_client_id(
    jwks_mock: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    jwks_mock.get(JWKS_URL).mock(return_value=httpx.Response(200, json=FakeEhr().jwks()))
    _register("--fhir-base", "https://ehr.example.org/fhir")
    assert "no --client-id: the app cannot launch" in _doctor(capsys)[1]
