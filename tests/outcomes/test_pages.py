"""The education pages: sign-in by pasting a token (double-submit CSRF), an 8-hour signed
session cookie (HttpOnly, SameSite=Strict, Secure, `__Host-` on https) that never holds the
token, a revoked lead signed out at the next click, sign-out with CSRF, the dashboard (the
report's cells, suppression said in plain words, an SVG chart with its table) and the
downloads in a browser session."""

from __future__ import annotations

import re
import time
import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit.models import AuditEvent
from service.db.engine import transaction
from service.outcomes import credentials
from service.outcomes.web import session_value
from service.settings import Settings
from tests.outcomes.factories import NSAID, STATIN, YEAR, at, card, cycle, learner, profile, tally

Sessions = async_sessionmaker[AsyncSession]
SESSION = "__Host-bedside_education"  # the test deployment is https
FORM = "__Host-bedside_education_form"


async def _lead(sessions: Sessions, name: str = "Dr A") -> tuple[uuid.UUID, str]:
    async with transaction(sessions) as session:
        lead, token = await credentials.add_lead(session, name, actor="test", now=at(1))
    return lead.id, token


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert found, f"no {name} field"
    return found.group(1)


async def _sign_in(client: httpx.AsyncClient, token: str) -> httpx.Response:
    form = await client.get("/education/sign-in")
    assert form.status_code == 200
    return await client.post(
        "/education/sign-in", data={"csrf": _hidden(form.text, "csrf"), "token": token}
    )


def _cookie_header(response: httpx.Response, name: str) -> str:
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(name + "=")]
    assert headers, f"no {name} cookie set"
    return headers[-1]


async def test_without_a_session_the_dashboard_sends_to_sign_in(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/education/", "/education/report.csv", "/education/evidence.csv"):
        response = await client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/education/sign-in"


async def test_signing_in_sets_a_strict_signed_cookie_without_the_token(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    lead_id, token = await _lead(sessions, "Dr Ada Example")
    form = await client.get("/education/sign-in")
    form_cookie = _cookie_header(form, FORM).lower()
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= {
        part.strip() for part in form_cookie.split(";")
    }
    assert 'type="password"' in form.text
    signed_in = await client.post(
        "/education/sign-in", data={"csrf": _hidden(form.text, "csrf"), "token": token}
    )
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/education/")
    cookie = _cookie_header(signed_in, SESSION)
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "samesite=strict", "path=/", "max-age=28800"} <= attributes
    value = cookie.split(";")[0].split("=", 1)[1]
    assert token not in cookie
    assert value.split(".")[0] == lead_id.hex
    page = await client.get("/education/")
    assert page.status_code == 200
    assert "Dr Ada Example" in page.text
    assert token not in page.text
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'none'" in csp
    assert page.headers["cache-control"] == "no-store"


async def test_a_signed_in_browser_skips_the_sign_in_form(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    _, token = await _lead(sessions)
    await _sign_in(client, token)
    again = await client.get("/education/sign-in")
    assert (again.status_code, again.headers["location"]) == (303, "/education/")


async def test_sign_in_refusals_say_what_to_do(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    await _lead(sessions)
    wrong = await _sign_in(client, "bel_not-a-real-token")
    assert wrong.status_code == 401
    assert "not recognised" in wrong.text
    assert "ask hospital IT for a new one" in wrong.text
    admin = await _sign_in(client, "test-admin-token")
    assert admin.status_code == 401
    assert not any(c.startswith(SESSION + "=") for c in admin.headers.get_list("set-cookie"))
    # no form token (a post from another site): refused before the token is even looked at
    client.cookies.clear()
    forged = await client.post("/education/sign-in", data={"csrf": "x", "token": "bel_x"})
    assert forged.status_code == 403
    assert "reload the page" in forged.text
    assert 'href="/education/sign-in"' in forged.text  # a way on


async def test_revoking_a_lead_ends_its_browser_session(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    lead_id, token = await _lead(sessions)
    await _sign_in(client, token)
    assert (await client.get("/education/")).status_code == 200
    async with transaction(sessions) as session:
        await credentials.revoke_lead(session, lead_id, actor="test", now=at(2))
    after = await client.get("/education/")
    assert (after.status_code, after.headers["location"]) == (303, "/education/sign-in")


async def test_forged_and_expired_cookies_are_not_sessions(
    client: httpx.AsyncClient, sessions: Sessions, settings: Settings
) -> None:
    lead_id, _ = await _lead(sessions)
    secret = settings.resolved_secret_key()
    expired = session_value(secret, lead_id, int(time.time()) - 1)
    genuine = session_value(secret, lead_id, int(time.time()) + 60)
    other = session_value(b"another-secret-of-at-least-32-bytes!!", lead_id, int(time.time()) + 60)
    tampered = genuine.replace(lead_id.hex, uuid.uuid4().hex)
    for value in (expired, other, tampered, "garbage", genuine + "x"):
        client.cookies.set(SESSION, value, domain="bedside.test")
        response = await client.get("/education/")
        assert response.status_code == 303, value
    client.cookies.set(SESSION, genuine, domain="bedside.test")
    assert (await client.get("/education/")).status_code == 200


async def test_signing_out_needs_the_pages_csrf_token(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    _, token = await _lead(sessions)
    await _sign_in(client, token)
    page = await client.get("/education/")
    refused = await client.post("/education/sign-out", data={"csrf": "forged"})
    assert refused.status_code == 403
    assert (await client.get("/education/")).status_code == 200  # still signed in
    out = await client.post("/education/sign-out", data={"csrf": _hidden(page.text, "csrf")})
    assert (out.status_code, out.headers["location"]) == (
        303,
        "/education/sign-in?notice=signed-out",
    )
    assert "max-age=0" in _cookie_header(out, SESSION).lower()
    assert (await client.get("/education/")).status_code == 303
    assert "You are signed out." in (await client.get("/education/sign-in?notice=signed-out")).text


async def _practice(sessions: Sessions) -> None:
    """Statins: 6 learners before (18 of 60), 5 after (40 of 50); NSAID: 2 learners."""
    async with transaction(sessions) as session:
        for n in range(6):
            tally(session, learner(n), STATIN, f"{YEAR}-01", "before", 10, 3)
            await card(session, learner(n), STATIN, at(2))
        for n in range(5):
            tally(session, learner(n), STATIN, f"{YEAR}-06", "after", 10, 8)
        for n in range(2):
            await card(session, learner(n), NSAID, at(2))
        profile(session, learner(0), given="Grace", family="Hopper")
        cycle(session, learner(0), STATIN, at(3), completed=at(3, 20))
        profile(session, learner(1), given=None, family=None)  # consents, gave no name
        cycle(session, learner(1), STATIN, at(3), completed=at(3, 21))


async def test_the_dashboard_shows_cells_charts_and_suppression(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    await _practice(sessions)
    _, token = await _lead(sessions)
    await _sign_in(client, token)
    page = (await client.get(f"/education/?period={YEAR}")).text
    assert f"Outcomes of {YEAR}" in page
    assert f'<option value="{YEAR}" selected>' in page
    statin = page[page.index("Statins in diabetes") :]
    # 30% before and 80% after: bars of 24 and 64 on a scale where 100% is 80 units
    assert '<rect class="bar before" x="40.0" y="71.0" width="60.0" height="24.0"/>' in statin
    assert '<rect class="bar after" x="140.0" y="31.0" width="60.0" height="64.0"/>' in statin
    assert "<td>18 of 60 (30%)</td><td>6</td>" in statin
    assert "<td>40 of 50 (80%)</td><td>5</td>" in statin
    nsaid = page[page.index(NSAID) :]
    assert "fewer than 5 learners: hidden to protect privacy" in nsaid
    assert "lrn_" not in page
    for link in ("report.csv", "report.json", "evidence.csv"):
        assert f'href="/education/{link}?period={YEAR}"' in page
    words = " ".join(page.split())
    assert "completed the activity in 2026: 1 row." in words  # the evidence file: Grace
    assert "1 clinician is left out because their profile has no given and family name" in words


async def test_a_bad_period_is_explained(client: httpx.AsyncClient, sessions: Sessions) -> None:
    _, token = await _lead(sessions)
    await _sign_in(client, token)
    page = await client.get("/education/?period=20x6")
    assert page.status_code == 400
    assert "Choose a year between 2000 and 2100" in page.text
    assert 'href="/education/"' in page.text


async def test_downloads_in_a_browser_session_are_audited(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    await _practice(sessions)
    lead_id, token = await _lead(sessions)
    await _sign_in(client, token)
    report = await client.get(f"/education/report.csv?period={YEAR}")
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/csv")
    assert f'filename="outcomes-{YEAR}.csv"' in report.headers["content-disposition"]
    assert "statin-diabetes,Statins in diabetes" in report.text
    evidence = await client.get(f"/education/evidence.csv?period={YEAR}&item={STATIN}")
    assert "Grace,Hopper" in evidence.text
    assert "lrn_" not in evidence.text + report.text
    async with sessions() as session:
        events = (await session.scalars(select(AuditEvent))).all()
    exports = sorted(
        (e.action, e.actor, e.subject) for e in events if e.action.startswith("export")
    )
    actor = f"education-lead:{lead_id}"
    assert exports == [
        ("export.outcomes", actor, None),
        ("export.outcomes-evidence", actor, STATIN),
    ]


def test_plain_http_deployments_get_plain_cookie_names(settings: Settings) -> None:
    from fastapi.responses import Response

    from service.outcomes.web import start_session

    local = settings.model_copy(update={"public_url": "http://127.0.0.1:8000"})
    response = Response()
    start_session(response, local, b"k" * 32, uuid.uuid4())
    cookies = [v for k, v in response.headers.items() if k == "set-cookie"]
    session = next(c for c in cookies if c.startswith("bedside_education="))
    assert "__Host-" not in " ".join(cookies)
    assert "secure" not in session.lower()
    assert "samesite=strict" in session.lower()
    assert "max-age=28800" in session.lower()
