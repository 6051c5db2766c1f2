"""Key sets behind the EHR JWT: cache, throttled refresh, rotation, outages, jku, shared replay."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx

from service.ehr.keysets import KeySetUnavailable, parse_key_set
from service.errors import Unauthorized
from service.settings import Settings
from service.shared_state import RedisState
from tests.hooks.jwt_factory import AuthHarness, FakeEhr, auth_harness, generate_key

AUD = "https://bedside.test/cds-services/bedside-patient-view"


@pytest.fixture
def jwks_mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield router


@pytest.fixture
async def harness(settings: Settings) -> AsyncIterator[AuthHarness]:
    async with auth_harness(settings) as built:
        yield built


async def reason_of(harness: AuthHarness, authorization: str) -> str | None:
    """The rejection reason, or None when the token is accepted."""
    try:
        await harness.verifier.verify(authorization, AUD, "service")
    except Unauthorized as exc:
        return exc.reason
    return None


async def test_key_set_is_cached(harness: AuthHarness, jwks_mock: respx.MockRouter) -> None:
    ehr = FakeEhr()
    route = ehr.serve_jwks(jwks_mock)
    await ehr.register(harness.sessions)
    for _ in range(5):
        assert await reason_of(harness, ehr.bearer(AUD)) is None
    assert route.call_count == 1


async def test_unknown_kid_refreshes_once_per_minute_then_accepts_rotation(
    harness: AuthHarness, jwks_mock: respx.MockRouter
) -> None:
    ehr = FakeEhr()
    route = ehr.serve_jwks(jwks_mock)
    await ehr.register(harness.sessions)
    assert await reason_of(harness, ehr.bearer(AUD)) is None  # first fetch
    ehr.rotate()
    harness.clock.advance(5)

    for _ in range(3):  # a rotated key inside the throttle window: no refetch storm
        now = harness.clock()
        assert await reason_of(harness, ehr.bearer(AUD, now=now)) == "unknown_kid"
    assert route.call_count == 1

    harness.clock.advance(60)
    assert await reason_of(harness, ehr.bearer(AUD, now=harness.clock())) is None
    assert route.call_count == 2


async def test_attacker_kids_cost_one_refresh_per_minute(
    harness: AuthHarness, jwks_mock: respx.MockRouter
) -> None:
    ehr = FakeEhr()
    route = ehr.serve_jwks(jwks_mock)
    await ehr.register(harness.sessions)
    for n in range(10):
        assert await reason_of(harness, ehr.bearer(AUD, header={"kid": f"k{n}"})) in {
            "unknown_kid",
            "bad_signature",
        }
    assert route.call_count == 1


@pytest.mark.parametrize(
    "outage",
    [
        httpx.Response(503),
        httpx.Response(200, text="<html>"),
        httpx.ConnectError("down"),
        httpx.Response(302, headers={"Location": "https://evil.example/jwks"}),
    ],
)
async def test_cached_keys_keep_working_when_the_jwks_url_is_down(
    harness: AuthHarness, jwks_mock: respx.MockRouter, outage: httpx.Response | Exception
) -> None:
    ehr = FakeEhr()
    route = ehr.serve_jwks(jwks_mock)
    await ehr.register(harness.sessions)
    assert await reason_of(harness, ehr.bearer(AUD)) is None
    route.mock(
        side_effect=[outage] if isinstance(outage, Exception) else None,
        return_value=None if isinstance(outage, Exception) else outage,
    )

    harness.clock.advance(7200)  # the cached set is stale and the refresh fails
    assert await reason_of(harness, ehr.bearer(AUD, now=harness.clock())) is None
    assert route.call_count == 2
    assert await reason_of(harness, ehr.bearer(AUD, now=harness.clock())) is None


async def test_jwks_down_from_the_start(harness: AuthHarness, jwks_mock: respx.MockRouter) -> None:
    ehr = FakeEhr()
    jwks_mock.get(ehr.jwks_url).mock(return_value=httpx.Response(500))
    await ehr.register(harness.sessions)
    assert await reason_of(harness, ehr.bearer(AUD)) == "jwks_unavailable"


async def test_oversized_jwks_is_refused(harness: AuthHarness, jwks_mock: respx.MockRouter) -> None:
    ehr = FakeEhr()
    padded = {"keys": ehr.jwks()["keys"], "padding": "x" * 100_000}
    jwks_mock.get(ehr.jwks_url).mock(return_value=httpx.Response(200, json=padded))
    await ehr.register(harness.sessions)
    assert await reason_of(harness, ehr.bearer(AUD)) == "jwks_unavailable"


async def test_jku_not_on_the_allowlist_is_never_fetched(
    harness: AuthHarness, jwks_mock: respx.MockRouter
) -> None:
    ehr = FakeEhr()
    ehr.serve_jwks(jwks_mock)
    evil = jwks_mock.get("https://evil.example/jwks.json").mock(
        return_value=httpx.Response(200, json=ehr.jwks())
    )
    await ehr.register(harness.sessions)
    token = ehr.bearer(AUD, header={"jku": "https://evil.example/jwks.json"})
    assert await reason_of(harness, token) == "jku_not_allowed"
    assert evil.call_count == 0
    assert jwks_mock.calls.call_count == 0


async def test_jku_on_the_allowlist_is_used(
    harness: AuthHarness, jwks_mock: respx.MockRouter
) -> None:
    ehr = FakeEhr(jku_allowlist=("https://ehr.example.org/keys/2.json",))
    registered = jwks_mock.get(ehr.jwks_url).mock(return_value=httpx.Response(500))
    jku = jwks_mock.get("https://ehr.example.org/keys/2.json").mock(
        return_value=httpx.Response(200, json=ehr.jwks())
    )
    await ehr.register(harness.sessions)
    token = ehr.bearer(AUD, header={"jku": "https://ehr.example.org/keys/2.json"})
    assert await reason_of(harness, token) is None
    assert (jku.call_count, registered.call_count) == (1, 0)


async def test_workers_share_the_fetched_key_set(
    harness: AuthHarness, jwks_mock: respx.MockRouter
) -> None:
    ehr = FakeEhr()
    route = ehr.serve_jwks(jwks_mock)
    await ehr.register(harness.sessions)
    assert await reason_of(harness, ehr.bearer(AUD)) is None
    other_worker = harness.new_verifier()
    await other_worker.verify(ehr.bearer(AUD), AUD, "service")
    assert route.call_count == 1


@pytest.mark.redis
async def test_replay_across_workers_sharing_redis(
    settings: Settings, redis_url: str, jwks_mock: respx.MockRouter
) -> None:
    async with auth_harness(settings, state=RedisState(redis_url)) as harness:
        ehr = FakeEhr()
        route = ehr.serve_jwks(jwks_mock)
        await ehr.register(harness.sessions)
        second_state = RedisState(redis_url)
        try:
            worker_b = harness.new_verifier(state=second_state)
            bearer = ehr.bearer(AUD)
            await harness.verifier.verify(bearer, AUD, "service")
            with pytest.raises(Unauthorized) as caught:
                await worker_b.verify(bearer, AUD, "service")
            assert caught.value.reason == "replayed_jti"
            assert route.call_count == 1  # worker B used the key set worker A fetched
        finally:
            await second_state.close()


async def test_a_cold_burst_waits_for_one_fetch(
    harness: AuthHarness, jwks_mock: respx.MockRouter
) -> None:
    ehr = FakeEhr()
    route = ehr.serve_jwks(jwks_mock)
    await ehr.register(harness.sessions)
    worker_b = harness.new_verifier()
    calls = [v.verify(ehr.bearer(AUD), AUD, "service") for v in [harness.verifier] * 4]
    calls += [worker_b.verify(ehr.bearer(AUD), AUD, "service") for _ in range(4)]
    callers = await asyncio.gather(*calls)
    assert len(callers) == 8
    assert route.call_count == 1


def test_key_set_parsing_keeps_only_public_signing_keys() -> None:
    good = FakeEhr().jwks()["keys"][0]
    private = generate_key("ES384").as_dict(private=True)
    body = {
        "keys": [
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
            {**good, "kid": "enc", "use": "enc"},
            {**private, "kid": "private"},
            {"kty": "EC", "crv": "P-384", "x": "AAAA", "y": "AAAA", "kid": "broken"},
            {"kty": "PQ", "kid": "future"},
            "not-a-key",
            good,
        ]
    }
    keys = parse_key_set(json.dumps(body).encode())
    assert [key.kid for key in keys.keys] == [good["kid"]]


@pytest.mark.parametrize("body", [b"", b"[]", b'{"keys": {}}', b'{"keys": [{"kty": "oct"}]}'])
def test_unusable_key_sets(body: bytes) -> None:
    with pytest.raises(KeySetUnavailable):
        parse_key_set(body)
