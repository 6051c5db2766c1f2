"""The application boots, migrates and answers its operational endpoints."""

import httpx


async def test_healthz_and_jwks(app_client: httpx.AsyncClient) -> None:
    assert (await app_client.get("/healthz")).json() == {"status": "ok"}
    jwks = (await app_client.get("/.well-known/jwks.json")).json()
    assert jwks["keys"]
    assert all("d" not in key for key in jwks["keys"])  # never the private half
