"""Sub-commands of the credit package.

- `bedside credit report --period 2026 [--format pars|csv] [--out FILE]`: the PARS learner
  completion file (pars, default) or the annual aggregate (csv); a summary goes to stderr.
- `bedside credit prune --before DATE`: delete records older than DATE; refuses anything
  younger than 6 years (exit 2).
- `bedside credit push-xapi`: push due xAPI statements from the outbox to the LRS.
- `bedside credential verify FILE [--jwks FILE]`: exit 0 when valid, 1 when not.

Database commands read Settings() from the environment and migrate first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from service.settings import Settings


def register(commands: Any) -> None:
    """Add `credit` and `credential` to the `bedside` parser."""
    credit = commands.add_parser("credit", help="credit ledger reports and retention")
    sub = credit.add_subparsers(dest="credit_command", required=True)
    report = sub.add_parser("report", help="annual PARS report of a period")
    report.add_argument("--period", type=int, required=True, help="calendar year, e.g. 2026")
    report.add_argument("--format", choices=["pars", "csv"], default="pars")
    report.add_argument("--out", type=Path, default=None, help="file to write (default stdout)")
    report.set_defaults(handler=_report)
    prune = sub.add_parser("prune", help="delete records older than the retention period")
    prune.add_argument("--before", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    prune.set_defaults(handler=_prune)
    push = sub.add_parser("push-xapi", help="push due xAPI statements to the configured LRS")
    push.set_defaults(handler=_push)
    credential = commands.add_parser("credential", help="verifiable credentials")
    csub = credential.add_subparsers(dest="credential_command", required=True)
    verify = csub.add_parser("verify", help="verify an Open Badge or transcript VC-JWT")
    verify.add_argument("file", type=Path)
    verify.add_argument(
        "--jwks", type=Path, default=None, help="public JWKS file (default: this deployment's keys)"
    )
    verify.set_defaults(handler=_verify)


def _settings() -> Settings:
    from service.db.migrate import upgrade

    settings = Settings()
    upgrade(settings.resolved_database_url)
    return settings


def _report(args: argparse.Namespace) -> int:
    from service.credit.jobs import run_report

    settings = _settings()
    report = asyncio.run(run_report(settings, args.period))
    text = report.render(args.format)
    if args.out:
        args.out.write_text(text, encoding="utf-8", newline="")
    else:
        sys.stdout.write(text)
    print(
        f"{args.period}: {report.learners} distinct learners; "
        f"{len(report.completions)} learner-completion rows",
        file=sys.stderr,
    )
    for row in report.summary:
        print(f"  {row[1]} {row[3]}: {row[4]} learners, {row[5]} credits", file=sys.stderr)
    if report.needs_names:
        print(
            f"  {len(report.needs_names)} consenting learner(s) left out of the board file: "
            "their profile holds one name; ask them to give their given and family names",
            file=sys.stderr,
        )
    return 0


def _prune(args: argparse.Namespace) -> int:
    from service.credit.jobs import run_prune
    from service.credit.retention import RetentionError

    settings = _settings()
    try:
        result = asyncio.run(run_prune(settings, args.before))
    except RetentionError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result.__dict__))
    return 0


def _push(_args: argparse.Namespace) -> int:
    from service.credit.jobs import run_push

    settings = _settings()
    if not settings.lrs_url:
        print("no LRS configured (BEDSIDE_LRS_URL)", file=sys.stderr)
        return 2
    result = asyncio.run(run_push(settings))
    print(json.dumps(result.__dict__))
    return 0 if result.failed == 0 else 1


class _Unusable(Exception):
    """An input `credential verify` cannot use (message: one line for the person)."""


def _read_token(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise _Unusable(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from exc
    if not text.startswith("{"):
        return text
    try:
        return str(json.loads(text).get("credential", ""))
    except (ValueError, AttributeError) as exc:
        raise _Unusable(f"{path}: not a VC-JWT, nor JSON with a `credential`") from exc


def _read_jwks(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _Unusable(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise _Unusable(f"{path}: not a JSON Web Key Set") from exc
    if not isinstance(document, dict):
        raise _Unusable(f"{path}: not a JSON Web Key Set")
    return document


def _deployment_jwks() -> dict[str, Any]:
    """The public keys this deployment publishes (/.well-known/jwks.json): the signing key
    file of Settings, read as `service/keys.py: load_signing_keys` does, never minted here."""
    from joserfc.errors import JoseError
    from pydantic import ValidationError

    from service.keys import load_signing_keys
    from service.settings import settings_problems

    try:
        settings = Settings()
    except ValidationError as exc:
        raise _Unusable(f"invalid configuration: {settings_problems(exc)}") from exc
    key_file = settings.signing_key_file or settings.data_dir / "signing-jwks.json"
    if not key_file.is_file():
        raise _Unusable(
            f"no signing keys of this deployment at {key_file}: run where the service runs "
            "(same BEDSIDE_SIGNING_KEY_FILE or BEDSIDE_DATA_DIR), or pass --jwks FILE"
        )
    try:
        return load_signing_keys(key_file, settings.data_dir).public_jwks()
    except OSError as exc:
        raise _Unusable(f"cannot read the signing keys at {key_file}: {exc.strerror}") from exc
    except (ValueError, KeyError, TypeError, IndexError, JoseError) as exc:
        raise _Unusable(f"{key_file}: not a JSON Web Key Set") from exc


def _verify(args: argparse.Namespace) -> int:
    from service.credit.credentials import verify_credential

    try:
        token = _read_token(args.file)
        jwks = _read_jwks(args.jwks) if args.jwks else _deployment_jwks()
    except _Unusable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    report = verify_credential(token, jwks)
    print(f"valid: {'yes' if report.valid else 'no'}")
    print(f"kind: {report.kind or '-'}")
    print(f"issuer: {report.issuer or '-'}")
    print(f"learner: {report.learner or '-'}")
    for credit in report.credits:
        print(
            f"credit: {credit['amount']} {credit['credit_type']} "
            f"({credit['activity_id']}, {credit['date']})"
        )
    for error in report.errors:
        print(f"error: {error}")
    return 0 if report.valid else 1
