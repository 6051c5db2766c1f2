"""The learner JSON API: session cookie or bearer token, the cycle lifecycle, claims with
Idempotency-Key, exports, and 404 for another learner's ids."""

from __future__ import annotations

import httpx

from tests.e2e.world import World, card_context, csrf_of, sign_in

API = "https://bedside.test/api/learner"
PROFILE = {
    "name": "Dr Api",
    "profession": "physician-md",
    "npi": "1234567893",
    "birth_month": 4,
    "birth_day": 12,
    "consent_to_report": True,
}


async def _bearer(world: World) -> dict[str, str]:
    csrf = await csrf_of(world)
    response = await world.browser.post(API + "/token", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200, response.text
    return {"Authorization": "Bearer " + response.json()["access_token"]}


async def _cycle(world: World, item_id: str) -> str:
    location = (await sign_in(world, card_context(world, item_id))).headers["location"]
    return str(location.rsplit("/", 1)[1])


async def test_case_cycle_through_the_api(basic_world: World) -> None:
    world = basic_world
    cycle_id = await _cycle(world, "test-case")
    auth = await _bearer(world)
    async with httpx.AsyncClient(transport=world.browser._transport) as tool:  # no cookies
        assert (await tool.put(API + "/me", json=PROFILE, headers=auth)).status_code == 200
        me = (await tool.get(API + "/me", headers=auth)).json()
        assert me["name"] == "Dr Api"
        pending = (await tool.get(API + "/cycles?status=pending", headers=auth)).json()
        assert [c["id"] for c in pending] == [cycle_id]
        forged = await tool.patch(
            f"{API}/cycles/{cycle_id}", headers=auth, json={"case_score": 1.0, "case_passed": True}
        )
        assert forged.status_code == 400
        patched = await tool.patch(
            f"{API}/cycles/{cycle_id}",
            headers=auth,
            json={
                "question": "Q?",
                "application": "confirmed-plan",
                "case_answers": {"q1": "a", "q2": "a"},
            },
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["case_score"] == 1.0
        assert patched.json()["case_passed"] is True
        first = await tool.post(
            f"{API}/cycles/{cycle_id}/claim", headers={**auth, "Idempotency-Key": "k-1"}
        )
        again = await tool.post(
            f"{API}/cycles/{cycle_id}/claim", headers={**auth, "Idempotency-Key": "k-1"}
        )
        assert first.status_code == 200, first.text
        assert again.json() == first.json()
        entry_id = first.json()["entry"]["id"]
        transcript = (await tool.get(API + "/transcript", headers=auth)).json()
        assert transcript["entries"][0]["id"] == entry_id
        for path, kind in [
            (f"/entries/{entry_id}/certificate.pdf", "application/pdf"),
            ("/export.csv", "text/csv"),
            ("/xapi", "application/json"),
            (f"/entries/{entry_id}/badge", "application/vc+jwt"),
            ("/transcript/credential", "application/vc+jwt"),
        ]:
            response = await tool.get(API + path, headers=auth)
            assert response.status_code == 200, (path, response.text)
            assert response.headers["content-type"].startswith(kind)


async def test_cookie_auth_needs_csrf_header_for_changes(basic_world: World) -> None:
    world = basic_world
    cycle_id = await _cycle(world, "test-guideline")
    assert (await world.browser.get(f"{API}/cycles/{cycle_id}")).status_code == 200
    response = await world.browser.post(f"{API}/cycles/{cycle_id}/claim")
    assert response.status_code == 403
    response = await world.browser.patch(f"{API}/cycles/{cycle_id}", json={"question": "x"})
    assert response.status_code == 403


async def test_no_credentials_is_401(basic_world: World) -> None:
    assert (await basic_world.browser.get(API + "/me")).status_code == 401
    bad = await basic_world.browser.get(API + "/me", headers={"Authorization": "Bearer bls_x"})
    assert bad.status_code == 401


async def test_another_learners_ids_are_404(basic_world: World) -> None:
    world = basic_world
    cycle_id = await _cycle(world, "test-guideline")
    mine = await _bearer(world)
    await world.browser.put(API + "/me", json=PROFILE, headers=mine)
    await world.browser.patch(
        f"{API}/cycles/{cycle_id}",
        headers=mine,
        json={"question": "Q?", "application": "confirmed-plan"},
    )
    claimed = await world.browser.post(f"{API}/cycles/{cycle_id}/claim", headers=mine)
    entry_id = claimed.json()["entry"]["id"]
    world.browser.cookies.clear()
    await sign_in(world, practitioner="someone-else")
    auth = await _bearer(world)
    for method, path in [
        ("GET", f"/cycles/{cycle_id}"),
        ("PATCH", f"/cycles/{cycle_id}"),
        ("POST", f"/cycles/{cycle_id}/claim"),
        ("GET", f"/entries/{entry_id}/certificate.pdf"),
        ("GET", f"/entries/{entry_id}/badge"),
        ("GET", "/cycles/not-a-uuid"),
    ]:
        response = await world.browser.request(
            method, API + path, headers=auth, json={} if method == "PATCH" else None
        )
        assert response.status_code == 404, (method, path, response.status_code)
