"""Learner outputs: certificate PDFs read back with pypdf, CSV, xAPI statements, PARS files."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit import audit
from service.credit import service as credit
from service.credit.reporting import annual_report
from service.credit.rules import CreditRules
from service.db.engine import transaction
from service.errors import Conflict, Unprocessable
from tests.credit.factories import NOW, make_item, make_patch, make_profile

Sessions = async_sessionmaker[AsyncSession]
LEARNER = "lrn_" + "c" * 40
PUBLIC = "https://bedside.test"


async def _claimed(
    sessions: Sessions, rules: CreditRules, learner: str = LEARNER, n: int = 1, **profile: object
) -> list[credit.ClaimResult]:
    results = []
    async with transaction(sessions) as session:
        await credit.update_profile(session, learner, make_profile(**profile), now=NOW)
        for i in range(n):
            item = make_item(item_id=f"guideline-{i}", title=f"Topic {i}")
            cycle = await credit.start_cycle(
                session, learner_key=learner, item=item, card_uuid=str(uuid.uuid4()), now=NOW
            )
            await credit.update_cycle(session, learner, cycle.id, make_patch(), now=NOW)
            results.append(
                await credit.claim(
                    session, learner, cycle.id, idempotency_key=f"k{i}", rules=rules, now=NOW
                )
            )
    return results


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def test_entry_certificate_reads_back(sessions: Sessions, rules: CreditRules) -> None:
    (result,) = await _claimed(sessions, rules)
    async with transaction(sessions) as session:
        pdf = await credit.certificate_pdf(
            session, LEARNER, rules, entry_id=result.entry.id, now=NOW
        )
        actions = [e.action for e in await audit.events(session, LEARNER)]
    text = " ".join(_pdf_text(pdf).split())
    assert pdf.startswith(b"%PDF")
    assert "Certificate of Credit" in text
    assert "Ada Lovelace" in text
    assert "0.5 AMA PRA Category 1 Credit™" in text
    assert "BEDSIDE-POC-2026" in text
    assert rules.provider.name in text
    assert rules.provider.address in text
    assert "designates this Internet point-of-care activity" in text
    assert "15 June 2026" in text
    assert "export.certificate" in actions


async def test_a_case_earns_credit_for_its_minutes_under_the_enduring_designation(
    sessions: Sessions, rules: CreditRules
) -> None:
    case = make_item(
        item_id="case-gout-first-urate-lowering",
        item_type="case",
        title="Gout: first urate-lowering therapy",
        credit_format="enduring",
        passing_score=0.66,
        case_minutes=45,
    )
    async with transaction(sessions) as session:
        await credit.update_profile(session, LEARNER, make_profile(), now=NOW)
        cycle = await credit.start_cycle(
            session, learner_key=LEARNER, item=case, card_uuid="case-card", now=NOW
        )
        patch = make_patch(case_score=0.67, case_passed=True)
        await credit.update_cycle(session, LEARNER, cycle.id, patch, now=NOW)
        result = await credit.claim(
            session, LEARNER, cycle.id, idempotency_key="case", rules=rules, now=NOW
        )
        pdf = await credit.certificate_pdf(
            session, LEARNER, rules, entry_id=result.entry.id, now=NOW
        )
    # AMA: 45 minutes of enduring material is 0.75 credit
    assert result.entry.amount == 0.75
    assert "designates this enduring material for a maximum of 0.75" in result.credit_statement
    text = " ".join(_pdf_text(pdf).split())
    assert "0.75 AMA PRA Category 1 Credit™" in text
    assert "designates this enduring material for a maximum of 0.75 AMA PRA" in text
    assert "point-of-care" not in text


async def test_period_certificate_sums_the_year(sessions: Sessions, rules: CreditRules) -> None:
    results = await _claimed(sessions, rules, n=3)
    async with transaction(sessions) as session:
        await credit.reverse_entry(
            session, results[0].entry.id, reason="error", actor="admin", rules=rules, now=NOW
        )
        pdf = await credit.certificate_pdf(session, LEARNER, rules, year=2026, now=NOW)
        with pytest.raises(Conflict):
            await credit.certificate_pdf(session, LEARNER, rules, entry_id=results[0].entry.id)
    text = " ".join(_pdf_text(pdf).split())
    assert "1 AMA PRA Category 1 Credit™" in text
    assert "1 January 2026 - 31 December 2026" in text


async def test_participation_certificate(sessions: Sessions, rules: CreditRules) -> None:
    (result,) = await _claimed(sessions, rules, profession="physician-assistant")
    async with transaction(sessions) as session:
        pdf = await credit.certificate_pdf(
            session, LEARNER, rules, entry_id=result.entry.id, now=NOW
        )
    assert "Certificate of Participation" in _pdf_text(pdf)


async def test_certificate_needs_a_name(sessions: Sessions, rules: CreditRules) -> None:
    (result,) = await _claimed(sessions, rules)
    async with transaction(sessions) as session:
        nameless = make_profile(given_name=None, family_name=None)
        await credit.update_profile(session, "lrn_nameless", nameless, now=NOW)
        with pytest.raises(Unprocessable):
            await credit.certificate_pdf(session, "lrn_nameless", rules, entry_id=result.entry.id)


async def test_csv_lists_claims_and_reversals(sessions: Sessions, rules: CreditRules) -> None:
    results = await _claimed(sessions, rules, n=2)
    async with transaction(sessions) as session:
        await credit.reverse_entry(
            session,
            results[1].entry.id,
            reason="=HYPERLINK(1)",
            actor="admin",
            rules=rules,
            now=NOW,
        )
        text = await credit.export_csv(session, LEARNER, rules)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["kind"] for r in rows] == ["claim", "claim", "reversal"]
    assert [r["amount"] for r in rows] == ["0.5", "0.5", "-0.5"]
    assert rows[2]["reverses_id"] == str(results[1].entry.id)
    assert rows[2]["reason"] == "'=HYPERLINK(1)"  # no formula injection
    assert rows[0]["earned_on"] == "2026-06-15"
    assert "npi" not in text.lower()


async def test_xapi_statements(sessions: Sessions, rules: CreditRules) -> None:
    (_result,) = await _claimed(sessions, rules)
    async with transaction(sessions) as session:
        statements = await credit.xapi_statements(session, LEARNER, public_url=PUBLIC)
    verbs = [s["verb"]["display"]["en-US"] for s in statements]
    assert verbs == ["launched", "answered", "completed", "earned"]
    for statement in statements:
        assert statement["version"] == "1.0.3"
        assert statement["actor"] == {
            "objectType": "Agent",
            "account": {"homePage": PUBLIC, "name": LEARNER},
        }
        assert statement["object"]["id"] == f"{PUBLIC}/activities/guideline-0"
        uuid.UUID(statement["id"])
    earned = statements[-1]
    assert earned["verb"]["id"] == "http://id.tincanapi.com/verb/earned"
    ext = next(iter(earned["result"]["extensions"].values()))
    assert ext == {"creditType": "ama-pra-1", "amount": 0.5, "activity": "BEDSIDE-POC-2026"}
    assert "1234567893" not in str(statements)  # never the NPI


async def test_pars_report(sessions: Sessions, rules: CreditRules) -> None:
    await _claimed(sessions, rules, learner="lrn_abim", n=3)
    await _claimed(
        sessions,
        rules,
        learner="lrn_abp",
        n=3,
        given_name="Grace",
        family_name="Hopper",
        board_ids=[{"board": "ABP", "id": "P-77"}],
    )
    await _claimed(sessions, rules, learner="lrn_private", n=2, consent_to_report=False)
    await _claimed(sessions, rules, learner="lrn_nurse", n=1, profession="registered-nurse")
    async with transaction(sessions) as session:
        report = await annual_report(session, 2026, rules, actor="test", now=NOW)
        empty = await annual_report(session, 2025, rules, actor="test", now=NOW)
    assert report.learners == 4
    assert report.summary == [
        [
            "2026",
            "BEDSIDE-POC-2026",
            "Bedside Internet Point-of-Care Learning 2026",
            "ama-pra-1",
            "3",
            "4",
        ],
        [
            "2026",
            "BEDSIDE-POC-2026",
            "Bedside Internet Point-of-Care Learning 2026",
            "ancc-contact-hours",
            "1",
            "0.5",
        ],
    ]
    rows = list(csv.DictReader(io.StringIO(report.render("pars")), delimiter="\t"))
    abim = [r for r in rows if r["Board"] == "ABIM"]
    abp = [r for r in rows if r["Board"] == "ABP"]
    assert len(abim) == 3
    assert {r["Credits"] for r in abim} == {"0.5"}
    assert len(abp) == 1
    assert abp[0]["Credits"] == "1.5"
    assert abp[0]["First Name"] == "Grace"
    assert abp[0]["Last Name"] == "Hopper"
    assert abp[0]["DOB Month"] == "12"
    assert abp[0]["DOB Day"] == "10"
    assert abp[0]["Completion Date"] == "06/15/2026"
    assert abp[0]["Permission"] == "Y"
    assert all(r["Board ID"] for r in rows)
    assert len(rows) == 4  # the non-consenting learner and the nurse are absent
    assert empty.learners == 0
    assert empty.render("pars").count("\n") == 1
    assert "ama-pra-1" in report.render("csv")


async def test_window_and_year_boundary_use_completion_date(
    sessions: Sessions, rules: CreditRules
) -> None:
    late = NOW.replace(month=12, day=31, hour=23)
    async with transaction(sessions) as session:
        await credit.update_profile(session, LEARNER, make_profile(), now=late)
        cycle = await credit.start_cycle(
            session, learner_key=LEARNER, item=make_item(), card_uuid=None, now=late
        )
        await credit.update_cycle(session, LEARNER, cycle.id, make_patch(), now=late)
        result = await credit.claim(
            session,
            LEARNER,
            cycle.id,
            idempotency_key="k",
            rules=rules,
            now=late + timedelta(days=3),
        )
    assert result.entry.earned_on.year == 2026
    assert result.entry.activity_id == "BEDSIDE-POC-2026"
