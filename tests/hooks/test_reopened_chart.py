"""Issue 16 through the real app: reopening the same chart shows the same cards (the repeat
window had rotated them: the first opening's cards counted as recently shown), feedback still
takes a card off it, other charts still respect the window; and a case card on a chart whose
patient differs from its vignette says why it is relevant."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest

from service.memory.charts import ChartMemory, chart_key
from tests.hooks.conftest import HookClient
from tests.hooks.hook_requests import hook_request, searchset, synthea_bundle

PV = "bedside-patient-view"


def _topics(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [card["source"]["topic"]["code"] for card in response.json()["cards"]]


async def test_reopening_the_same_chart_shows_the_same_cards(hooks: HookClient) -> None:
    bundle = synthea_bundle("Angelic_Mueller")
    first = await hooks.call(PV, hook_request(bundle))
    opened = [_topics(first)]
    for _ in range(2):
        opened.append(_topics(await hooks.call(PV, hook_request(bundle))))
    assert opened[0]
    assert opened == [opened[0]] * 3
    again = (await hooks.call(PV, hook_request(bundle))).json()["cards"]
    assert {card["uuid"] for card in again}.isdisjoint(c["uuid"] for c in first.json()["cards"])


async def test_another_clinician_or_hook_chooses_for_itself(hooks: HookClient) -> None:
    bundle = synthea_bundle("Angelic_Mueller")
    mine = _topics(await hooks.call(PV, hook_request(bundle)))
    theirs = _topics(await hooks.call(PV, hook_request(bundle, user="Practitioner/other")))
    assert mine == theirs  # the same ranking for a fresh learner: nothing random in it
    encounter = hook_request(bundle, "encounter-start")
    encounter["context"]["encounterId"] = "enc-1"
    assert not set(mine) & set(_topics(await hooks.call("bedside-encounter-start", encounter)))


@pytest.mark.parametrize("reason", [None, "snooze", "already-known"])
async def test_feedback_takes_a_card_off_the_reopened_chart(
    hooks: HookClient, reason: str | None
) -> None:
    bundle = synthea_bundle("Angelic_Mueller")
    first, second = (await hooks.call(PV, hook_request(bundle))).json()["cards"]
    feedback: dict[str, Any] = {
        "card": first["uuid"],
        "outcome": "overridden",
        "outcomeTimestamp": "2021-04-01T10:00:00Z",
    }
    if reason:
        feedback["overrideReason"] = {
            "reason": {"system": "urn:bedside:override-reason", "code": reason}
        }
    assert (await hooks.feedback(PV, {"feedback": [feedback]})).status_code == 200
    again = _topics(await hooks.call(PV, hook_request(bundle)))
    assert first["source"]["topic"]["code"] not in again
    assert second["source"]["topic"]["code"] in again
    assert len(again) == 2  # the freed place goes to an item not shown recently


async def test_a_case_on_another_patients_chart_says_why(hooks: HookClient) -> None:
    """The statin case's vignette is a 42-year-old woman; the chart is a 58-year-old man's
    with hyperlipidemia."""
    service = hooks.runtime.hooks
    service.policy = dataclasses.replace(service.policy, max_cards=20)
    man = {"resourceType": "Patient", "id": "m58", "gender": "male", "birthDate": "1962-11-03"}
    hyperlipidemia = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "verificationStatus": {"coding": [{"code": "confirmed"}]},
        "code": {
            "coding": [
                {
                    "system": "http://snomed.info/sct",
                    "code": "55822004",
                    "display": "Hyperlipidemia",
                }
            ]
        },
    }
    body = hook_request(synthea_bundle("Angelic_Mueller"))
    body["context"]["patientId"] = "m58"
    body["prefetch"] = {
        "patient": man,
        "conditions": searchset([hyperlipidemia]),
        "medications": searchset([]),
        "observations": searchset([]),
        "procedures": searchset([]),
    }
    response = await hooks.call(PV, body)
    cards = {c["source"]["topic"]["code"]: c for c in response.json()["cards"]}
    case = cards["case-statin-primary-prevention"]
    assert "42-year-old woman" in case["source"]["topic"]["display"]
    why, vignette = case["detail"].split("\n\n")[:2]
    assert why == "**Relevant to this patient:** Hyperlipidemia"
    assert "42" in vignette
    assert len(case["summary"]) < 140


def test_chart_memory_forgets_a_day_after_the_first_opening() -> None:
    now = [0.0]
    charts = ChartMemory(ttl_seconds=100, clock=lambda: now[0])
    chart = chart_key(b"secret", "lrn_1", "patient-view", "patient-1")
    charts.remember(chart, ["a", "b"])
    now[0] = 60
    charts.remember(chart, ["a", "c"])  # reopened: what it shows now, since its first opening
    assert charts.shown(chart) == {"a", "c"}
    now[0] = 101
    assert charts.shown(chart) == frozenset()
    assert len(charts) == 0


def test_chart_memory_is_bounded_and_holds_no_patient_id() -> None:
    charts = ChartMemory(max_charts=2)
    keys = [chart_key(b"secret", "lrn_1", "patient-view", f"patient-{n}") for n in range(3)]
    for key in keys:
        charts.remember(key, ["a"])
    assert len(charts) == 2
    assert charts.shown(keys[0]) == frozenset()
    assert charts.shown(keys[2]) == {"a"}
    assert b"patient-2" not in keys[2]
    assert keys[2] != chart_key(b"other-secret", "lrn_1", "patient-view", "patient-2")
    assert keys[2] != chart_key(b"secret", "lrn_1", "order-sign", "patient-2")
