"""The hook's two ways of reading a body agree.

`typed_fields` decodes a body straight into `Resource`s (the fast path); `plain_fields` goes
through orjson and `resource_from` (the body the typed decoder refuses). Whenever the typed
decoder accepts a body, both must yield the same envelope and the same resources, so which
path ran never changes an answer; and the fast path must be the one a valid body takes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.cards.resources import Resource, resources_from_prefetch
from service.errors import BadRequest
from service.hooks.service import plain_fields, typed_fields
from tests.cards.test_facts_fuzz import anything
from tests.hooks.hook_requests import SYNTHEA, hook_request, synthea_bundle
from tests.reliability.hostile import hostile_bodies, valid_body

ENVELOPE = {"hook", "hookInstance", "fhirServer", "fhirAuthorization", "context"}


def _normalized(value: Any) -> Any:
    """Plain JSON values, with integers beyond 64 bits as floats: orjson reads them so, msgspec
    exactly (every reader turns a number into a float, so either way the facts are equal)."""
    if isinstance(value, dict):
        return {key: _normalized(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalized(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return float(value)
    return value


def _comparable(fields: dict[str, Any]) -> Any:
    """The fields `HookRequest` reads (it tolerates, and nothing reads, any others) and the
    resources the facts will walk."""
    envelope = {key: value for key, value in fields.items() if key in ENVELOPE}
    resources = msgspec.to_builtins(resources_from_prefetch(fields.get("prefetch")))
    return _normalized([envelope, resources])


def _assert_agree(body: bytes) -> bool:
    """Whether the typed decoder took `body`; when it did, the plain path agrees."""
    try:
        typed = typed_fields(body)
    except Exception:  # refused: the plain path answers alone (parse_call's fallback)
        return False
    try:
        plain = plain_fields(body)
    except BadRequest:  # only a number beyond a double's range, in an element nobody reads
        with pytest.raises(orjson.JSONDecodeError, match="number is infinity"):
            orjson.loads(body)
        return True
    assert _comparable(typed) == _comparable(plain)
    return True


@pytest.mark.parametrize("path", sorted(SYNTHEA.glob("*.json"))[:6], ids=lambda p: p.name[:14])
def test_synthea_requests_take_the_typed_path(path: Path) -> None:
    body = orjson.dumps(hook_request(json.loads(path.read_text())))
    assert _assert_agree(body)
    prefetch = typed_fields(body)["prefetch"]
    assert all(isinstance(value, Resource) for value in prefetch.values())
    assert len(resources_from_prefetch(prefetch)) > 10


def test_valid_hostile_base_bodies_take_the_typed_path() -> None:
    for hook in ("patient-view", "order-sign", "order-select", "encounter-start"):
        assert _assert_agree(orjson.dumps(valid_body(hook)))


def test_hostile_bodies_agree_wherever_the_typed_decoder_accepts() -> None:
    taken = 0
    for _service_id, body in hostile_bodies(seed=20261124, count=3_000):
        taken += _assert_agree(body)
    assert 500 < taken < 3_000  # both outcomes are exercised


def test_bodies_the_typed_decoder_refuses_still_parse() -> None:
    body = valid_body("patient-view")
    body["prefetch"]["conditions"]["entry"].append("not an entry")
    body["prefetch"]["medications"] = "not a bundle"
    raw = orjson.dumps(body)
    with pytest.raises(msgspec.ValidationError):
        typed_fields(raw)
    fields = plain_fields(raw)
    assert fields["prefetch"]["medications"] is None  # no data, as a null would be
    kinds = sorted(r.resource_type for r in resources_from_prefetch(fields["prefetch"]))
    assert kinds == ["Condition", "Condition", "Observation", "Observation", "Patient", "Procedure"]


@pytest.mark.parametrize(
    "body",
    [b"", b"[]", b'"x"', b"{", b'{"a": NaN}', b"\xff", b'{"x": "\xed\xa0\x80"}', b'{"x": "\xc3("}'],
)
def test_what_is_not_a_json_object_is_refused_by_both(body: bytes) -> None:
    with pytest.raises((msgspec.DecodeError, UnicodeDecodeError)):
        typed_fields(body)
    with pytest.raises(BadRequest):
        plain_fields(body)


@settings(max_examples=300, deadline=None)
@given(
    prefetch=st.dictionaries(
        st.sampled_from(["patient", "conditions", "observations"]),
        anything
        | st.lists(anything, max_size=3).map(
            lambda found: {"resourceType": "Bundle", "entry": [{"resource": r} for r in found]}
        ),
        max_size=3,
    )
)
def test_generated_prefetches_agree(prefetch: dict[str, Any]) -> None:
    request = {"hook": "patient-view", "hookInstance": "h", "context": {}, "prefetch": prefetch}
    body = json.dumps(request).encode()  # json: big integers and NaN too
    _assert_agree(body)


def test_bundle_of_synthea_patient_agrees() -> None:
    bundle = synthea_bundle("Kirsten_Witting")
    body = orjson.dumps({"hook": "patient-view", "prefetch": {"everything": bundle}})
    assert _assert_agree(body)


def test_a_huge_number_counts_only_where_a_fact_reads_it() -> None:
    body = valid_body("patient-view")
    patient = body["prefetch"]["patient"]
    raw = orjson.dumps(body).replace(b'"gender"', b'"multipleBirthInteger": 1e400, "gender"', 1)
    assert typed_fields(raw)["prefetch"]["patient"].gender == patient["gender"]  # skipped
    with pytest.raises(msgspec.ValidationError, match="out of range"):  # read: orjson decides
        typed_fields(raw.replace(b'"value":8.1', b'"value":1e400', 1))
