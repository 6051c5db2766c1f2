"""The installed `bedside` command, as hospital IT uses it: `bedside ehr add`, `bedside serve`
answering a signed patient-view call built from a Synthea patient, and `bedside doctor`
reporting healthy. Real processes, real sockets (loopback only)."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.hooks.hook_requests import hook_request, synthea_bundle
from tests.hooks.jwt_factory import FakeEhr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bedside() -> list[str]:
    script = Path(sys.executable).parent / "bedside"
    return [str(script)] if script.exists() else [shutil.which("bedside") or "bedside"]


@pytest.fixture
def jwks_ehr() -> Iterator[FakeEhr]:
    port = _free_port()
    ehr = FakeEhr(issuer=f"http://127.0.0.1:{port}", jwks_url=f"http://127.0.0.1:{port}/jwks")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(ehr.jwks()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield ehr
    server.shutdown()
    server.server_close()


def test_install_register_serve_call_and_doctor(tmp_path: Path, jwks_ehr: FakeEhr) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "BEDSIDE_DATA_DIR": str(tmp_path / "data"),
        "BEDSIDE_PUBLIC_URL": base,
        "BEDSIDE_EVALUATION_DATE": "2021-04-01",
    }
    env.pop("BEDSIDE_DATABASE_URL", None)
    add = subprocess.run(
        [*_bedside(), "ehr", "add", "--issuer", jwks_ehr.issuer, "--jwks-url", jwks_ehr.jwks_url],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert add.returncode == 0, add.stderr
    server = subprocess.Popen(
        [*_bedside(), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_ready(base, server)
        service_url = f"{base}/cds-services/bedside-patient-view"
        response = httpx.post(
            service_url,
            json=hook_request(synthea_bundle("Tom_Goodwin")),
            headers={"Authorization": jwks_ehr.bearer(service_url)},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        cards = response.json()["cards"]
        assert cards
        assert all(len(c["summary"]) < 140 and c["links"][0]["type"] == "smart" for c in cards)
        doctor = subprocess.run(
            [*_bedside(), "doctor"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
    assert f"{base}/cds-services" in output  # serve prints the discovery URL


def _wait_ready(base: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, "bedside serve exited early"
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("bedside serve did not become ready in 30 s")
