"""schemathesis against openapi.yaml: every operation the spec lists, >= 100 generated
examples each, against the real ASGI app. Checks: never a 5xx (`not_a_server_error`), and no
authentication bypass (`ignored_auth`: a secured operation called without credentials, and
probed with none and with invalid ones, must refuse). Secured calls also go out with valid
credentials (a fresh EHR JWT per call, the admin token, a learner bearer) so that generated
bodies reach the handlers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import ignored_auth

from service.app import create_app
from service.db.engine import make_engine, make_sessionmaker
from service.db.migrate import upgrade
from service.settings import Settings
from tests.hooks.jwt_factory import FakeEhr

SPEC = Path(__file__).resolve().parents[2] / "openapi.yaml"
EXAMPLES = 100
schema = schemathesis.openapi.from_path(SPEC)


class _Jwks(BaseHTTPRequestHandler):
    body = b'{"keys": []}'

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *_: Any) -> None:  # quiet
        return


class Deployment:
    """The app under test and the credentials of each security scheme."""

    def __init__(self, app: Any, ehr: FakeEhr, public_url: str) -> None:
        self.app = app
        self.ehr = ehr
        self.public_url = public_url

    def credentials(self, case: Any) -> dict[str, str]:
        path: str = case.operation.path
        if path.startswith("/cds-services/"):
            service_id = str((case.path_parameters or {}).get("service_id", ""))
            url = f"{self.public_url}{path.replace('{service_id}', service_id)}"
            return {"Authorization": self.ehr.bearer(url)}
        if path.startswith("/admin"):
            return {"Authorization": "Bearer test-admin-token"}
        return {}


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    directory = tmp_path_factory.mktemp("schemathesis")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ehr = FakeEhr(issuer="https://ehr.schemathesis.test")
    ehr.jwks_url = f"http://127.0.0.1:{server.server_address[1]}/jwks"
    _Jwks.body = orjson.dumps(ehr.jwks())
    url = f"sqlite:///{directory / 'bedside.db'}"
    upgrade(url)

    async def register() -> None:
        engine = make_engine(url)
        try:
            await ehr.register(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    asyncio.run(register())
    settings_ = Settings(
        data_dir=directory / "data",
        database_url=url,
        public_url="http://testserver",
        secret_key="schemathesis-secret-key-long-enough-0123456789",  # type: ignore[arg-type]
        admin_token="test-admin-token",  # type: ignore[arg-type]
        rate_limit_per_minute=0,
    )
    yield Deployment(create_app(settings_), ehr, settings_.public_url)
    server.shutdown()
    server.server_close()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation(case: Any, deployment: Deployment) -> None:
    anonymous = case.call(app=deployment.app)
    case.validate_response(anonymous, checks=[not_a_server_error, ignored_auth])
    credentials = deployment.credentials(case)
    if credentials:
        signed = case.call(app=deployment.app, headers=credentials)
        case.validate_response(signed, checks=[not_a_server_error])


def test_admin_ehr_with_a_huge_integer_in_client_jwks_is_not_a_500(
    deployment: Deployment,
) -> None:
    body = {
        "issuer": "https://big-int.test",
        "jwks_url": "https://big-int.test/jwks",
        "client_jwks": {"keys": [{"kty": "EC", "n": 2**64}]},
    }

    async def post() -> httpx.Response:
        app = deployment.app
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await c.post(
                    "/admin/ehrs", json=body, headers={"Authorization": "Bearer test-admin-token"}
                )

    response = asyncio.run(post())
    assert response.status_code in {400, 422}
