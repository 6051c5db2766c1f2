"""Hostile hook bodies: >= 10,000 generated bodies against the pure hook path, and a few
thousand through the real app over ASGI with valid JWTs; wrong content types, wrong services,
bad credentials (10 MB bodies: test_limits.py). Pass: only 200/400/401/404/412/413/415/422,
never a 5xx, never an unhandled exception in the logs; the app answers exactly what the pure
path predicts.

Open findings are excluded from the fuzz runs by signature (KNOWN_FINDINGS, with a strict
xfail regression test each) until they are fixed; none is open now.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections import Counter
from datetime import date
from typing import Any

import pytest

from service.cards import ContentLibrary, facts_from_resources, load_library
from tests.reliability.conftest import AppUnderTest
from tests.reliability.hostile import ALLOWED, hostile_bodies, judge_pure, valid_body

CI_PURE_BODIES = 10_000
CI_APP_BODIES = 2_000
SLOW_PURE_BODIES = 200_000
SLOW_APP_BODIES = 20_000
# (exception type, file) of open findings, excluded from the fuzz runs until fixed. Empty:
# the one found (a list/dict `status` or `resourceType` -> TypeError -> 500 in the facts
# collector) is fixed; its regression tests are test_facts_tolerate_unhashable_fields and
# test_hook_with_a_list_*.
KNOWN_FINDINGS: set[tuple[str, str]] = set()


@pytest.fixture(scope="module")
def library() -> ContentLibrary:
    return load_library(None)


def _signature(exc: BaseException) -> tuple[str, str]:
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return type(exc).__name__, frame.filename.rsplit("/", 1)[-1]


def _run_pure(library: ContentLibrary, seed: int, count: int) -> Counter[Any]:
    outcomes: Counter[Any] = Counter()
    for service_id, body in hostile_bodies(seed, count):
        try:
            outcomes[judge_pure(library, service_id, body)] += 1
        except Exception as exc:  # every exception is a finding: collected, then asserted
            outcomes[_signature(exc)] += 1
    return outcomes


def _assert_only_allowed(outcomes: Counter[Any]) -> None:
    unexpected = {k: n for k, n in outcomes.items() if k not in ALLOWED and k not in KNOWN_FINDINGS}
    assert unexpected == {}, f"unexpected outcomes {unexpected} (all: {outcomes})"


def test_ten_thousand_hostile_bodies_on_the_pure_path(library: ContentLibrary) -> None:
    outcomes = _run_pure(library, seed=20261123, count=CI_PURE_BODIES)
    _assert_only_allowed(outcomes)
    assert sum(outcomes.values()) == CI_PURE_BODIES
    assert outcomes[400] > 1000
    assert outcomes[200] > 1000  # the generator also produces valid, odd bodies


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_many_hostile_bodies_on_the_pure_path(library: ContentLibrary) -> None:
    _assert_only_allowed(_run_pure(library, seed=7, count=SLOW_PURE_BODIES))


async def _run_app(
    app: AppUnderTest, library: ContentLibrary, seed: int, count: int, caplog: Any
) -> Counter[Any]:
    caplog.set_level(logging.ERROR)
    outcomes: Counter[Any] = Counter()
    mismatches: list[tuple[str, int, int]] = []
    for service_id, body in hostile_bodies(seed, count):
        try:
            expected = judge_pure(library, service_id, body)
        except Exception as exc:
            if _signature(exc) in KNOWN_FINDINGS:
                outcomes["known finding, not sent"] += 1
                continue
            raise
        response = await app.http.post(
            f"/cds-services/{service_id}",
            content=body,
            headers={
                "Authorization": app.ehr.bearer(app.url(service_id)),
                "Content-Type": "application/json",
            },
        )
        outcomes[response.status_code] += 1
        if response.status_code != expected:
            mismatches.append((service_id, expected, response.status_code))
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [r.getMessage() for r in errors[:5]]
    assert not [k for k in outcomes if isinstance(k, int) and k not in ALLOWED], outcomes
    assert mismatches == [], mismatches[:10]
    return outcomes


async def test_thousands_of_hostile_bodies_through_the_app(
    app_with_fhir: AppUnderTest, library: ContentLibrary, caplog: pytest.LogCaptureFixture
) -> None:
    outcomes = await _run_app(app_with_fhir, library, 99, CI_APP_BODIES, caplog)
    assert outcomes[200] > 100
    assert outcomes[400] > 100


@pytest.mark.slow
@pytest.mark.timeout(3600)
async def test_many_hostile_bodies_through_the_app(
    app_with_fhir: AppUnderTest, library: ContentLibrary, caplog: pytest.LogCaptureFixture
) -> None:
    await _run_app(app_with_fhir, library, 3, SLOW_APP_BODIES, caplog)


CONTENT_TYPES = [
    None,
    "",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/xml",
    "application/jsonp",
    "json",
    "application/json-patch+json",
    "*/*",
]


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
async def test_wrong_content_types_are_415(app_with_fhir: AppUnderTest, content_type: Any) -> None:
    headers = {"Authorization": app_with_fhir.ehr.bearer(app_with_fhir.url())}
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = await app_with_fhir.http.post(
        "/cds-services/bedside-patient-view",
        content=json.dumps(valid_body("patient-view")),
        headers=headers,
    )
    assert response.status_code == 415


@pytest.mark.parametrize(
    "content_type", ["APPLICATION/JSON", "application/json; charset=utf-8", "application/fhir+json"]
)
async def test_json_content_types_are_accepted(
    app_with_fhir: AppUnderTest, content_type: str
) -> None:
    response = await app_with_fhir.http.post(
        "/cds-services/bedside-patient-view",
        content=json.dumps(valid_body("patient-view")),
        headers={
            "Authorization": app_with_fhir.ehr.bearer(app_with_fhir.url()),
            "Content-Type": content_type,
        },
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "service_id", ["nope", "bedside-patient-view%00", "..%2F..%2Fadmin", "x" * 3000]
)
async def test_unknown_services_are_404(app_with_fhir: AppUnderTest, service_id: str) -> None:
    response = await app_with_fhir.post(valid_body("patient-view"), service_id=service_id)
    assert response.status_code == 404
    assert service_id[:200] not in response.text or len(service_id) < 100


async def test_bad_authorization_is_a_bare_401(app_with_fhir: AppUnderTest) -> None:
    body = json.dumps(valid_body("patient-view"))
    for auth in [None, "", "Bearer", "Basic eDp5", "Bearer x.y.z", "Bearer " + "a" * 20_000]:
        headers = {"Content-Type": "application/json"}
        if auth is not None:
            headers["Authorization"] = auth
        response = await app_with_fhir.http.post(
            "/cds-services/bedside-patient-view", content=body, headers=headers
        )
        assert response.status_code == 401
        assert response.content == b""


@pytest.mark.parametrize(
    "resource",
    [
        {"resourceType": ["Observation"]},
        {"resourceType": {"a": 1}},
        {"resourceType": "Observation", "status": []},
        {"resourceType": "Procedure", "status": {"a": 1}},
    ],
)
def test_facts_tolerate_unhashable_fields(resource: dict[str, Any]) -> None:
    facts_from_resources([resource], at=date(2021, 4, 1))


async def test_hook_with_a_list_status_is_not_a_500(app_with_fhir: AppUnderTest) -> None:
    body = valid_body("patient-view")
    body["prefetch"]["observations"]["entry"][0]["resource"]["status"] = ["final"]
    response = await app_with_fhir.post(body)
    assert response.status_code == 200


async def test_hook_with_a_list_resource_type_is_not_a_500(app_with_fhir: AppUnderTest) -> None:
    body = valid_body("patient-view")
    body["prefetch"]["patient"]["resourceType"] = ["Patient"]
    response = await app_with_fhir.post(body)
    assert response.status_code in {200, 400}
