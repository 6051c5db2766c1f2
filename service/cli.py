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


def build_parser() -> argparse.ArgumentParser:
    from service.cards.cli import register as register_content
    from service.credit.cli import register as register_credit
    from service.ehr.cli import register as register_ehr
    from service.sim.cli import register as register_demo

    parser = argparse.ArgumentParser(prog="bedside", description="Point-of-care CME in the EHR.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(handler=_serve)
    for register in (register_ehr, register_content, register_credit, register_demo):
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
