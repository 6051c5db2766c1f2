"""Issue 18: `GET /` names the service and links its entry points (it was a 404 JSON)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest


class _StubLibrary:
    def __len__(self) -> int:
        return 1


@pytest.fixture(autouse=True)
def _no_content(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("service.cards.library.load_library", lambda _dir=None, **_: _StubLibrary())


async def test_the_root_page_links_discovery_the_app_and_health(
    app_client: httpx.AsyncClient,
) -> None:
    page = await app_client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Bedside" in page.text
    for link in ('href="/cds-services"', 'href="/app/"', 'href="/healthz"'):
        assert link in page.text
    assert "https://bedside.test/cds-services" in page.text  # the URL to give the EHR
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


async def test_discovery_is_open_and_the_security_doc_says_so(
    app_client: httpx.AsyncClient,
) -> None:
    assert (await app_client.get("/cds-services")).status_code == 200  # no Authorization
    text = (Path(__file__).parent.parent / "docs" / "security.md").read_text(encoding="utf-8")
    assert "discovery (`GET /cds-services`) is open" in " ".join(text.split())
    assert "(discovery, service, feedback) carries" not in " ".join(text.split())
