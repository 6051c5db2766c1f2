"""The whole flow over HTTP, as a clinician lives it: the EHR fires a hook, shows the card,
the clinician clicks its smart link, signs in through the EHR, learns, reflects, claims, and
finds the credit in the transcript. Both client authentication methods."""

from __future__ import annotations

import asyncio
import html
import io
import re
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader

from service.cli import main
from tests.e2e.world import World

BEDSIDE = "https://bedside.test"
EHR = "https://ehr.test"
PROFILE = {
    "given_name": "Dana",
    "family_name": "Demo",
    "profession": "physician-md",
    "npi": "1234567893",
    "birth_month": "4",
    "birth_day": "12",
    "consent_to_report": "yes",
}


def _patient(world: World, given: str) -> str:
    for patient in world.config.patients.patients():
        if any(given in " ".join(n.get("given", [])) for n in patient.get("name", [])):
            return str(patient["id"])
    raise AssertionError(given)


def _cards(page: httpx.Response) -> list[tuple[str, str]]:
    """(summary, smart link) of each card the simulator rendered."""
    found = []
    for card in re.findall(r'<section class="card[^"]*">(.*?)</section>', page.text, re.S):
        summary = re.search(r"<h3>(.*?)</h3>", card, re.S)
        link = re.search(r'class="smart-link" href="([^"]+)"', card)
        if summary and link:
            found.append((html.unescape(summary.group(1)), html.unescape(link.group(1))))
    return found


async def _find_card(world: World, *, case: bool) -> tuple[str, str]:
    """The first card (patient-view, then order-sign for an opioid) of the wanted kind."""
    for patient in world.config.patients.patients():
        for chart in (
            await world.browser.get(f"{EHR}/chart/{patient['id']}"),
            await world.browser.post(f"{EHR}/chart/{patient['id']}/prescribe"),
        ):
            assert chart.status_code == 200
            for summary, link in _cards(chart):
                if _is_case(world, summary) == case:
                    return summary, link
    raise AssertionError("no card of the wanted kind for any bundled patient")


def _is_case(world: World, summary: str) -> bool:
    """Whether the card with this summary is a case (summaries are shown unshortened)."""
    return any(item.summary == summary and item.type == "case" for item in world.runtime.content)


async def _open_card(world: World, link: str) -> str:
    """Smart link -> launch -> authorize -> callback; returns the learn page's path."""
    assert link.startswith(BEDSIDE + "/app/launch?iss=")
    response = await world.follow(await world.browser.get(link))
    assert response.status_code == 200, response.text
    path = response.url.path
    assert path.startswith("/app/cycles/")
    return path


async def _reflect_claim_and_check(
    world: World, path: str, title: str, amount: float = 0.5
) -> None:
    csrf = re.search(r'name="csrf" value="([^"]+)"', (await world.browser.get(BEDSIDE + path)).text)
    assert csrf
    token = csrf.group(1)
    saved = await world.browser.post(BEDSIDE + "/app/profile", data={"csrf": token, **PROFILE})
    assert saved.status_code == 303
    reflect = await world.browser.get(BEDSIDE + path + "/reflect")
    assert reflect.status_code == 200
    claimed = await world.browser.post(
        BEDSIDE + path + "/reflect",
        data={
            "csrf": token,
            "question": "How should I manage this?",
            "application": "changed-management",
            "action": "claim",
        },
    )
    assert claimed.headers["location"] == "/app/?notice=claimed", claimed.text
    home = await world.browser.get(BEDSIDE + "/app/?notice=claimed")
    assert "Credit claimed" in home.text
    assert title in html.unescape(home.text)
    api = await world.browser.get(BEDSIDE + "/api/learner/transcript")
    assert api.json()["entries"][0]["amount"] == amount


async def test_guideline_card_to_transcript(world: World) -> None:
    _, link = await _find_card(world, case=False)
    path = await _open_card(world, link)
    cycle = await world.browser.get(BEDSIDE + "/api/learner/cycles/" + path.rsplit("/", 1)[1])
    item = world.runtime.content.get(cycle.json()["item_id"])
    assert item is not None
    learn = await world.browser.get(BEDSIDE + path)
    assert html.escape(item.source.organization) in learn.text
    await _reflect_claim_and_check(world, path, item.title)


async def test_order_sign_fires_for_an_opioid_prescription(world: World) -> None:
    chart = await world.browser.post(f"{EHR}/chart/{_patient(world, 'Delbert')}/prescribe")
    assert chart.status_code == 200
    assert "order-sign" in chart.text
    assert _cards(chart), "an opioid order for a patient on a benzodiazepine gets a card"


async def test_case_card_to_transcript(world: World) -> None:
    _, link = await _find_card(world, case=True)
    path = await _open_card(world, link)
    cycle = await world.browser.get(BEDSIDE + "/api/learner/cycles/" + path.rsplit("/", 1)[1])
    item = world.runtime.content.get(cycle.json()["item_id"])
    assert item is not None
    assert item.case is not None
    right = {f"q_{q.id}": next(o.id for o in q.options if o.correct) for q in item.case.questions}
    page = await world.browser.get(BEDSIDE + path)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    answered = await world.browser.post(
        BEDSIDE + path + "/answers", data={"csrf": csrf.group(1), **right}
    )
    assert answered.status_code == 303
    learn = await world.browser.get(BEDSIDE + path)
    assert "correctly (100%)" in learn.text
    assert "You passed." in learn.text
    # a case earns credit for its minutes (1 AMA credit an hour, in quarter credits)
    ama = world.runtime.credit_rules.credit_type("ama-pra-1")
    amount = ama.amount_for("enduring", item.case.minutes)
    await _reflect_claim_and_check(world, path, item.title, amount)


async def test_signed_in_as_chooses_the_clinician_whose_charts_open(world: World) -> None:
    first, second = (p["id"] for p in world.config.patients.practitioners()[:2])
    page = await world.browser.get(f"{EHR}/", params={"practitioner": second})
    assert page.status_code == 200
    assert re.search(
        r'<form method="get" action="/" id="who">.*?<button type="submit"', page.text, re.S
    )
    assert f'<option value="{second}" selected>' in page.text
    charts = re.findall(r'class="open-chart" href="([^"]+)"', page.text)
    assert charts
    assert all(html.unescape(c).endswith(f"practitioner={second}") for c in charts)
    assert first not in "".join(charts)
    chart = await world.browser.get(EHR + html.unescape(charts[0]))
    assert f'href="/?practitioner={second}"' in chart.text  # back to the list, still them


async def test_the_ehr_fhir_api_needs_its_token(world: World) -> None:
    patient = _patient(world, "Liz")
    response = await world.browser.get(f"{EHR}/fhir/Patient/{patient}")
    assert response.status_code == 401


async def test_claimed_credit_reaches_every_output(
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The SMART flow ends in a certificate PDF, a CSV, xAPI statements, a PARS file and a
    signed Open Badge that `bedside credential verify` accepts, and rejects when one byte is
    changed."""
    _, link = await _find_card(world, case=False)
    path = await _open_card(world, link)
    await _reflect_claim_and_check(world, path, "")
    entry = (await world.browser.get(BEDSIDE + "/api/learner/transcript")).json()["entries"][0]
    api = BEDSIDE + "/api/learner"
    pdf = await world.browser.get(f"{api}/entries/{entry['id']}/certificate.pdf")
    assert pdf.status_code == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Dana Demo" in text
    assert "AMA PRA Category 1" in text
    csv_export = await world.browser.get(f"{api}/export.csv")
    assert entry["id"] in csv_export.text
    verbs = [s["verb"]["display"]["en-US"] for s in (await world.browser.get(f"{api}/xapi")).json()]
    assert "earned" in verbs
    badge = (await world.browser.get(f"{api}/entries/{entry['id']}/badge")).text.strip()

    settings = world.runtime.settings
    monkeypatch.setenv("BEDSIDE_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("BEDSIDE_DATA_DIR", str(settings.data_dir))
    year = entry["earned_on"][:4]
    pars = tmp_path / "pars.txt"
    report = ["credit", "report", "--period", year, "--out", str(pars)]
    assert await asyncio.to_thread(main, report) == 0
    assert "Demo" in pars.read_text()
    good, bad = tmp_path / "badge.jwt", tmp_path / "tampered.jwt"
    good.write_text(badge)
    middle = len(badge) // 2
    bad.write_text(badge[:middle] + ("A" if badge[middle] != "A" else "B") + badge[middle + 1 :])
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["credential", "verify", str(good)]) == 0
    assert await asyncio.to_thread(main, ["credential", "verify", str(bad)]) == 1
