"""Issue 18: `bedside demo` on a busy port says so in one line, and Ctrl-C stops it quietly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ehr_simulator.cli import run_demo


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.mark.parametrize("which", ["port", "ehr_port"])
def test_a_busy_port_is_one_line(
    busy_port: int, which: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ports = {"port": _free_port(), "ehr_port": _free_port(), which: busy_port}
    code = run_demo(**ports, data_dir=tmp_path, client_auth="private_key_jwt")
    assert code == 1
    err = capsys.readouterr().err
    option = "--port" if which == "port" else "--ehr-port"
    assert err.startswith(f"bedside demo: port {busy_port} is in use: try {option} ")
    assert err.count("\n") == 1
    suggested = int(err.split()[-1])
    assert suggested not in {busy_port, ports["port"], ports["ehr_port"]}


def test_the_same_port_twice_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = _free_port()
    assert run_demo(port=port, ehr_port=port, data_dir=tmp_path, client_auth="private_key_jwt") == 1
    assert "give two different ports" in capsys.readouterr().err


def test_ctrl_c_stops_the_demo_quietly(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "service.cli", "demo", "--data-dir", str(tmp_path)]
    command += ["--port", str(_free_port()), "--ehr-port", str(_free_port())]
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEDSIDE_")}
    demo = subprocess.Popen(  # fixed arguments, our own interpreter
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert demo.stdout is not None
        deadline = time.monotonic() + 90
        while "Press Ctrl-C" not in demo.stdout.readline():
            assert demo.poll() is None, "the demo stopped before it started"
            assert time.monotonic() < deadline, "the demo did not start"
        demo.send_signal(signal.SIGINT)
        out, err = demo.communicate(timeout=30)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert demo.returncode in {0, 130}
    assert "Traceback" not in err
    assert "Bedside demo stopped." in out
