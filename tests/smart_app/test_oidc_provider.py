"""Bedside against a real OpenID provider: panva's oidc-provider (OpenID Certified), run by
Node as the EHR's SMART authorization server (tests/fixtures/oidc/server.mjs).

`npm ci` installs the pinned provider once into a cache directory keyed by the lock file
(BEDSIDE_NODE_CACHE, else ~/.cache/bedside); one server serves the whole session. Without
node and npm the module skips, but under CI=true it fails. Bedside runs in-process (host
bedside.test); the provider on 127.0.0.1. The test plays the browser and the user: it follows
the redirects and drives the provider's login and consent interactions over HTTP.
"""

from __future__ import annotations

import fcntl
import hashlib
import html
import json
import os
import re
import selectors
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import update

from service.app import create_app
from service.ehr.models import EhrRecord
from service.ehr.service import add_ehr
from service.identity import learner_key
from service.runtime import Runtime
from service.settings import Settings
from smart_app.session import SESSION_COOKIE, SessionStore
from tests.e2e.world import route_client

FIXTURE = Path(__file__).parents[1] / "fixtures" / "oidc"
IN_CI = os.environ.get("CI", "").lower() == "true"
BASE = "https://bedside.test"
SECRET = "a-client-secret-of-the-bedside-basic-client"
CLIENTS = ("bedside-basic", "bedside-own", "bedside-ehrkey")


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


def _cache_dir() -> Path:
    digest = hashlib.sha256((FIXTURE / "package-lock.json").read_bytes()).hexdigest()[:16]
    root = os.environ.get("BEDSIDE_NODE_CACHE") or Path.home() / ".cache" / "bedside"
    return Path(root) / f"oidc-provider-{digest}"


@pytest.fixture(scope="session")
def provider_dir() -> Path:
    """The fixture's files with `npm ci`'s node_modules beside them (installed once per lock
    file; a file lock keeps concurrent sessions from installing over each other)."""
    npm = shutil.which("npm")
    if not shutil.which("node") or not npm:
        _unavailable("node and npm are needed to run oidc-provider")
    target = _cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    with (target / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for name in ("package.json", "package-lock.json", "server.mjs"):
            shutil.copyfile(FIXTURE / name, target / name)
        if not (target / ".installed").exists():
            done = subprocess.run(
                [str(npm), "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--prefer-offline"],
                cwd=target,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if done.returncode != 0:
                _unavailable(f"npm ci of oidc-provider failed: {done.stderr[-400:]}")
            (target / ".installed").touch()
    return target


@dataclass(frozen=True)
class Keys:
    bedside_file: Path  # Bedside's own signing key set (BEDSIDE_SIGNING_KEY_FILE)
    client_jwks: str  # the EHR-registered private key set (`--client-jwks`)


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    folder = tmp_path_factory.mktemp("oidc-keys")
    own = ECKey.generate_key("P-384", parameters={"alg": "ES384", "use": "sig"}, private=True)
    own.ensure_kid()
    (folder / "signing-jwks.json").write_text(json.dumps({"keys": [own.as_dict(private=True)]}))
    registered = RSAKey.generate_key(
        2048, parameters={"kid": "ehr-registered-1", "alg": "RS384", "use": "sig"}, private=True
    )
    client_jwks = json.dumps({"keys": [registered.as_dict(private=True)]})
    return Keys(folder / "signing-jwks.json", client_jwks)


def _public(key_set: str) -> dict[str, Any]:
    keys = json.loads(key_set)["keys"]
    private = ("d", "p", "q", "dp", "dq", "qi")
    return {"keys": [{k: v for k, v in key.items() if k not in private} for key in keys]}


def _clients(keys: Keys) -> list[dict[str, Any]]:
    common = {
        "redirect_uris": [BASE + "/app/callback"],
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "require_auth_time": True,
    }
    return [
        {**common, "client_id": "bedside-basic", "client_secret": SECRET},
        {
            **common,
            "client_id": "bedside-own",
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": _public(keys.bedside_file.read_text()),
        },
        {
            **common,
            "client_id": "bedside-ehrkey",
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": _public(keys.client_jwks),
        },
    ]


def _read_issuer(process: subprocess.Popen[str], seconds: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(seconds):
            raise TimeoutError("oidc-provider did not start")
    line = process.stdout.readline()
    if not line:
        raise RuntimeError("oidc-provider exited")
    return str(json.loads(line)["issuer"])


@pytest.fixture(scope="session")
def issuer(
    provider_dir: Path, keys: Keys, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The running provider's issuer (http://127.0.0.1:PORT)."""
    folder = tmp_path_factory.mktemp("oidc-provider")
    (folder / "config.json").write_text(json.dumps({"clients": _clients(keys)}))
    with (folder / "stderr.log").open("w") as errors:
        process = subprocess.Popen(
            ["node", "server.mjs", str(folder / "config.json")],
            cwd=provider_dir,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    try:
        try:
            url = _read_issuer(process, 20)
        except (TimeoutError, RuntimeError) as exc:
            _unavailable(f"{exc}: {(folder / 'stderr.log').read_text()[-400:]}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


class SplitTransport(httpx.AsyncBaseTransport):
    """bedside.test to the in-process app; everything else (the provider) over the network."""

    def __init__(self, app: FastAPI) -> None:
        self._bedside = httpx.ASGITransport(app=app)
        self._network = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "bedside.test":
            return await self._bedside.handle_async_request(request)
        return await self._network.handle_async_request(request)

    async def aclose(self) -> None:
        await self._network.aclose()


@dataclass
class Bedside:
    runtime: Runtime
    browser: httpx.AsyncClient
    issuer: str
    client_jwks: str
    registration_id: str = ""

    async def register(self, client_id: str, fhir_path: str = "") -> None:
        """Register the provider as an EHR with this SMART client, as `bedside ehr add`."""
        method = "client_secret_basic" if client_id == "bedside-basic" else "private_key_jwt"
        async with self.runtime.sessions() as session, session.begin():
            record = await add_ehr(
                session,
                issuer=self.issuer,
                jwks_url=self.issuer + "/jwks",
                fhir_base=self.issuer + fhir_path,
                client_ids=[client_id],
                client_auth=method,
                client_secret=SECRET if client_id == "bedside-basic" else None,
                client_jwks=self.client_jwks if client_id == "bedside-ehrkey" else None,
                server_secret=self.runtime.secret,
            )
        self.registration_id = str(record.id)
        self.runtime.registry.invalidate()

    async def learner(self) -> str | None:
        """The learner key of the browser's Bedside session, if signed in."""
        store = SessionStore(self.runtime.state, self.runtime.settings)
        session = await store.get(self.browser.cookies.get(SESSION_COOKIE))
        return session.learner_key if session else None

    def expected_learner(self, account: str) -> str:
        user = f"{self.issuer}/Practitioner/{account}"
        return learner_key(self.runtime.secret, self.issuer, None, user)


@pytest.fixture
async def bedside(settings: Settings, keys: Keys, issuer: str) -> AsyncIterator[Bedside]:
    app = create_app(settings.model_copy(update={"signing_key_file": keys.bedside_file}))
    transport = SplitTransport(app)
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        route_client(runtime.http, transport)  # Bedside's outbound calls reach the provider
        async with httpx.AsyncClient(transport=transport) as browser:
            yield Bedside(runtime, browser, issuer, keys.client_jwks)


async def _to_callback(
    bed: Bedside, response: httpx.Response, account: str
) -> tuple[str, list[str]]:
    """Follow the browser's redirects through the provider, signing `account` in and
    consenting whenever it asks; returns Bedside's callback URL and the prompts seen."""
    prompts: list[str] = []
    for _ in range(12):
        if response.status_code == 200:  # an auto-submitting form (the provider's form_post)
            response = await _submit_form(bed, response)
            continue
        assert response.status_code in (302, 303), response.text[:300]
        location = urljoin(str(response.request.url), response.headers["location"])
        if location.startswith(BASE + "/app/callback"):
            return location, prompts
        if urlsplit(location).path.startswith("/interaction/"):
            prompt = (await bed.browser.get(location)).json()["prompt"]
            prompts.append(prompt)
            action = "login" if prompt == "login" else "consent"
            response = await bed.browser.post(f"{location}/{action}", data={"account": account})
        else:
            response = await bed.browser.get(location)
    raise AssertionError("too many redirects")


async def _submit_form(bed: Bedside, page: httpx.Response) -> httpx.Response:
    """What the page's script does in a browser: post its one form."""
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action, page.text[:300]
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)
    target = urljoin(str(page.request.url), html.unescape(action.group(1)))
    return await bed.browser.post(target, data={k: html.unescape(v) for k, v in fields})


async def _sign_in(bed: Bedside, account: str) -> tuple[str, list[str]]:
    """A standalone sign-in up to (not including) Bedside's callback."""
    start = await bed.browser.get(BASE + "/app/login", params={"ehr": bed.registration_id})
    assert start.status_code == 302, start.text[:500]
    return await _to_callback(bed, start, account)


def _with_iss(url: str, iss: str | None) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "iss"]
    if iss is not None:
        query.append(("iss", iss))
    return urlunsplit(parts._replace(query=urlencode(query)))


async def test_client_secret_basic_ehr_launch_interoperates(bedside: Bedside) -> None:
    await bedside.register("bedside-basic")
    start = await bedside.browser.get(
        BASE + "/app/launch", params={"iss": bedside.issuer, "launch": "opaque-launch-1"}
    )
    callback, prompts = await _to_callback(bedside, start, "alice")
    assert prompts == ["login", "consent"]
    assert dict(parse_qsl(urlsplit(callback).query))["iss"] == bedside.issuer  # RFC 9207
    done = await bedside.browser.get(callback)
    assert done.status_code == 303, done.text[:500]
    assert done.headers["cache-control"] == "no-store"
    assert await bedside.learner() == bedside.expected_learner("alice")


async def test_private_key_jwt_with_bedsides_own_keys_interoperates(bedside: Bedside) -> None:
    await bedside.register("bedside-own")
    callback, _ = await _sign_in(bedside, "alice")
    done = await bedside.browser.get(callback)
    assert done.status_code == 303, done.text[:500]
    assert await bedside.learner() == bedside.expected_learner("alice")


@pytest.mark.parametrize("stored", ["sealed", "legacy-clear"])
async def test_private_key_jwt_with_the_ehr_registered_key_set_interoperates(
    bedside: Bedside, keys: Keys, stored: str, caplog: pytest.LogCaptureFixture
) -> None:
    await bedside.register("bedside-ehrkey")
    if stored == "legacy-clear":  # a row written before client key sets were sealed
        async with bedside.runtime.sessions() as session, session.begin():
            await session.execute(update(EhrRecord).values(client_jwks=keys.client_jwks))
        bedside.runtime.registry.invalidate()
    callback, _ = await _sign_in(bedside, "bob")
    done = await bedside.browser.get(callback)
    assert done.status_code == 303, done.text[:500]
    assert await bedside.learner() == bedside.expected_learner("bob")
    private_d = json.loads(keys.client_jwks)["keys"][0]["d"]
    assert private_d not in caplog.text


async def test_sign_in_again_after_sign_out_needs_the_ehrs_login(bedside: Bedside) -> None:
    """Issue 18 item 11: the provider's own session (alice's) is still open in the browser;
    "Sign in again" must make the EHR ask who is there, not resume alice silently."""
    await bedside.register("bedside-basic")
    callback, _ = await _sign_in(bedside, "alice")
    assert (await bedside.browser.get(callback)).status_code == 303
    store = SessionStore(bedside.runtime.state, bedside.runtime.settings)
    session = await store.get(bedside.browser.cookies.get(SESSION_COOKIE))
    assert session is not None
    out = await bedside.browser.post(BASE + "/app/logout", data={"csrf": session.csrf})
    assert out.status_code == 200
    assert await bedside.learner() is None
    callback, prompts = await _sign_in(bedside, "bob")
    assert prompts[:1] == ["login"]
    assert (await bedside.browser.get(callback)).status_code == 303
    assert await bedside.learner() == bedside.expected_learner("bob")


@pytest.mark.parametrize(("iss", "message"), [("other", "another issuer"), (None, "no issuer")])
async def test_authorization_response_issuer_is_checked(
    bedside: Bedside, iss: str | None, message: str
) -> None:
    """RFC 9207: the provider advertises (and sends) `iss`; a different one or none is a
    mix-up, refused before the code goes anywhere."""
    await bedside.register("bedside-basic")
    callback, _ = await _sign_in(bedside, "alice")
    forged = _with_iss(callback, "http://127.0.0.1:1" if iss == "other" else None)
    done = await bedside.browser.get(forged)
    assert done.status_code == 400
    assert message in done.text
    assert await bedside.learner() is None


async def test_an_ehr_without_s256_is_refused(bedside: Bedside) -> None:
    await bedside.register("bedside-basic", "/variant/no-s256")
    start = await bedside.browser.get(BASE + "/app/login", params={"ehr": bedside.registration_id})
    assert start.status_code == 400
    assert "PKCE with S256" in start.text


async def test_the_id_token_issuer_must_match_discovery_exactly(bedside: Bedside) -> None:
    """Discovery names the issuer with a trailing slash, the id_token without one."""
    await bedside.register("bedside-basic", "/variant/slash-issuer")
    callback, _ = await _sign_in(bedside, "alice")
    done = await bedside.browser.get(_with_iss(callback, None))
    assert done.status_code == 400
    assert "issued by someone else" in done.text
    assert await bedside.learner() is None
