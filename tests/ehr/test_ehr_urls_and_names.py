"""Issue 18: an EHR's URLs are checked where hospital IT types them (`bedside ehr add`, the
admin API), and a registration has a display name that the sign-in page shows."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.cli import main
from service.ehr.service import add_ehr

ADMIN = {"Authorization": "Bearer test-admin-token"}
ISSUER = "https://ehr.example.org"
JWKS = "https://ehr.example.org/jwks"


@pytest.fixture
def cli_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BEDSIDE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("BEDSIDE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


class _StubLibrary:
    def __len__(self) -> int:
        return 1


@pytest.fixture
def no_content(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's tests here are about registrations: keep the content library out."""
    monkeypatch.setattr("service.cards.library.load_library", lambda _dir=None, **_: _StubLibrary())


def _add(*extra: str, issuer: str = ISSUER, jwks: str = JWKS) -> int:
    return main(["ehr", "add", "--issuer", issuer, "--jwks-url", jwks, *extra])


@pytest.mark.usefixtures("cli_environment")
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"issuer": "not-a-url"}, "--issuer must be an absolute URL"),
        ({"issuer": "http://ehr.example.org"}, "--issuer must use https"),
        ({"jwks": "ftp://ehr.example.org/jwks"}, "--jwks-url must use https"),
        ({"extra": ("--fhir-base", "ehr.example.org/fhir")}, "--fhir-base must be an absolute"),
    ],
)
def test_ehr_add_refuses_an_invalid_url_in_one_line(
    capsys: pytest.CaptureFixture[str], arguments: dict[str, Any], message: str
) -> None:
    extra = arguments.pop("extra", ())
    assert _add(*extra, **arguments) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: {message}")
    assert captured.err.count("\n") == 1
    assert main(["ehr", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"ehrs": []}


@pytest.mark.usefixtures("cli_environment")
def test_ehr_add_accepts_http_on_loopback_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert _add(issuer="http://127.0.0.1:8001", jwks="http://localhost:8001/jwks") == 0
    assert "registered" in capsys.readouterr().out


@pytest.mark.usefixtures("cli_environment")
def test_ehr_add_name_is_stored_and_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert _add("--name", "St. Mary's Hospital", "--fhir-base", f"{ISSUER}/fhir") == 0
    capsys.readouterr()
    assert main(["ehr", "list", "--json"]) == 0
    [ehr] = json.loads(capsys.readouterr().out)["ehrs"]
    assert ehr["display_name"] == "St. Mary's Hospital"
    assert main(["ehr", "list"]) == 0
    assert "name       St. Mary's Hospital" in capsys.readouterr().out


@pytest.mark.usefixtures("cli_environment")
def test_ehr_add_refuses_an_empty_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert _add("--name", "  ") == 1
    assert "--name must have 1 to 200 characters" in capsys.readouterr().err


@pytest.mark.usefixtures("no_content")
@pytest.mark.parametrize(
    ("field", "value"),
    [("issuer", "not-a-url"), ("jwks_url", "http://ehr.example.org/jwks"), ("fhir_base", "x")],
)
async def test_admin_api_refuses_an_invalid_url_with_422(
    app_client: httpx.AsyncClient, field: str, value: str
) -> None:
    body = {"issuer": ISSUER, "jwks_url": JWKS, field: value}
    response = await app_client.post("/admin/ehrs", json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(field)
    assert (await app_client.get("/admin/ehrs", headers=ADMIN)).json() == {"ehrs": []}


@pytest.mark.usefixtures("no_content")
async def test_admin_api_display_name_round_trip(app_client: httpx.AsyncClient) -> None:
    body = {"issuer": ISSUER, "jwks_url": JWKS, "display_name": " St. Mary's Hospital "}
    created = await app_client.post("/admin/ehrs", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    assert created.json()["display_name"] == "St. Mary's Hospital"


@pytest.mark.usefixtures("no_content")
async def test_sign_in_page_shows_the_name_or_the_host_never_a_url(
    app_client: httpx.AsyncClient,
) -> None:
    runtime: Any = app_client.app.state.runtime  # type: ignore[attr-defined]
    async with runtime.sessions() as session, session.begin():
        for issuer, name in ((ISSUER, "St. Mary's Hospital"), ("https://other.example.net", None)):
            await add_ehr(
                session,
                issuer=issuer,
                jwks_url=f"{issuer}/jwks",
                fhir_base=f"{issuer}/api/fhir/r4",
                display_name=name,
                client_ids=["bedside"],
            )
    runtime.registry.invalidate()
    page = await app_client.get("/app/login")
    assert page.status_code == 200
    labels = [
        label.strip() for label in re.findall(r'href="/app/login\?ehr=[^"]+">([^<]*)<', page.text)
    ]
    assert sorted(labels) == ["St. Mary&#39;s Hospital", "other.example.net"]
    assert "/api/fhir/r4" not in page.text
