"""What `bedside demo` runs: the service and the EHR simulator together, for a first look.

The `bedside` parser declares the command's options and loads this module by name only when
the demo runs (the product never imports the simulator). A busy port is one line, and Ctrl-C
stops both servers quietly.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import sys
import tempfile
from pathlib import Path

from ehr_simulator.state import ClientAuth

HOST = "127.0.0.1"


def port_in_use(port: int, host: str = HOST) -> bool:
    """Whether binding `port` fails as uvicorn's would (SO_REUSEADDR: only a listener counts)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.errno in {errno.EADDRINUSE, errno.EACCES}
    return False


def _free_port_after(port: int, taken: int) -> int:
    candidate = port + 1
    while candidate == taken or (candidate < 65535 and port_in_use(candidate)):
        candidate += 1
    return candidate


def busy_port_problem(port: int, ehr_port: int) -> str | None:
    """One line saying which port to choose instead, or None when both are free."""
    if port == ehr_port:
        return f"--port and --ehr-port are both {port}: give two different ports"
    for option, wanted, other in (("--port", port, ehr_port), ("--ehr-port", ehr_port, port)):
        if port_in_use(wanted):
            return f"port {wanted} is in use: try {option} {_free_port_after(wanted, other)}"
    return None


def run_demo(*, port: int, ehr_port: int, data_dir: Path | None, client_auth: ClientAuth) -> int:
    """Serve Bedside and the simulator on loopback until Ctrl-C; returns the exit status."""
    from ehr_simulator.demo import build_demo, serve_demo

    problem = busy_port_problem(port, ehr_port)
    if problem:
        print(f"bedside demo: {problem}", file=sys.stderr)  # noqa: T201 - the command's output
        return 1
    with tempfile.TemporaryDirectory(prefix="bedside-demo-") as temporary:
        try:
            demo = build_demo(
                port=port,
                ehr_port=ehr_port,
                data_dir=data_dir or Path(temporary),
                client_auth=client_auth,
            )
            asyncio.run(serve_demo(demo))
        except KeyboardInterrupt:
            pass  # Ctrl-C before the servers ran (serve_demo handles it once they run)
        except SystemExit:  # uvicorn could not start a server: a port taken since the check
            print("bedside demo: a server could not start (see above)", file=sys.stderr)  # noqa: T201
            return 1
    print("Bedside demo stopped.")  # noqa: T201 - the command's output
    return 0
