"""Certificate PDFs (fpdf2): one per ledger entry, or one per period summarising it.

A certificate names the participant, the activity, the credit statement and amount, the
dates, the accredited provider (name, address, ACCME id) and the designation or approver
statement. Built-in PDF fonts in Windows-1252, so the ™ sign survives and the text
extracts back exactly; characters outside that code page become '?'.

Each line prints the designation of its entries' own learning format (`designation.poc` or
`.enduring`), whatever the activity is called today, and its amount once, in the AMA PRA
form ("0.5 AMA PRA Category 1 Credit™", the credit type's `amount_text`); a period's
certificate ends with a total line per credit type.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # fpdf2 costs ~30 MB and 0.25 s to import: only PDF requests pay it
    from fpdf import FPDF

from service.credit.rules import CreditRules, CreditType
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
    amount_text: str = ""  # the amount with its name, e.g. "0.5 AMA PRA Category 1 Credit™"


@dataclass(frozen=True)
class Certificate:
    """Everything printed on one certificate; `totals` are a period's total lines."""

    title: str
    participant: str
    profession: str | None
    period: str
    issued_on: date
    lines: list[CertificateLine]
    topics: list[str] = field(default_factory=list)
    totals: list[str] = field(default_factory=list)


def _credit_type(rules: CreditRules, type_id: str) -> CreditType | None:
    """The credit type, if the rules still have it."""
    return next((t for t in rules.credit_types if t.id == type_id), None)


def _line(
    group: list[LedgerEntryView], amount: float, credit_type: CreditType | None, rules: CreditRules
) -> CertificateLine:
    """The line of one (credit type, activity): its format is its entries' (the rules' format
    of the activity only for entries that do not know theirs)."""
    first = group[0]
    known = next((e.credit_format for e in group if e.credit_format is not None), None)
    credit_format = known or rules.activities.format_of(first.activity_id)
    if credit_type is None:  # a type since removed from the rules: its id still says what
        text = f"{amount:g} {first.credit_type}"
        return CertificateLine(
            first.credit_type, "", amount, first.activity_title, first.activity_id, "", text
        )
    return CertificateLine(
        credit_label=credit_type.label,
        unit=credit_type.unit,
        amount=amount,
        activity_title=first.activity_title,
        activity_id=first.activity_id,
        statement=credit_type.designation_for(credit_format, amount),
        amount_text=credit_type.amount_text(amount),
    )


def lines_for(entries: list[LedgerEntryView], rules: CreditRules) -> list[CertificateLine]:
    """Net amounts per (credit type, activity), skipping fully reversed ones."""
    groups: dict[tuple[str, str], list[LedgerEntryView]] = defaultdict(list)
    for e in entries:
        groups[(e.credit_type, e.activity_id)].append(e)
    lines = []
    for (type_id, _activity), group in sorted(groups.items()):
        amount = round(sum(e.amount for e in group), 2)
        if amount > 0:
            lines.append(_line(group, amount, _credit_type(rules, type_id), rules))
    return lines


def total_lines(entries: list[LedgerEntryView], rules: CreditRules, label: str) -> list[str]:
    """A period's totals, one per credit type with credit left: "Total for 2026: 1.75 AMA
    PRA Category 1 Credits™"."""
    sums: dict[str, float] = defaultdict(float)
    for e in entries:
        sums[e.credit_type] += e.amount
    texts = []
    for type_id, amount in sorted(sums.items()):
        credit_type, amount = _credit_type(rules, type_id), round(amount, 2)
        if amount > 0:
            named = credit_type.amount_text(amount) if credit_type else f"{amount:g} {type_id}"
            texts.append(f"{label}: {named}")
    return texts


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
    total_label: str | None = None,
) -> Certificate:
    """The certificate of `entries` (standing claims); no `lines`: nothing to certify. With
    `total_label` ("Total for 2026"), it ends with a total per credit type."""
    return Certificate(
        title=_title(entries, rules),
        participant=participant,
        profession=profession,
        period=period,
        issued_on=issued_on,
        lines=lines_for(entries, rules),
        topics=sorted({e.topic for e in entries}),
        totals=total_lines(entries, rules, total_label) if total_label else [],
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
        text = f"Awarded {line.amount_text}. Activity ID {line.activity_id}."
        pdf.multi_cell(0, 6, _safe(text), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "I", 9)
        pdf.multi_cell(0, 5, _safe(line.statement), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    pdf.set_font("helvetica", "B", 12)
    for total in cert.totals:
        pdf.multi_cell(0, 7, _safe(total), new_x="LMARGIN", new_y="NEXT")
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
