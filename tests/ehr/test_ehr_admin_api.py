"""The admin HTTP API of the EHR registry: /admin/ehrs, guarded by BEDSIDE_ADMIN_TOKEN."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from service.app import create_app
from service.settings import Settings

ADMIN = {"Authorization": "Bearer test-admin-token"}
EHR: dict[str, Any] = {
    "issuer": "https://ehr.example.org",
    "jwks_url": "https://ehr.example.org/jwks",
    "tenant": "hospital-a",
    "fhir_base": "https://ehr.example.org/fhir/",
    "client_ids": ["bedside-app"],
    "client_secret": "s3cr3t-value-never-returned",
}


class _StubLibrary:
    def __len__(self) -> int:
        return 1


@pytest.fixture(autouse=True)
def _content_stub(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the registry, not about content: keep the library out of it."""
    monkeypatch.setattr("service.cards.library.load_library", lambda _dir=None, **_: _StubLibrary())


async def test_add_list_remove(app_client: httpx.AsyncClient) -> None:
    created = await app_client.post("/admin/ehrs", json=EHR, headers=ADMIN)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["client_auth"] == "client_secret_basic"
    assert body["has_client_secret"] is True
    assert body["fhir_base"] == "https://ehr.example.org/fhir"

    listed = await app_client.get("/admin/ehrs", headers=ADMIN)
    assert [ehr["id"] for ehr in listed.json()["ehrs"]] == [body["id"]]
    runtime: Any = app_client.app.state.runtime  # type: ignore[attr-defined]
    assert await runtime.registry.find(EHR["issuer"], "hospital-a") is not None

    removed = await app_client.delete(f"/admin/ehrs/{body['id']}", headers=ADMIN)
    assert removed.status_code == 204
    assert (await app_client.get("/admin/ehrs", headers=ADMIN)).json() == {"ehrs": []}
    assert await runtime.registry.find(EHR["issuer"], "hospital-a") is None


async def test_secrets_never_come_back(app_client: httpx.AsyncClient) -> None:
    created = await app_client.post("/admin/ehrs", json=EHR, headers=ADMIN)
    for response in (created, await app_client.get("/admin/ehrs", headers=ADMIN)):
        assert EHR["client_secret"] not in response.text
        assert '"client_secret"' not in response.text


async def test_duplicate_is_a_conflict(app_client: httpx.AsyncClient) -> None:
    assert (await app_client.post("/admin/ehrs", json=EHR, headers=ADMIN)).status_code == 201
    again = await app_client.post(
        "/admin/ehrs", json={**EHR, "issuer": EHR["issuer"] + "/"}, headers=ADMIN
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    "change",
    [
        {"jwks_url": "http://ehr.example.org/jwks"},
        {"fhir_base": "ftp://ehr.example.org/fhir"},
        {"jku_allowlist": ["http://evil.example/jwks"]},
        {"client_auth": "client_secret_basic", "client_secret": None},
        {"client_auth": "none"},
    ],
)
async def test_invalid_registrations(app_client: httpx.AsyncClient, change: dict[str, Any]) -> None:
    response = await app_client.post("/admin/ehrs", json={**EHR, **change}, headers=ADMIN)
    assert response.status_code == 422
    assert EHR["client_secret"] not in response.text


async def test_loopback_http_is_allowed(app_client: httpx.AsyncClient) -> None:
    body = {
        "issuer": "http://127.0.0.1:9001",
        "jwks_url": "http://127.0.0.1:9001/jwks",
        "fhir_base": "http://localhost:9001/fhir",
    }
    assert (await app_client.post("/admin/ehrs", json=body, headers=ADMIN)).status_code == 201


async def test_unknown_id_is_404(app_client: httpx.AsyncClient) -> None:
    response = await app_client.delete(f"/admin/ehrs/{uuid.uuid4()}", headers=ADMIN)
    assert response.status_code == 404


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "test-admin-token"}]
)
async def test_admin_credential_required(
    app_client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    assert (await app_client.get("/admin/ehrs", headers=headers)).status_code == 401
    assert (await app_client.post("/admin/ehrs", json=EHR, headers=headers)).status_code == 401


@pytest.fixture
async def client_without_admin(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"admin_token": None}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as client:
            yield client


async def test_no_admin_token_configured_means_404(client_without_admin: httpx.AsyncClient) -> None:
    assert (await client_without_admin.get("/admin/ehrs", headers=ADMIN)).status_code == 404
    response = await client_without_admin.post("/admin/ehrs", json={"bad": 1}, headers=ADMIN)
    assert response.status_code == 404
