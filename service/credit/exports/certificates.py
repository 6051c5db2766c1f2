"""Certificate PDFs (fpdf2): one per ledger entry, or one per period summarising it.

A certificate names the participant, the activity, the credit statement and amount, the
dates, the accredited provider (name, address, ACCME id) and the designation or approver
statement. Built-in PDF fonts in Windows-1252, so the ™ sign survives and the text
extracts back exactly; characters outside that code page become '?'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # fpdf2 costs ~30 MB and 0.25 s to import: only PDF requests pay it
    from fpdf import FPDF

from service.credit.rules import CreditRules
from service.credit.schemas import LedgerEntryView

ENCODING = "windows-1252"


def _safe(text: str) -> str:
    return text.encode(ENCODING, "replace").decode(ENCODING)


@dataclass(frozen=True)
class CertificateLine:
    """One credit line: a credit type and amount for an activity."""

    credit_label: str
    unit: str
    amount: float
    activity_title: str
    activity_id: str
    statement: str


@dataclass(frozen=True)
class Certificate:
    """Everything printed on one certificate."""

    title: str
    participant: str
    profession: str | None
    period: str
    issued_on: date
    lines: list[CertificateLine]
    topics: list[str] = field(default_factory=list)


def lines_for(entries: list[LedgerEntryView], rules: CreditRules) -> list[CertificateLine]:
    """Net amounts per (credit type, activity), skipping fully reversed ones."""
    sums: dict[tuple[str, str], float] = {}
    titles: dict[str, str] = {}
    for e in entries:
        sums[(e.credit_type, e.activity_id)] = (
            sums.get((e.credit_type, e.activity_id), 0.0) + e.amount
        )
        titles[e.activity_id] = e.activity_title
    lines = []
    for (type_id, activity_id), amount in sorted(sums.items()):
        if round(amount, 2) <= 0:
            continue
        credit_type = rules.credit_type(type_id) if _known(rules, type_id) else None
        lines.append(
            CertificateLine(
                credit_label=credit_type.label if credit_type else type_id,
                unit=credit_type.unit if credit_type else "credits",
                amount=round(amount, 2),
                activity_title=titles[activity_id],
                activity_id=activity_id,
                statement=(
                    credit_type.designation_for(rules.activities.format_of(activity_id), amount)
                    if credit_type
                    else ""
                ),
            )
        )
    return lines


def _known(rules: CreditRules, type_id: str) -> bool:
    return any(t.id == type_id for t in rules.credit_types)


def entry_period(earned_on: date) -> str:
    """The period of a one-entry certificate: the day the credit was earned."""
    return earned_on.strftime("%d %B %Y")


def year_period(year: int) -> str:
    """The period of a calendar year's certificate."""
    return f"1 January {year} - 31 December {year}"


def _title(entries: list[LedgerEntryView], rules: CreditRules) -> str:
    types = {e.credit_type for e in entries}
    participation = {t.id for t in rules.credit_types if t.is_participation}
    return "Certificate of Participation" if types <= participation else "Certificate of Credit"


def certificate(
    entries: list[LedgerEntryView],
    *,
    participant: str,
    profession: str | None,
    period: str,
    issued_on: date,
    rules: CreditRules,
) -> Certificate:
    """The certificate of `entries` (standing claims); no `lines`: nothing to certify."""
    return Certificate(
        title=_title(entries, rules),
        participant=participant,
        profession=profession,
        period=period,
        issued_on=issued_on,
        lines=lines_for(entries, rules),
        topics=sorted({e.topic for e in entries}),
    )


def _heading(pdf: FPDF, cert: Certificate, rules: CreditRules) -> None:
    pdf.set_font("helvetica", "B", 20)
    pdf.multi_cell(0, 10, _safe(cert.title), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 11)
    pdf.multi_cell(0, 6, _safe(rules.provider.name), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 6, _safe(rules.provider.address), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.multi_cell(0, 7, "This certifies that", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "B", 16)
    pdf.multi_cell(0, 10, _safe(cert.participant), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 11)
    pdf.multi_cell(
        0, 7, _safe(f"completed on {cert.period}:"), align="C", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.ln(3)


def _body(pdf: FPDF, cert: Certificate) -> None:
    for line in cert.lines:
        pdf.set_font("helvetica", "B", 12)
        pdf.multi_cell(0, 7, _safe(line.activity_title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "", 11)
        text = f"{line.amount:g} {line.credit_label} ({line.unit}); activity {line.activity_id}"
        pdf.multi_cell(0, 6, _safe(text), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "I", 9)
        pdf.multi_cell(0, 5, _safe(line.statement), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    if cert.topics:
        pdf.set_font("helvetica", "", 9)
        pdf.multi_cell(
            0, 5, _safe("Topics: " + "; ".join(cert.topics)), new_x="LMARGIN", new_y="NEXT"
        )


def _footer(pdf: FPDF, cert: Certificate, rules: CreditRules) -> None:
    pdf.ln(4)
    pdf.set_font("helvetica", "", 9)
    for text in (rules.statements.accreditation, rules.statements.disclosure):
        pdf.multi_cell(0, 5, _safe(text), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    pdf.multi_cell(
        0,
        5,
        _safe(
            f"Accredited provider: {rules.provider.name}, ACCME ID {rules.provider.accme_id}. "
            f"Issued {cert.issued_on.isoformat()}."
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )


def render_certificate(cert: Certificate, rules: CreditRules) -> bytes:
    """The certificate as PDF bytes."""
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="Letter")
    pdf.core_fonts_encoding = ENCODING
    pdf.set_title(_safe(cert.title))
    pdf.set_author(_safe(rules.provider.name))
    # deterministic output: the issue date, not the wall-clock time of rendering
    pdf.set_creation_date(datetime.combine(cert.issued_on, time(), tzinfo=UTC))
    pdf.add_page()
    _heading(pdf, cert, rules)
    _body(pdf, cert)
    _footer(pdf, cert, rules)
    return bytes(pdf.output())
