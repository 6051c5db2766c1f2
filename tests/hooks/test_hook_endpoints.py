"""CDS Hooks 2.0 service-side requirements, end to end through the real app: discovery,
service calls, prefetch fallback, responses, feedback, limits."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any

import httpx
import orjson
import respx
from sqlalchemy import func, select

from service.memory.models import CardFeedback, IssuedCard
from tests.hooks.conftest import FHIR_BASE, HookClient
from tests.hooks.hook_requests import hook_request, searchset, synthea_bundle

PV = "bedside-patient-view"


def _assert_no_empty_values(value: Any, path: str = "$") -> None:
    """CDS Hooks: no null, [], {} or "" anywhere (except the top-level cards list)."""
    if isinstance(value, dict):
        assert value, f"empty object at {path}"
        for key, inner in value.items():
            assert inner is not None, f"null at {path}.{key}"
            _assert_no_empty_values(inner, f"{path}.{key}")
    elif isinstance(value, list):
        assert value, f"empty array at {path}"
        for index, inner in enumerate(value):
            _assert_no_empty_values(inner, f"{path}[{index}]")
    elif isinstance(value, str):
        assert value, f"empty string at {path}"


async def test_discovery_lists_the_services_with_prefetch(hooks: HookClient) -> None:
    response = await hooks.http.get("/cds-services")
    assert response.status_code == 200
    services = {s["id"]: s for s in response.json()["services"]}
    assert {"bedside-patient-view", "bedside-order-select", "bedside-order-sign"} <= set(services)
    for service in services.values():
        assert service["hook"]
        assert service["description"]
        assert service["title"]
        assert set(service["prefetch"]) == {
            "patient",
            "conditions",
            "medications",
            "observations",
            "procedures",
            "allergies",
        }
        assert all("{{context.patientId}}" in q for q in service["prefetch"].values())
    _assert_no_empty_values(response.json())


async def test_patient_view_returns_valid_cards(hooks: HookClient) -> None:
    body = hook_request(synthea_bundle("Angelic_Mueller"))
    response = await hooks.call(PV, body)
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert 1 <= len(cards) <= 2
    for card in cards:
        _assert_no_empty_values(card)
        uuid.UUID(card["uuid"])
        assert len(card["summary"]) < 140
        assert card["indicator"] in {"info", "warning", "critical"}
        assert card["source"]["label"]
        assert card["source"]["topic"]["system"] == "urn:bedside:content"
        (link,) = card["links"]
        assert link["type"] == "smart"
        assert link["url"] == f"{hooks.public_url}/app/launch"
        context = hooks.runtime.app_context.verify(link["appContext"])
        assert context.card_uuid == card["uuid"]
        assert context.item_id == card["source"]["topic"]["code"]
        assert all(r["display"] for r in card["overrideReasons"])


async def test_issued_cards_are_recorded_without_patient_data(hooks: HookClient) -> None:
    body = hook_request(synthea_bundle("Angelic_Mueller"))
    cards = (await hooks.call(PV, body)).json()["cards"]
    await hooks.runtime.memory.recorder.flush()
    async with hooks.runtime.sessions() as session:
        rows = (await session.scalars(select(IssuedCard))).all()
    assert {str(r.uuid) for r in rows} == {c["uuid"] for c in cards}
    patient_id = body["context"]["patientId"]
    for row in rows:
        assert row.hook_instance == body["hookInstance"]
        assert row.learner.startswith("lrn_")
        assert patient_id not in repr(vars(row))


async def test_the_same_item_is_not_shown_again_within_the_window(hooks: HookClient) -> None:
    # on another chart: reopening the same one keeps its cards (tests/hooks/test_reopened_chart.py)
    bundle = synthea_bundle("Angelic_Mueller")
    first = {
        c["source"]["topic"]["code"]
        for c in (await hooks.call(PV, hook_request(bundle))).json()["cards"]
    }
    another_chart = hook_request(bundle)
    another_chart["context"]["patientId"] = "another-patient-same-findings"
    second = {
        c["source"]["topic"]["code"] for c in (await hooks.call(PV, another_chart)).json()["cards"]
    }
    assert first
    assert second
    assert not first & second


async def test_child_gets_no_adult_screening(hooks: HookClient) -> None:
    cards = (await hooks.call(PV, hook_request(synthea_bundle("Luigi_Wiegand")))).json()["cards"]
    assert not [c for c in cards if c["source"]["topic"]["code"].startswith("uspstf-")]


async def test_order_sign_opioid_with_benzodiazepine(hooks: HookClient) -> None:
    from tests.hooks.hook_requests import oxycodone_order

    bundle = synthea_bundle("Delbert_Williamson")
    patient_id = next(
        e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    body = hook_request(bundle, "order-sign", draft_orders=[oxycodone_order(patient_id)])
    response = await hooks.call("bedside-order-sign", body)
    assert response.status_code == 200, response.text
    codes = [c["source"]["topic"]["code"] for c in response.json()["cards"]]
    assert "cdc-opioid-benzodiazepine" in codes


async def test_missing_prefetch_without_fhir_server_is_412(hooks: HookClient) -> None:
    body = hook_request(synthea_bundle("Liz_Conn"))
    del body["prefetch"]["conditions"]
    response = await hooks.call(PV, body)
    assert response.status_code == 412
    assert response.json()["resourceType"] == "OperationOutcome"


async def test_missing_prefetch_is_fetched_from_the_registered_fhir_server(
    hooks: HookClient,
) -> None:
    bundle = synthea_bundle("Liz_Conn")
    body = hook_request(
        bundle,
        fhirServer=FHIR_BASE,
        fhirAuthorization={
            "access_token": "fhir-token-1",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "bedside",
        },
    )
    conditions = body["prefetch"].pop("conditions")
    with respx.mock(assert_all_called=False) as router:
        hooks.ehr.serve_jwks(router)
        route = router.get(f"{FHIR_BASE}/Condition").mock(
            return_value=httpx.Response(200, json=conditions)
        )
        response = await hooks.call(PV, body)
    assert response.status_code == 200, response.text
    assert route.calls.last.request.headers["Authorization"] == "Bearer fhir-token-1"


async def test_unregistered_fhir_server_is_never_called(hooks: HookClient) -> None:
    body = hook_request(
        synthea_bundle("Liz_Conn"),
        fhirServer="https://attacker.example/fhir",
        fhirAuthorization={
            "access_token": "t",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "s",
            "subject": "x",
        },
    )
    del body["prefetch"]["conditions"]
    with respx.mock(assert_all_called=False) as router:
        hooks.ehr.serve_jwks(router)
        evil = router.get(url__startswith="https://attacker.example").mock(
            return_value=httpx.Response(200, json=searchset([]))
        )
        response = await hooks.call(PV, body)
    assert response.status_code == 412
    assert not evil.called


async def test_bad_requests_are_400_with_a_clear_message(hooks: HookClient) -> None:
    good = hook_request(synthea_bundle("Liz_Conn"))
    no_patient = {**good, "context": {"userId": "Practitioner/1"}}
    response = await hooks.call(PV, no_patient)
    assert response.status_code == 400
    assert "patientId" in response.json()["detail"]
    wrong_hook = {**good, "hook": "order-sign"}
    assert (await hooks.call(PV, wrong_hook)).status_code == 400
    no_instance = {k: v for k, v in good.items() if k != "hookInstance"}
    assert (await hooks.call(PV, no_instance)).status_code == 400
    auth_without_server = {
        **good,
        "fhirAuthorization": {
            "access_token": "secret-token-x",
            "token_type": "Bearer",
            "expires_in": 1,
            "scope": "s",
            "subject": "x",
        },
    }
    response = await hooks.call(PV, auth_without_server)
    assert response.status_code == 400
    assert "secret-token-x" not in response.text


async def test_unknown_fields_and_extensions_are_tolerated(hooks: HookClient) -> None:
    body = hook_request(synthea_bundle("Liz_Conn"), extension={"com.example.x": {"a": 1}})
    body["context"]["extension"] = {"com.example.y": True}
    body["newTopLevelField"] = 1
    assert (await hooks.call(PV, body)).status_code == 200


async def test_a_body_the_typed_decoder_refuses_gets_the_same_cards(hooks: HookClient) -> None:
    """Malformed entries send the body to the orjson path (tests/hooks/test_typed_parse.py),
    which skips them: the clinician sees what the well-formed body shows."""
    bundle = synthea_bundle("Angelic_Mueller")
    clean = hook_request(bundle, user="Practitioner/typed")
    damaged = hook_request(bundle, user="Practitioner/plain")
    damaged["prefetch"]["conditions"]["entry"].append("not an entry")
    damaged["prefetch"]["observations"]["entry"].insert(0, 5)

    async def topics(body: dict[str, Any]) -> list[str]:
        response = await hooks.call(PV, body)
        assert response.status_code == 200, response.text
        return [card["source"]["topic"]["code"] for card in response.json()["cards"]]

    shown = await topics(clean)
    assert shown
    assert await topics(damaged) == shown


async def test_unknown_service_is_404_and_wrong_type_is_415(hooks: HookClient) -> None:
    assert (await hooks.call("no-such-service", {})).status_code == 404
    response = await hooks.http.post(
        f"/cds-services/{PV}",
        content=b"hook=x",
        headers={
            "Authorization": hooks.ehr.bearer(hooks.url(PV)),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status_code == 415


async def test_unauthenticated_is_a_bare_401(hooks: HookClient) -> None:
    body = hook_request(synthea_bundle("Liz_Conn"))
    for token in ("", "Bearer nonsense", hooks.ehr.bearer(f"{hooks.public_url}/cds-services")):
        response = await hooks.call(PV, body, token=token)
        assert response.status_code == 401
        assert response.content == b""


async def test_oversized_body_is_413(hooks: HookClient) -> None:
    response = await hooks.http.post(
        f"/cds-services/{PV}",
        content=b"{" + b" " * (hooks.runtime.settings.max_body_bytes + 1),
        headers={
            "Authorization": hooks.ehr.bearer(hooks.url(PV)),
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 413


async def test_feedback_is_idempotent_and_tied_to_issued_cards(hooks: HookClient) -> None:
    cards = (await hooks.call(PV, hook_request(synthea_bundle("Angelic_Mueller")))).json()["cards"]
    card = cards[0]["uuid"]
    body = {
        "feedback": [
            {
                "card": card,
                "outcome": "overridden",
                "outcomeTimestamp": "2021-04-01T10:00:00Z",
                "overrideReason": {
                    "reason": {"system": "urn:bedside:override-reason", "code": "snooze"},
                    "userComment": "patient John Doe declined",
                },
            }
        ]
    }
    for _ in range(2):
        response = await hooks.feedback(PV, body)
        assert response.status_code == 200, response.text
    async with hooks.runtime.sessions() as session:
        rows = (await session.scalars(select(CardFeedback))).all()
    assert len(rows) == 1
    assert rows[0].override_reason_code == "snooze"
    assert "John Doe" not in repr(vars(rows[0]))  # free text is never stored
    unknown = {"feedback": [{**body["feedback"][0], "card": str(uuid.uuid4())}]}
    assert (await hooks.feedback(PV, unknown)).status_code == 404
    assert (await hooks.feedback(PV, {"feedback": [{"card": card}]})).status_code == 400
    malformed = await hooks.http.post(
        f"/cds-services/{PV}/feedback",
        content=b"{not json",
        headers={
            "Authorization": hooks.ehr.bearer(hooks.url(PV, feedback=True)),
            "Content-Type": "application/json",
        },
    )
    assert malformed.status_code == 400


async def test_feedback_needs_the_feedback_url_as_audience(hooks: HookClient) -> None:
    body = {
        "feedback": [
            {
                "card": str(uuid.uuid4()),
                "outcome": "accepted",
                "outcomeTimestamp": "2021-04-01T10:00:00Z",
            }
        ]
    }
    response = await hooks.http.post(
        f"/cds-services/{PV}/feedback",
        json=body,
        headers={"Authorization": hooks.ehr.bearer(hooks.url(PV))},
    )
    assert response.status_code == 401


async def test_snoozed_card_is_not_shown_again(hooks: HookClient) -> None:
    hooks.runtime.settings.repeat_window_days = 0  # only the snooze may suppress it
    bundle = synthea_bundle("Angelic_Mueller")
    first = (await hooks.call(PV, hook_request(bundle))).json()["cards"]
    snoozed = first[0]
    await hooks.feedback(
        PV,
        {
            "feedback": [
                {
                    "card": snoozed["uuid"],
                    "outcome": "overridden",
                    "outcomeTimestamp": "2021-04-01T10:00:00Z",
                    "overrideReason": {
                        "reason": {"system": "urn:bedside:override-reason", "code": "snooze"}
                    },
                }
            ]
        },
    )
    again = (await hooks.call(PV, hook_request(bundle))).json()["cards"]
    topic = snoozed["source"]["topic"]["code"]
    assert topic not in {c["source"]["topic"]["code"] for c in again}
    async with hooks.runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(IssuedCard)) >= 2


async def test_rate_limit_per_issuer_is_429(hooks: HookClient) -> None:
    # the limit is read once, when the worker starts: as a worker configured with 2
    hooks.runtime.gate = dataclasses.replace(hooks.runtime.gate, per_minute=2)
    body = hook_request(synthea_bundle("Liz_Conn"))
    responses = [await hooks.call(PV, body) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert 1 <= int(responses[2].headers["Retry-After"]) <= 60


async def _learner(hooks: HookClient) -> str:
    from service.identity import learner_key

    return learner_key(hooks.runtime.secret, hooks.ehr.issuer, None, "Practitioner/practitioner-1")


async def test_learned_items_are_not_offered_again(hooks: HookClient) -> None:
    from service.credit.schemas import CycleItem, CyclePatch
    from service.credit.service import start_cycle, update_cycle
    from service.db.engine import transaction

    hooks.runtime.settings.repeat_window_days = 0
    bundle = synthea_bundle("Angelic_Mueller")
    first = (await hooks.call(PV, hook_request(bundle))).json()["cards"][0]
    item = hooks.runtime.content.get(first["source"]["topic"]["code"])
    learner = await _learner(hooks)
    async with transaction(hooks.runtime.sessions) as session:
        cycle = await start_cycle(
            session,
            learner_key=learner,
            card_uuid=first["uuid"],
            now=hooks.runtime.clock(),
            item=CycleItem(
                item_id=item.id,
                item_version=item.version,
                item_type=item.type,
                title=item.title,
                credit_format=item.credit_format,
                question=item.question,
                source_citation=item.source.title,
                passing_score=None,
            ),
        )
        await update_cycle(session, learner, cycle.id, CyclePatch(application="confirmed-plan"))
    again = (await hooks.call(PV, hook_request(bundle))).json()["cards"]
    assert item.id not in {c["source"]["topic"]["code"] for c in again}


async def test_items_outside_the_learners_profession_are_not_offered(hooks: HookClient) -> None:
    from service.credit.schemas import ProfileUpdate
    from service.credit.service import update_profile
    from service.db.engine import transaction

    hooks.runtime.settings.repeat_window_days = 0
    async with transaction(hooks.runtime.sessions) as session:
        await update_profile(
            session, await _learner(hooks), ProfileUpdate(profession="registered-nurse")
        )
    for name in ("Angelic_Mueller", "Delbert_Williamson", "Tommy_Friesen"):
        for card in (await hooks.call(PV, hook_request(synthea_bundle(name)))).json()["cards"]:
            item = hooks.runtime.content.get(card["source"]["topic"]["code"])
            professions = item.audience.professions
            assert not professions or "nurse" in professions


async def test_a_profile_change_reaches_a_learner_the_worker_remembers(
    hooks: HookClient,
) -> None:
    from service.credit.schemas import ProfileUpdate
    from service.credit.service import update_profile
    from service.db.engine import transaction

    hooks.runtime.settings.repeat_window_days = 0
    bodies = [hook_request(synthea_bundle(n)) for n in ("Angelic_Mueller", "Delbert_Williamson")]

    async def professions_shown() -> list[tuple[str, ...]]:
        cards = [c for body in bodies for c in (await hooks.call(PV, body)).json()["cards"]]
        items = [hooks.runtime.content.get(c["source"]["topic"]["code"]) for c in cards]
        return [tuple(item.audience.professions) for item in items]

    assert any(p and "nurse" not in p for p in await professions_shown())  # now remembered
    async with transaction(hooks.runtime.sessions) as session:
        await update_profile(
            session, await _learner(hooks), ProfileUpdate(profession="registered-nurse")
        )
    assert all(not p or "nurse" in p for p in await professions_shown())


async def test_flushed_cards_are_announced_to_the_other_workers(hooks: HookClient) -> None:
    from service.memory.cache import CHANNEL

    heard: list[bytes] = []
    subscribed = asyncio.Event()

    async def listen() -> None:
        async for message in hooks.runtime.state.listen(CHANNEL, subscribed.set):
            heard.append(message)

    listener = asyncio.create_task(listen())
    await subscribed.wait()
    cards = (await hooks.call(PV, hook_request(synthea_bundle("Angelic_Mueller")))).json()
    assert cards["cards"]
    await hooks.runtime.memory.recorder.flush()
    await asyncio.sleep(0.05)
    listener.cancel()
    assert [orjson.loads(m)["learners"] for m in heard] == [[await _learner(hooks)]]


async def test_overridden_without_a_reason_dismisses_the_item(hooks: HookClient) -> None:
    hooks.runtime.settings.repeat_window_days = 0
    bundle = synthea_bundle("Angelic_Mueller")
    first = (await hooks.call(PV, hook_request(bundle))).json()["cards"][0]
    feedback = {
        "card": first["uuid"],
        "outcome": "overridden",
        "outcomeTimestamp": "2021-04-01T10:00:00Z",
    }
    assert (await hooks.feedback(PV, {"feedback": [feedback]})).status_code == 200
    again = (await hooks.call(PV, hook_request(bundle))).json()["cards"]
    assert first["source"]["topic"]["code"] not in {c["source"]["topic"]["code"] for c in again}


async def test_no_guidance_is_an_empty_card_list(hooks: HookClient) -> None:
    service = hooks.runtime.hooks  # as a worker started with BEDSIDE_MAX_CARDS=0
    service.policy = dataclasses.replace(service.policy, max_cards=0)
    response = await hooks.call(PV, hook_request(synthea_bundle("Angelic_Mueller")))
    assert response.status_code == 200
    assert response.json() == {"cards": []}


async def test_cors_allows_only_configured_origins(hook_settings: Any) -> None:
    from service.app import create_app

    settings = hook_settings.model_copy(update={"cors_origins": ["https://ehr.example.org"]})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as http:
            headers = {
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            }
            allowed = await http.options(
                f"/cds-services/{PV}", headers={**headers, "Origin": "https://ehr.example.org"}
            )
            refused = await http.options(
                f"/cds-services/{PV}", headers={**headers, "Origin": "https://evil.example"}
            )
    assert allowed.headers["access-control-allow-origin"] == "https://ehr.example.org"
    assert "access-control-allow-origin" not in refused.headers


async def test_metrics_count_hook_latency_cards_and_jwt_rejections(hooks: HookClient) -> None:
    body = hook_request(synthea_bundle("Angelic_Mueller"))
    await hooks.call(PV, body)
    await hooks.call(PV, body, token="Bearer not-a-jwt")
    text = (await hooks.http.get("/metrics")).text
    assert f'bedside_hook_duration_seconds_count{{service="{PV}"}}' in text
    assert f'bedside_cards_per_response_count{{service="{PV}"}}' in text
    assert 'bedside_jwt_rejections_total{reason="malformed_token"}' in text


async def test_the_card_promises_the_configured_credit(hooks: HookClient) -> None:
    links = hooks.runtime.hooks.links  # as a worker started with these credit rules
    rules = links.rules
    headline = rules.credit_types[0]
    configured = rules.model_copy(
        update={
            "credit_types": [
                headline.model_copy(
                    update={"amounts": {"poc": 0.25, "enduring": 0.25}, "per_hour": {}}
                ),
                *rules.credit_types[1:],
            ]
        }
    )
    hooks.runtime.hooks.links = dataclasses.replace(links, rules=configured)
    cards = (await hooks.call(PV, hook_request(synthea_bundle("Angelic_Mueller")))).json()["cards"]
    # a case's own length shows in its label; the configured amount shows on every card
    assert all(c["links"][0]["label"].endswith(" min - earn 0.25 CME") for c in cards)
    assert any(c["links"][0]["label"] == "Learn in 2 min - earn 0.25 CME" for c in cards)
