"""`bedside demo`: the service and the EHR simulator together, for a first look."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any


def register(commands: Any) -> None:
    """Add `bedside demo` to the `bedside` parser."""
    demo = commands.add_parser(
        "demo", help="run Bedside and a simulated EHR on loopback (synthetic patients)"
    )
    demo.add_argument("--port", type=int, default=8000, help="Bedside's port (default 8000)")
    demo.add_argument(
        "--ehr-port", type=int, default=8001, help="the EHR simulator's port (default 8001)"
    )
    demo.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="keep the demo database here (default: a temporary directory)",
    )
    demo.add_argument(
        "--client-auth",
        choices=["client_secret_basic", "private_key_jwt"],
        default="private_key_jwt",
        help="how Bedside authenticates to the EHR",
    )
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from service.sim.demo import build_demo, serve_demo

    with tempfile.TemporaryDirectory(prefix="bedside-demo-") as temporary:
        data_dir = args.data_dir or Path(temporary)
        demo = build_demo(
            port=args.port, ehr_port=args.ehr_port, data_dir=data_dir, client_auth=args.client_auth
        )
        try:
            asyncio.run(serve_demo(demo))
        except KeyboardInterrupt:
            pass  # Ctrl-C: both servers have shut down
    print("Bedside demo stopped.")
    return 0
