"""The EHR JWT matrix: EhrJwtVerifier against signed tokens and a respx-served JWKS."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from joserfc.jwk import ECKey

from service.errors import Unauthorized
from service.settings import Settings
from tests.hooks.jwt_factory import OMIT, AuthHarness, FakeEhr, auth_harness, generate_key

BASE = "https://bedside.test/cds-services"
AUD = f"{BASE}/bedside-patient-view"
FEEDBACK = f"{AUD}/feedback"


@pytest.fixture
def jwks_mock() -> Iterator[respx.MockRouter]:
    """respx with every request mocked (an unexpected request fails the test)."""
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield router


@pytest.fixture
async def harness(settings: Settings) -> AsyncIterator[AuthHarness]:
    async with auth_harness(settings) as built:
        yield built


@pytest.fixture
async def ehr(harness: AuthHarness, jwks_mock: respx.MockRouter) -> FakeEhr:
    fake = FakeEhr()
    fake.serve_jwks(jwks_mock)
    await fake.register(harness.sessions)
    return fake


async def reject(
    harness: AuthHarness, authorization: str | None, reason: str, aud: str = AUD
) -> None:
    with pytest.raises(Unauthorized) as caught:
        await harness.verifier.verify(authorization, aud, "service")
    assert caught.value.reason == reason


# -- accepted ---------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
async def test_valid_token_is_accepted(
    harness: AuthHarness, jwks_mock: respx.MockRouter, alg: str
) -> None:
    fake = FakeEhr(alg=alg, tenant="hospital-a")
    fake.serve_jwks(jwks_mock)
    registration = await fake.register(harness.sessions)
    token = fake.token(AUD, sub="https://ehr.example.org/Practitioner/1")

    caller = await harness.verifier.verify(f"Bearer {token}", AUD, "service")

    assert caller.issuer == fake.issuer
    assert caller.tenant == "hospital-a"
    assert caller.registration.id == registration.id
    assert caller.subject == "https://ehr.example.org/Practitioner/1"
    assert await harness.audit_rows() == []


async def test_aud_array_containing_ours_is_accepted(harness: AuthHarness, ehr: FakeEhr) -> None:
    caller = await harness.verifier.verify(
        ehr.bearer(["https://other.example", AUD]), AUD, "service"
    )
    assert caller.issuer == ehr.issuer


async def test_feedback_url_is_the_audience_of_feedback(harness: AuthHarness, ehr: FakeEhr) -> None:
    await harness.verifier.verify(ehr.bearer(FEEDBACK), FEEDBACK, "feedback")
    await reject(harness, ehr.bearer(AUD), "wrong_aud", aud=FEEDBACK)


async def test_expired_within_leeway_is_accepted(harness: AuthHarness, ehr: FakeEhr) -> None:
    now = harness.clock()
    await harness.verifier.verify(ehr.bearer(AUD, iat=now - 300, exp=now - 50), AUD, "service")


async def test_epic_nbf_in_the_past_is_accepted(harness: AuthHarness, ehr: FakeEhr) -> None:
    now = harness.clock()
    await harness.verifier.verify(
        ehr.bearer(AUD, iat=now, nbf=now - 300, exp=now + 300, sub="epic-user"), AUD, "service"
    )


# -- rejected: token shape --------------------------------------------------------------------


@pytest.mark.usefixtures("ehr")
@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "missing_token"),
        ("", "missing_token"),
        ("Basic dXNlcjpwYXNz", "not_bearer"),
        ("Bearer ", "not_bearer"),
        ("Bearer abc", "malformed_token"),
        ("Bearer a.b", "malformed_token"),
        ("Bearer !!!.???.***", "malformed_token"),
        ("Bearer e30.e30.e30.e30", "malformed_token"),
        ("Bearer W10.e30.", "malformed_token"),  # header is an array
        ("Bearer " + "A" * 17000 + ".e30.", "token_too_large"),
    ],
)
async def test_missing_or_malformed_token(
    harness: AuthHarness, authorization: str | None, reason: str
) -> None:
    await reject(harness, authorization, reason)


# -- rejected: claims -------------------------------------------------------------------------


@pytest.mark.parametrize("claim", ["iss", "aud", "exp", "iat", "jti"])
async def test_each_required_claim(harness: AuthHarness, ehr: FakeEhr, claim: str) -> None:
    await reject(harness, ehr.bearer(AUD, **{claim: OMIT}), f"missing_{claim}")


@pytest.mark.parametrize(
    "aud",
    [
        BASE,  # discovery URL
        f"{BASE}/bedside-order-sign",  # sibling service
        f"{AUD}/",  # trailing slash
        AUD.replace("https://", "http://"),  # http vs https
        AUD.upper(),
        [f"{BASE}/bedside-order-sign"],
    ],
)
async def test_wrong_audience(harness: AuthHarness, ehr: FakeEhr, aud: Any) -> None:
    await reject(harness, ehr.bearer(aud), "wrong_aud")


async def test_expired_beyond_leeway(harness: AuthHarness, ehr: FakeEhr) -> None:
    now = harness.clock()
    await reject(harness, ehr.bearer(AUD, iat=now - 600, exp=now - 61), "expired")


async def test_token_living_longer_than_the_replay_cache(
    harness: AuthHarness, ehr: FakeEhr
) -> None:
    now = harness.clock()
    await reject(harness, ehr.bearer(AUD, exp=now + 86400), "lifetime_too_long")


async def test_nbf_in_the_future(harness: AuthHarness, ehr: FakeEhr) -> None:
    now = harness.clock()
    await reject(harness, ehr.bearer(AUD, nbf=now + 120), "not_yet_valid")


async def test_iat_in_the_future(harness: AuthHarness, ehr: FakeEhr) -> None:
    now = harness.clock()
    await reject(harness, ehr.bearer(AUD, iat=now + 120, exp=now + 300), "iat_in_future")


async def test_tenant_mismatch(harness: AuthHarness, jwks_mock: respx.MockRouter) -> None:
    fake = FakeEhr(tenant="hospital-a")
    fake.serve_jwks(jwks_mock)
    await fake.register(harness.sessions)
    await reject(harness, fake.bearer(AUD, tenant="hospital-b"), "unknown_tenant")
    await reject(harness, fake.bearer(AUD, tenant=OMIT), "unknown_tenant")


async def test_unknown_issuer_makes_no_request(
    harness: AuthHarness, ehr: FakeEhr, jwks_mock: respx.MockRouter
) -> None:
    stranger = FakeEhr(issuer="https://evil.example")
    jwks_mock.get(stranger.jwks_url).mock(return_value=httpx.Response(200, json=stranger.jwks()))
    await reject(harness, stranger.bearer(AUD), "unknown_issuer")
    await reject(harness, ehr.bearer(AUD, iss="https://evil.example"), "unknown_issuer")
    assert jwks_mock.calls.call_count == 0


# -- rejected: algorithm and signature --------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_alg_none(harness: AuthHarness, ehr: FakeEhr, alg: str) -> None:
    await reject(harness, ehr.bearer(AUD, header={"alg": alg}), "alg_not_allowed")


async def test_hs256_with_the_public_key_as_secret(harness: AuthHarness, ehr: FakeEhr) -> None:
    assert isinstance(ehr.key, ECKey)
    for secret in (ehr.key.as_pem(private=False), str(ehr.jwks()["keys"][0]).encode()):
        token = ehr.token(AUD, header={"alg": "HS256"}, key=secret)
        await reject(harness, f"Bearer {token}", "alg_not_allowed")


async def test_algorithm_not_on_the_allowlist(
    settings: Settings, jwks_mock: respx.MockRouter
) -> None:
    only_es384 = settings.model_copy(update={"jwt_algorithms": ["ES384"]})
    async with auth_harness(only_es384) as harness:
        fake = FakeEhr(alg="RS384")
        fake.serve_jwks(jwks_mock)
        await fake.register(harness.sessions)
        await reject(harness, fake.bearer(AUD), "alg_not_allowed")


async def test_tampered_signature(harness: AuthHarness, ehr: FakeEhr) -> None:
    header, payload, signature = ehr.token(AUD).split(".")
    flipped = ("B" if signature[10] == "A" else "A").join((signature[:10], signature[11:]))
    await reject(harness, f"Bearer {header}.{payload}.{flipped}", "bad_signature")
    other = ehr.token(AUD, sub="someone-else").split(".")[1]
    await reject(harness, f"Bearer {header}.{other}.{signature}", "bad_signature")


async def test_signed_by_another_key_with_our_kid(harness: AuthHarness, ehr: FakeEhr) -> None:
    attacker = generate_key("ES384", kid=ehr.kid)
    await reject(harness, ehr.bearer(AUD, key=attacker), "bad_signature")


@pytest.mark.parametrize("header", ["jwk", "x5c", "x5u"])
async def test_embedded_or_pointed_keys_are_ignored(
    harness: AuthHarness, ehr: FakeEhr, jwks_mock: respx.MockRouter, header: str
) -> None:
    attacker = generate_key("ES384")
    values = {
        "jwk": attacker.as_dict(private=False),
        "x5c": ["MIIB"],
        "x5u": "https://evil.example/cert.pem",
    }
    token = ehr.token(AUD, key=attacker, header={header: values[header]})
    await reject(harness, f"Bearer {token}", "unknown_kid")
    assert all("evil.example" not in str(call.request.url) for call in jwks_mock.calls)


@pytest.mark.parametrize("typ", ["at+jwt", "dpop+jwt", 1, ["JWT"], {"JWT": 1}])
async def test_other_kinds_of_jwt(harness: AuthHarness, ehr: FakeEhr, typ: object) -> None:
    await reject(harness, ehr.bearer(AUD, header={"typ": typ}), "wrong_typ")


async def test_typ_may_be_absent(harness: AuthHarness, ehr: FakeEhr) -> None:
    await harness.verifier.verify(ehr.bearer(AUD, header={"typ": OMIT}), AUD, "service")


async def test_crit_header_is_refused(harness: AuthHarness, ehr: FakeEhr) -> None:
    token = ehr.bearer(AUD, header={"crit": ["b64"], "b64": False})
    await reject(harness, token, "malformed_token")


async def test_replayed_jti(harness: AuthHarness, ehr: FakeEhr) -> None:
    bearer = ehr.bearer(AUD)
    await harness.verifier.verify(bearer, AUD, "service")
    await reject(harness, bearer, "replayed_jti")


# -- audit ------------------------------------------------------------------------------------


async def test_every_rejection_is_audited_without_the_token(
    harness: AuthHarness, ehr: FakeEhr
) -> None:
    token = ehr.token(AUD, jti="jti-audit-1", exp=harness.clock() - 3600)
    await reject(harness, f"Bearer {token}", "expired")
    await reject(harness, None, "missing_token")

    rows = sorted(await harness.audit_rows(), key=lambda row: row.reason)
    assert [(r.reason, r.outcome, r.endpoint) for r in rows] == [
        ("expired", "rejected", "service"),
        ("missing_token", "rejected", "service"),
    ]
    assert (rows[0].issuer, rows[0].jti) == (ehr.issuer, "jti-audit-1")
    for row in rows:
        stored = " ".join(
            str(getattr(row, column))
            for column in ("reason", "issuer", "tenant", "jti", "endpoint", "outcome")
        )
        assert token not in stored
        assert token.split(".")[2] not in stored


async def test_rejections_are_counted(harness: AuthHarness, ehr: FakeEhr) -> None:
    from service.observability import JWT_REJECTIONS

    before = JWT_REJECTIONS.labels(reason="wrong_aud")._value.get()
    await reject(harness, ehr.bearer(BASE), "wrong_aud")
    assert JWT_REJECTIONS.labels(reason="wrong_aud")._value.get() == before + 1


async def test_odd_json_types_never_escape_as_errors(harness: AuthHarness, ehr: FakeEhr) -> None:
    """Whatever JSON type a header or claim holds, the answer is a caller or Unauthorized,
    never another exception (a 500)."""
    odd: list[Any] = [None, 0, 1.5, True, [], {}, ["x"], {"a": 1}, "", "x" * 300, 2**62]
    bearers = [
        ehr.bearer(AUD, header={name: value})
        for value in odd
        for name in ("alg", "kid", "jku", "typ", "jwk", "x5u")
    ]
    bearers += [
        ehr.bearer(AUD, **{name: value})
        for value in odd
        for name in ("iss", "aud", "exp", "iat", "nbf", "jti", "tenant", "sub")
    ]
    for bearer in bearers:
        try:
            await harness.verifier.verify(bearer, AUD, "service")
        except Unauthorized:
            pass


async def test_the_token_never_reaches_the_logs(
    harness: AuthHarness, ehr: FakeEhr, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    token = ehr.token(AUD, exp=harness.clock() - 3600)
    await reject(harness, f"Bearer {token}", "expired")
    await harness.verifier.verify(ehr.bearer(AUD), AUD, "service")
    logged = " ".join(f"{r.getMessage()} {getattr(r, 'fields', '')}" for r in caplog.records)
    assert "expired" in logged
    assert token.split(".")[1] not in logged
    assert token.split(".")[2] not in logged
