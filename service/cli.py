"""The `bedside` command. Each package registers its own sub-commands."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

Handler = Callable[[argparse.Namespace], int]


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.db.migrate import upgrade_if_needed
    from service.settings import Settings

    if "BEDSIDE_PUBLIC_URL" not in os.environ:
        # Unset: the URL we actually serve (workers read it from the environment too).
        host = "127.0.0.1" if args.host in {"0.0.0.0", "::"} else args.host
        os.environ["BEDSIDE_PUBLIC_URL"] = f"http://{host}:{args.port}"
    settings = Settings()
    upgrade_if_needed(settings.resolved_database_url)  # once, before any worker starts
    if args.workers > 1 and not settings.redis_url:
        print(
            "warning: several workers without BEDSIDE_REDIS_URL do not share replay caches "
            "or sessions, and read learner states on every call; set BEDSIDE_REDIS_URL for "
            "more than one worker",
            file=sys.stderr,
        )
        # A worker could not hear of the others' changes: no kept learner states.
        os.environ["BEDSIDE_LEARNER_STATE_CACHE_SECONDS"] = "0"
    print(f"Bedside discovery URL: {settings.public_url}/cds-services", flush=True)
    # log_config=None: uvicorn logs through our JSON, redacting handler (set up per worker).
    uvicorn.run(
        "service.asgi:app",
        log_config=None,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level.lower(),
        access_log=False,
        proxy_headers=True,
        server_header=False,
    )
    return 0


def _doctor(args: argparse.Namespace) -> int:
    del args
    import asyncio

    from pydantic import ValidationError

    from service.doctor import diagnose, render_report
    from service.settings import Settings, settings_problems

    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"FAIL  configuration: {settings_problems(exc)}")
        return 1
    findings = asyncio.run(diagnose(settings))
    print(render_report(findings))
    return 1 if any(finding.failed for finding in findings) else 0


SIMULATOR = "ehr_simulator.cli"  # its own package: loaded by name, only when the demo runs


def register_demo(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `bedside demo`; the simulator it runs is imported only when the command runs."""
    from pathlib import Path

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
    import importlib

    try:
        simulator = importlib.import_module(SIMULATOR)
    except ModuleNotFoundError as exc:
        if exc.name not in {SIMULATOR, SIMULATOR.partition(".")[0]}:
            raise  # the simulator is there but lacks a dependency: show it
        print(f"bedside demo: the EHR simulator ({exc.name}) is not installed", file=sys.stderr)
        return 1
    run_demo: Callable[..., int] = simulator.run_demo
    return run_demo(
        port=args.port, ehr_port=args.ehr_port, data_dir=args.data_dir, client_auth=args.client_auth
    )


def build_parser() -> argparse.ArgumentParser:
    from service.cards.cli import register as register_content
    from service.credit.cli import register as register_credit
    from service.ehr.cli import register as register_ehr
    from service.outcomes.cli import register as register_outcomes

    parser = argparse.ArgumentParser(prog="bedside", description="Point-of-care CME in the EHR.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(handler=_serve)
    doctor = commands.add_parser("doctor", help="check configuration, database, content, EHRs")
    doctor.set_defaults(handler=_doctor)
    for register in (
        register_ehr,
        register_content,
        register_credit,
        register_outcomes,
        register_demo,
    ):
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
