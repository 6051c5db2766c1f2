"""The commands: `bedside education-lead add|list|revoke` (a token printed once, only its hash
kept, never listed) and `bedside outcomes report|evidence|publish-xapi` on a small library."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit.models import XapiOutboxItem
from service.db.base import utcnow
from service.db.engine import transaction
from service.outcomes.models import EducationLead
from service.outcomes.statements import first_open_month
from tests.cards.factories import item_data, write_library
from tests.outcomes.factories import STATIN, YEAR, at, card, cycle, learner, profile, tally

Sessions = async_sessionmaker[AsyncSession]


def _cli(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    content = tmp_path / "library"
    if not content.exists():
        write_library(content, [item_data(id=STATIN, title="Statins in diabetes")])
    env = {
        **os.environ,
        "BEDSIDE_DATABASE_URL": database_url,
        "BEDSIDE_DATA_DIR": str(tmp_path / "cli-data"),
        "BEDSIDE_CONTENT_DIR": str(content),
    }
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


async def test_adding_listing_and_revoking_a_lead(
    sessions: Sessions, database_url: str, tmp_path: Path
) -> None:
    added = _cli(database_url, tmp_path, "education-lead", "add", "--name", "Dr A")
    assert added.returncode == 0, added.stderr
    token = next(line for line in added.stdout.splitlines() if line.startswith("bel_"))
    async with sessions() as session:
        lead = (await session.scalars(select(EducationLead))).one()
    assert lead.token_hash == hashlib.sha256(token.encode()).hexdigest()
    listed = _cli(database_url, tmp_path, "education-lead", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == [
        {
            "id": str(lead.id),
            "name": "Dr A",
            "created_at": lead.created_at.isoformat(),
            "revoked_at": None,
        }
    ]
    assert token not in listed.stdout
    assert lead.token_hash not in listed.stdout
    revoked = _cli(database_url, tmp_path, "education-lead", "revoke", str(lead.id))
    assert revoked.returncode == 0, revoked.stderr
    table = _cli(database_url, tmp_path, "education-lead", "list")
    assert f"{lead.id}  Dr A  created" in table.stdout
    assert "revoked" in table.stdout
    unknown = _cli(database_url, tmp_path, "education-lead", "revoke", "not-an-id")
    assert unknown.returncode == 2
    assert "not a lead id" in unknown.stderr


async def test_report_evidence_and_publish_commands(
    sessions: Sessions, database_url: str, tmp_path: Path
) -> None:
    async with transaction(sessions) as session:
        for n in range(5):
            await card(session, learner(n), STATIN, at(2))
            tally(session, learner(n), STATIN, f"{YEAR}-01", "before", 2, 1)
        profile(session, learner(0), given="Grace", family="Hopper")
        profile(session, learner(1), given=None, family=None)
        cycle(session, learner(0), STATIN, at(1, 20), completed=at(1, 25))
        cycle(session, learner(1), STATIN, at(1, 20), completed=at(1, 25))
        tally(session, learner(9), STATIN, "2024-03", "after", 1, 1)  # closed whenever this runs
    report = _cli(database_url, tmp_path, "outcomes", "report", "--period", str(YEAR))
    assert report.returncode == 0, report.stderr
    assert "Statins in diabetes (statin-diabetes)" in report.stdout
    assert "5 of 10 as recommended (50%), 5 learners" in report.stdout
    as_json = _cli(
        database_url, tmp_path, "outcomes", "report", "--period", str(YEAR), "--format", "json"
    )
    document = json.loads(as_json.stdout)
    assert document["items"][0]["cards_shown"] == {"value": 5, "learners": 5, "suppressed": False}
    out = tmp_path / "evidence.csv"
    evidence = _cli(
        database_url, tmp_path, "outcomes", "evidence", "--period", str(YEAR), "--out", str(out)
    )
    assert evidence.returncode == 0, evidence.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["family_name"], r["baseline_opportunities"]) for r in rows] == [("Hopper", "2")]
    assert "1 consenting learner(s) left out" in evidence.stderr
    assert "lrn_" not in report.stdout + as_json.stdout + out.read_text() + evidence.stderr
    published = _cli(database_url, tmp_path, "outcomes", "publish-xapi")
    # January of YEAR is closed once February (and a day's grace) has begun
    closed = first_open_month(utcnow()) > f"{YEAR}-01"
    expected = 1 + (5 if closed else 0)
    assert (published.returncode, json.loads(published.stdout)) == (0, {"queued": expected})
    async with sessions() as session:
        queued = (await session.scalars(select(XapiOutboxItem))).all()
    assert {row.event["verb"] for row in queued} == {"experienced"}
