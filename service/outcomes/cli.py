"""Sub-commands of the outcomes package.

- `bedside education-lead add --name NAME`: add an education lead; prints its token once.
- `bedside education-lead list [--json]`: names, created, revoked (never a token).
- `bedside education-lead revoke ID`: close a lead's token and browser sessions.
- `bedside outcomes report --period YEAR [--format table|csv|json] [--out FILE]`: the
  suppressed outcomes report (default a readable table).
- `bedside outcomes evidence --period YEAR [--item ID] [--out FILE]`: baseline and
  re-measurement per consenting learner, as CSV; who was left out goes to stderr.
- `bedside outcomes publish-xapi`: queue closed months of practice as xAPI statements (the
  service does this itself before each push when an LRS is configured).

Database commands read Settings() from the environment and migrate first. Nothing here is
imported until a command runs, so building the parser stays light.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from service.settings import Settings


def register(commands: Any) -> None:
    """Add `education-lead` and `outcomes` to the `bedside` parser."""
    lead = commands.add_parser("education-lead", help="education leads' credentials")
    leads = lead.add_subparsers(dest="lead_command", required=True)
    add = leads.add_parser("add", help="add an education lead and print its token (once)")
    add.add_argument("--name", required=True, help='who it is for, e.g. "Dr A. Example"')
    add.set_defaults(handler=_add)
    listing = leads.add_parser("list", help="list education leads (never shows tokens)")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=_list)
    revoke = leads.add_parser("revoke", help="revoke an education lead's token")
    revoke.add_argument("id", help="the lead's id (from `bedside education-lead list`)")
    revoke.set_defaults(handler=_revoke)

    outcomes = commands.add_parser("outcomes", help="what learning changed in practice")
    sub = outcomes.add_subparsers(dest="outcomes_command", required=True)
    report = sub.add_parser("report", help="the outcomes report of a year (suppressed)")
    report.add_argument("--period", type=int, required=True, help="calendar year, e.g. 2026")
    report.add_argument("--format", choices=["table", "csv", "json"], default="table")
    report.add_argument("--out", type=Path, default=None, help="file to write (default stdout)")
    report.set_defaults(handler=_report)
    evidence = sub.add_parser("evidence", help="outcomes evidence per consenting learner (CSV)")
    evidence.add_argument("--period", type=int, required=True, help="calendar year, e.g. 2026")
    evidence.add_argument("--item", default=None, help="one item (activity) id")
    evidence.add_argument("--out", type=Path, default=None, help="file to write (default stdout)")
    evidence.set_defaults(handler=_evidence)
    publish = sub.add_parser("publish-xapi", help="queue closed months of practice for the LRS")
    publish.set_defaults(handler=_publish)


def _settings() -> Settings:
    from service.db.migrate import upgrade

    settings = Settings()
    upgrade(settings.resolved_database_url)
    return settings


def _write(text: str, out: Path | None) -> None:
    if out:
        out.write_text(text, encoding="utf-8", newline="")
    else:
        sys.stdout.write(text)


def _add(args: argparse.Namespace) -> int:
    from service.errors import BedsideError
    from service.outcomes import jobs

    try:
        lead, token = asyncio.run(jobs.add_lead(_settings(), args.name))
    except BedsideError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    print(f"Education lead added: {lead.name} (id {lead.id})")
    print("Token, shown this once (Bedside keeps only its hash; give it to the lead privately):")
    print(token)
    print("They sign in at /education/sign-in, or send it as `Authorization: Bearer <token>`.")
    return 0


def _list(args: argparse.Namespace) -> int:
    from service.outcomes import jobs

    leads = asyncio.run(jobs.list_leads(_settings()))
    if args.json:
        rows = [
            {
                "id": str(lead.id),
                "name": lead.name,
                "created_at": lead.created_at.isoformat(),
                "revoked_at": lead.revoked_at.isoformat() if lead.revoked_at else None,
            }
            for lead in leads
        ]
        print(json.dumps(rows, indent=2))
        return 0
    if not leads:
        print("No education leads. Add one: bedside education-lead add --name NAME")
    for lead in leads:
        state = f"revoked {lead.revoked_at:%Y-%m-%d}" if lead.revoked_at else "active"
        print(f"{lead.id}  {lead.name}  created {lead.created_at:%Y-%m-%d}  {state}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from service.outcomes import jobs

    try:
        lead_id = uuid.UUID(args.id)
    except ValueError:
        print(
            f"error: {args.id!r} is not a lead id (see `bedside education-lead list`)",
            file=sys.stderr,
        )
        return 2
    lead = asyncio.run(jobs.revoke_lead(_settings(), lead_id))
    if lead is None:
        print(f"error: no education lead {lead_id}", file=sys.stderr)
        return 1
    print(f"Revoked: {lead.name} (id {lead.id}); their token and sessions no longer work.")
    return 0


def _report(args: argparse.Namespace) -> int:
    from service.outcomes import jobs
    from service.outcomes.formats import render

    settings = _settings()
    report = asyncio.run(jobs.report(settings, jobs.library_of(settings), args.period, args.format))
    _write(render(report, args.format), args.out)
    if args.out or args.format != "table":
        print(f"{args.period}: {len(report.items)} items with activity", file=sys.stderr)
    return 0


def _evidence(args: argparse.Namespace) -> int:
    from service.outcomes import jobs
    from service.outcomes.evidence import to_csv

    settings = _settings()
    found = asyncio.run(jobs.evidence(settings, jobs.library_of(settings), args.period, args.item))
    _write(to_csv(found), args.out)
    print(
        f"{args.period}: {len(found.rows)} learner-activity rows (consenting learners only)",
        file=sys.stderr,
    )
    if found.left_out:
        print(
            f"  {found.left_out} consenting learner(s) left out: their profile has no given "
            "and family name; ask them to add both in Bedside's profile page",
            file=sys.stderr,
        )
    return 0


def _publish(_args: argparse.Namespace) -> int:
    from service.outcomes import jobs

    settings = _settings()
    groups = asyncio.run(jobs.publish(settings, jobs.library_of(settings)))
    print(json.dumps({"queued": groups}))
    return 0
