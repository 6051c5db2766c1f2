"""What `bedside demo` runs: the service and the EHR simulator together, for a first look.

The `bedside` parser declares the command's options and loads this module by name only when
the demo runs (the product never imports the simulator).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from ehr_simulator.state import ClientAuth


def run_demo(*, port: int, ehr_port: int, data_dir: Path | None, client_auth: ClientAuth) -> int:
    """Serve Bedside and the simulator on loopback until Ctrl-C; returns the exit status."""
    from ehr_simulator.demo import build_demo, serve_demo

    with tempfile.TemporaryDirectory(prefix="bedside-demo-") as temporary:
        demo = build_demo(
            port=port,
            ehr_port=ehr_port,
            data_dir=data_dir or Path(temporary),
            client_auth=client_auth,
        )
        try:
            asyncio.run(serve_demo(demo))
        except KeyboardInterrupt:
            pass  # Ctrl-C: both servers have shut down
    print("Bedside demo stopped.")  # noqa: T201 - the command's output
    return 0
