"""`bedside ehr add|list|remove` (hospital IT registers EHRs).

Each handler reads Settings() from the environment, migrates the schema, and runs one unit of
work. Errors are printed as one line on stderr with a non-zero exit status; secrets are never
printed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from service.errors import BedsideError
from service.settings import Settings, settings_problems

_CLIENT_AUTH = ("none", "client_secret_basic", "private_key_jwt")


def register(commands: Any) -> None:
    """Add `ehr` to the `bedside` parser."""
    ehr = commands.add_parser("ehr", help="register the EHRs that may call Bedside")
    actions = ehr.add_subparsers(dest="ehr_command", required=True)
    _add_parser(actions)
    listing = actions.add_parser("list", help="list registered EHRs (never shows secrets)")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=_list)
    remove = actions.add_parser("remove", help="remove a registration")
    remove.add_argument("id", nargs="?", help="registration id (from `bedside ehr list`)")
    remove.add_argument("--issuer", help="remove by issuer instead of id")
    remove.add_argument("--tenant", help="with --issuer: the registration's tenant")
    remove.set_defaults(handler=_remove)


def _add_parser(actions: Any) -> None:
    add = actions.add_parser("add", help="register an EHR (CDS Hooks issuer, keys, SMART client)")
    add.add_argument(
        "--issuer", required=True, help="the `iss` of the EHR's CDS Hooks JWTs (https URL)"
    )
    add.add_argument("--jwks-url", required=True, help="https URL of the EHR's public keys")
    add.add_argument("--tenant", help="the `tenant` claim the EHR sends, if any")
    add.add_argument("--fhir-base", help="the EHR's FHIR base URL (the SMART launch `iss`)")
    add.add_argument(
        "--name",
        dest="display_name",
        help="the organisation's name shown to learners at sign-in, e.g. \"St. Mary's Hospital\"",
    )
    add.add_argument(
        "--client-id",
        action="append",
        default=[],
        dest="client_ids",
        help="Bedside's SMART client id at this EHR (repeatable)",
    )
    secret = add.add_mutually_exclusive_group()
    secret.add_argument("--client-secret", help="client secret (client_secret_basic)")
    secret.add_argument(
        "--client-jwks", type=Path, help="file with the private JWKS for private_key_jwt"
    )
    add.add_argument(
        "--client-auth",
        choices=_CLIENT_AUTH,
        help="default: from the secret or JWKS given, else none; "
        "private_key_jwt without --client-jwks signs with Bedside's own keys",
    )
    add.add_argument(
        "--jku",
        action="append",
        default=[],
        dest="jku_allowlist",
        help="an extra key set URL the EHR may name in `jku` (repeatable)",
    )
    add.set_defaults(handler=_add)


def _run(work: Callable[[Settings], Coroutine[Any, Any, int]]) -> int:
    """Settings from the environment, the schema migrated, then the work; errors -> exit 1."""
    from service.db.migrate import upgrade

    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"error: invalid configuration: {settings_problems(exc)}", file=sys.stderr)
        return 1
    upgrade(settings.resolved_database_url)
    try:
        return asyncio.run(work(settings))
    except BedsideError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1


async def _in_transaction(settings: Settings, operation: Callable[[Any], Awaitable[Any]]) -> Any:
    from service.db.engine import make_engine, make_sessionmaker, transaction

    engine = make_engine(settings.resolved_database_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            return await operation(session)
    finally:
        await engine.dispose()


def _input_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with `ehr add`'s URLs or name, before anything is opened: an https URL
    (http only on loopback), as the registry and the admin API require."""
    from service.ehr.service import check_url

    urls = [("--issuer", args.issuer), ("--jwks-url", args.jwks_url)]
    urls += [("--fhir-base", args.fhir_base)] if args.fhir_base is not None else []
    urls += [("--jku", url) for url in args.jku_allowlist]
    for option, url in urls:
        try:
            check_url(url, option)
        except BedsideError as exc:
            return exc.message
    if args.display_name is not None and not 0 < len(args.display_name.strip()) <= 200:
        return "--name must have 1 to 200 characters"
    return None


def _add(args: argparse.Namespace) -> int:
    from service.ehr import service

    problem = _input_problem(args)
    if problem:  # exit 1, as for what the registry refuses
        print(f"error: {problem}", file=sys.stderr)
        return 1
    try:
        client_jwks = args.client_jwks.read_text() if args.client_jwks else None
    except OSError as exc:
        print(f"error: cannot read {args.client_jwks}: {exc.strerror}", file=sys.stderr)
        return 2

    async def work(settings: Settings) -> int:
        record = await _in_transaction(
            settings,
            lambda session: service.add_ehr(
                session,
                issuer=args.issuer,
                jwks_url=args.jwks_url,
                tenant=args.tenant,
                fhir_base=args.fhir_base,
                display_name=args.display_name,
                client_ids=args.client_ids,
                client_auth=args.client_auth,
                client_secret=args.client_secret,
                client_jwks=client_jwks,
                jku_allowlist=args.jku_allowlist,
                # Client secrets and key sets are stored sealed under the server's secret.
                server_secret=(
                    settings.resolved_secret_key() if args.client_secret or client_jwks else None
                ),
            ),
        )
        print(
            f"registered {record.id} issuer={record.issuer} "
            f"tenant={record.tenant_key or '-'} client_auth={record.client_auth}"
        )
        return 0

    return _run(work)


def _list(args: argparse.Namespace) -> int:
    from service.ehr import service
    from service.ehr.schemas import EhrList, EhrOut

    async def work(settings: Settings) -> int:
        records = await _in_transaction(settings, service.list_ehrs)
        listing = EhrList(ehrs=[EhrOut.from_record(record) for record in records])
        if args.json:
            print(listing.model_dump_json(indent=2))
        elif not listing.ehrs:
            print("no EHR registered (add one with `bedside ehr add`)")
        for ehr in [] if args.json else listing.ehrs:
            print(_describe(ehr))
        return 0

    return _run(work)


def _describe(ehr: Any) -> str:
    lines = [
        f"{ehr.id}  {ehr.issuer}  tenant={ehr.tenant or '-'}",
        f"    name       {ehr.display_name or '-'}",
        f"    jwks_url   {ehr.jwks_url}",
        f"    fhir_base  {ehr.fhir_base or '-'}",
        f"    client     {','.join(ehr.client_ids) or '-'} ({ehr.client_auth}"
        f"{', secret set' if ehr.has_client_secret else ''}"
        f"{', jwks set' if ehr.has_client_jwks else ''})",
    ]
    if ehr.jku_allowlist:
        lines.append(f"    jku        {', '.join(ehr.jku_allowlist)}")
    return "\n".join(lines)


def _remove(args: argparse.Namespace) -> int:
    from service.ehr import service

    if bool(args.id) == bool(args.issuer) or (args.tenant and not args.issuer):
        print("error: give a registration id, or --issuer [--tenant]", file=sys.stderr)
        return 2
    if args.id:
        try:
            ehr_id = uuid.UUID(args.id)
        except ValueError:
            print("error: the id is not a UUID (see `bedside ehr list`)", file=sys.stderr)
            return 2

    async def work(settings: Settings) -> int:
        record = await _in_transaction(
            settings,
            lambda session: (
                service.remove_ehr(session, ehr_id)
                if args.id
                else service.remove_ehr_by_issuer(session, args.issuer, args.tenant)
            ),
        )
        print(f"removed {record.id} issuer={record.issuer} tenant={record.tenant_key or '-'}")
        return 0

    return _run(work)
