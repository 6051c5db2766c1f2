"""Issue 18, item 6: a learner's given and family names are held apart and used as given.

PARS once split one free-text name: "Elizbeth Ratke, MD" gave the last name "MD", "Maria de
la Cruz" gave "Cruz". A profile written before given and family names existed keeps its name
for certificates, but is never split: it is reported as needing both names."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from pydantic import ValidationError
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit import service as credit
from service.credit.reporting import annual_report
from service.credit.rules import CreditRules
from service.db.engine import transaction
from service.keys import SigningKeys
from tests.credit.factories import NOW, make_item, make_patch, make_profile

Sessions = async_sessionmaker[AsyncSession]
PUBLIC = "https://bedside.test"
# a profile written before given and family names existed
OLD_PROFILE: dict[str, object] = {
    "name": "Maria de la Cruz",
    "given_name": None,
    "family_name": None,
}


async def _claim_one(
    sessions: Sessions, rules: CreditRules, learner: str, **profile: object
) -> uuid.UUID:
    async with transaction(sessions) as session:
        await credit.update_profile(session, learner, make_profile(**profile), now=NOW)
        cycle = await credit.start_cycle(
            session, learner_key=learner, item=make_item(), card_uuid=None, now=NOW
        )
        await credit.update_cycle(session, learner, cycle.id, make_patch(), now=NOW)
        result = await credit.claim(
            session, learner, cycle.id, idempotency_key="k", rules=rules, now=NOW
        )
    return result.entry.id


async def _pars_rows(sessions: Sessions, rules: CreditRules) -> list[dict[str, str]]:
    async with transaction(sessions) as session:
        report = await annual_report(session, 2026, rules, actor="test", now=NOW)
    return list(csv.DictReader(io.StringIO(report.render("pars")), delimiter="\t"))


async def test_pars_reports_the_given_and_family_names_as_given(
    sessions: Sessions, rules: CreditRules
) -> None:
    await _claim_one(
        sessions, rules, "lrn_ratke", name=None, given_name="Elizbeth", family_name="Ratke"
    )
    await _claim_one(
        sessions, rules, "lrn_cruz", name=None, given_name="Maria", family_name="de la Cruz"
    )
    rows = await _pars_rows(sessions, rules)
    names = sorted((r["First Name"], r["Last Name"]) for r in rows)
    assert names == [("Elizbeth", "Ratke"), ("Maria", "de la Cruz")]


async def test_a_profile_with_only_the_old_name_is_never_split(
    sessions: Sessions, rules: CreditRules
) -> None:
    await _claim_one(sessions, rules, "lrn_old", **OLD_PROFILE)
    await _claim_one(
        sessions, rules, "lrn_new", name=None, given_name="Ada", family_name="Lovelace"
    )
    async with transaction(sessions) as session:
        profile = await credit.get_profile(session, "lrn_old")
        report = await annual_report(session, 2026, rules, actor="test", now=NOW)
    assert profile.name == "Maria de la Cruz"  # still readable
    assert profile.display_name == "Maria de la Cruz"
    assert profile.needs_names is True
    assert profile.name_notice is not None
    assert "given and family names" in profile.name_notice
    assert "Cruz" not in profile.name_notice
    rows = list(csv.DictReader(io.StringIO(report.render("pars")), delimiter="\t"))
    assert [(r["First Name"], r["Last Name"]) for r in rows] == [("Ada", "Lovelace")]
    assert "Cruz" not in report.render("pars")
    assert report.needs_names == ["lrn_old"]


async def test_the_profile_holds_both_names_and_shows_them_as_given_then_family(
    sessions: Sessions,
) -> None:
    async with transaction(sessions) as session:
        view = await credit.update_profile(
            session,
            "lrn_names",
            credit.ProfileUpdate(given_name="  Elizbeth ", family_name="Ratke"),
            now=NOW,
        )
        again = await credit.get_profile(session, "lrn_names")
        empty = await credit.get_profile(session, "lrn_nobody")
    assert (view.given_name, view.family_name) == ("Elizbeth", "Ratke")
    assert view.display_name == "Elizbeth Ratke"
    assert view.name is None
    assert view.needs_names is False
    assert view.name_notice is None
    assert again == view
    assert empty.needs_names is True
    assert empty.display_name is None


async def test_certificates_and_badges_name_the_learner_given_then_family(
    sessions: Sessions, rules: CreditRules, signing_keys: SigningKeys
) -> None:
    entry_id = await _claim_one(
        sessions,
        rules,
        "lrn_cert",
        name="Dr. E. Ratke, MD",
        given_name="Elizbeth",
        family_name="Ratke",
    )
    async with transaction(sessions) as session:
        pdf = await credit.certificate_pdf(session, "lrn_cert", rules, entry_id=entry_id, now=NOW)
        token = await credit.open_badge_credential(
            session,
            "lrn_cert",
            entry_id,
            signing_keys=signing_keys,
            rules=rules,
            public_url=PUBLIC,
            now=NOW,
        )
        view = await credit.transcript(session, "lrn_cert", rules)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Elizbeth Ratke" in text
    assert "MD," not in text
    assert (
        credit.verify_credential(token, signing_keys.public_jwks(), now=NOW).learner
        == "Elizbeth Ratke"
    )
    assert view.name == "Elizbeth Ratke"


async def test_an_old_profile_still_gets_its_certificate_under_the_name_it_gave(
    sessions: Sessions, rules: CreditRules
) -> None:
    entry_id = await _claim_one(sessions, rules, "lrn_legacy", **OLD_PROFILE)
    async with transaction(sessions) as session:
        pdf = await credit.certificate_pdf(session, "lrn_legacy", rules, entry_id=entry_id, now=NOW)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Maria de la Cruz" in text


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"given_name": "x" * 101}, "given_name", "Your given name can be at most 100 characters."),
        (
            {"family_name": "x" * 101},
            "family_name",
            "Your family name can be at most 100 characters.",
        ),
        (
            {"family_name": "Ratke, MD"},
            "family_name",
            "Please give your family name only, without a comma, degree or title (such as MD).",
        ),
        (
            {"given_name": "Ada\x00"},
            "given_name",
            "Your given name has a character we cannot print.",
        ),
        ({"npi": "12345"}, "npi", "An NPI is 10 digits."),
        ({"birth_month": 13}, "birth_month", "Your birth month is a number from 1 to 12."),
        ({"birth_day": 0}, "birth_day", "Your birth day is a number from 1 to 31."),
        ({"profession": "wizard"}, "profession", "Please choose your profession from the list."),
    ],
)
def test_profile_validation_speaks_plain_words(
    fields: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as error:
        credit.ProfileUpdate.model_validate(fields)
    (problem,) = error.value.errors()
    assert problem["loc"] == (field,)
    assert problem["msg"] == message


def test_blank_names_clear_and_spaces_fold() -> None:
    update = credit.ProfileUpdate(given_name="   ", family_name="de  la\tCruz")
    assert update.given_name is None
    assert update.family_name == "de la Cruz"
