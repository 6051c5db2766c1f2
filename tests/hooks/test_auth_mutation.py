"""Mutation test of the EHR JWT verifier: remove one check at a time and show that a token the
matrix rejects then gets through. A check that no case notices is a check nobody tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import respx

from service.ehr.auth import EhrJwtVerifier, UnverifiedToken
from service.errors import Unauthorized
from service.settings import Settings
from tests.hooks.jwt_factory import AuthHarness, FakeEhr, auth_harness

AUD = "https://bedside.test/cds-services/bedside-patient-view"

Case = Callable[[AuthHarness, FakeEhr, FakeEhr], Awaitable[str]]


async def _unknown_issuer(_h: AuthHarness, ehr: FakeEhr, _rs: FakeEhr) -> str:
    return ehr.bearer(AUD, iss="https://evil.example")


async def _alg_not_allowed(_h: AuthHarness, _ehr: FakeEhr, rs_ehr: FakeEhr) -> str:
    return rs_ehr.bearer(AUD)  # RS384 while only ES384 is allowed


async def _wrong_aud(_h: AuthHarness, ehr: FakeEhr, _rs: FakeEhr) -> str:
    return ehr.bearer("https://bedside.test/cds-services")


async def _expired(h: AuthHarness, ehr: FakeEhr, _rs: FakeEhr) -> str:
    now = h.clock()
    return ehr.bearer(AUD, iat=now - 7200, exp=now - 3600)


async def _iat_in_future(h: AuthHarness, ehr: FakeEhr, _rs: FakeEhr) -> str:
    now = h.clock()
    return ehr.bearer(AUD, iat=now + 600, exp=now + 900)


async def _unknown_tenant(_h: AuthHarness, ehr: FakeEhr, _rs: FakeEhr) -> str:
    return ehr.bearer(AUD, tenant="someone-else")


async def _tampered(_h: AuthHarness, ehr: FakeEhr, _rs: FakeEhr) -> str:
    header, _payload, signature = ehr.token(AUD).split(".")
    payload = ehr.token(AUD, sub="admin").split(".")[1]
    return f"Bearer {header}.{payload}.{signature}"


async def _replayed(h: AuthHarness, ehr: FakeEhr, _rs: FakeEhr) -> str:
    bearer = ehr.bearer(AUD)
    await h.verifier.verify(bearer, AUD, "service")
    return bearer


CASES: dict[str, Case] = {
    "unknown_issuer": _unknown_issuer,
    "alg_not_allowed": _alg_not_allowed,
    "wrong_aud": _wrong_aud,
    "expired": _expired,
    "iat_in_future": _iat_in_future,
    "unknown_tenant": _unknown_tenant,
    "bad_signature": _tampered,
    "replayed_jti": _replayed,
}


async def _any_issuer(self: EhrJwtVerifier, _token: UnverifiedToken) -> tuple[Any, ...]:
    return await self._registry.all()


async def _no_signature_check(_self: EhrJwtVerifier, *_args: Any) -> None:
    return None


async def _no_replay_check(_self: EhrJwtVerifier, token: UnverifiedToken, _now: float) -> str:
    return str(token.claims.get("jti", ""))


def _accept_header_alg(_self: EhrJwtVerifier, token: UnverifiedToken) -> str:
    return str(token.header.get("alg"))


def _first_registration(
    _self: EhrJwtVerifier, _token: UnverifiedToken, candidates: tuple[Any, ...]
) -> Any:
    return candidates[0]


def _no_op(_self: EhrJwtVerifier, *_args: Any) -> None:
    return None


# check removed -> (replacement, the matrix case that must then pass)
MUTANTS: dict[str, tuple[Callable[..., Any], str]] = {
    "_check_issuer": (_any_issuer, "unknown_issuer"),
    "_check_algorithm": (_accept_header_alg, "alg_not_allowed"),
    "_check_audience": (_no_op, "wrong_aud"),
    "_check_expiry": (_no_op, "expired"),
    "_check_issued_at": (_no_op, "iat_in_future"),
    "_check_tenant": (_first_registration, "unknown_tenant"),
    "_check_signature": (_no_signature_check, "bad_signature"),
    "_check_replay": (_no_replay_check, "replayed_jti"),
}


@pytest.fixture
def jwks_mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield router


@pytest.fixture
async def world(
    settings: Settings, jwks_mock: respx.MockRouter
) -> AsyncIterator[tuple[AuthHarness, FakeEhr, FakeEhr]]:
    """A verifier allowing ES384 only, an ES384 EHR and (registered later) an RS384 one."""
    only_es384 = settings.model_copy(update={"jwt_algorithms": ["ES384"]})
    async with auth_harness(only_es384) as harness:
        ehr = FakeEhr()
        rs_ehr = FakeEhr(issuer="https://rs.example.org", alg="RS384")
        for fake in (ehr, rs_ehr):
            fake.serve_jwks(jwks_mock)
            await fake.register(harness.sessions)
        yield harness, ehr, rs_ehr


async def _outcome(world: tuple[AuthHarness, FakeEhr, FakeEhr], case: Case) -> str | None:
    harness = world[0]
    bearer = await case(*world)
    try:
        await harness.verifier.verify(bearer, AUD, "service")
    except Unauthorized as exc:
        return exc.reason
    return None


@pytest.mark.parametrize("reason", sorted(CASES))
async def test_every_case_is_rejected_by_the_real_verifier(
    world: tuple[AuthHarness, FakeEhr, FakeEhr], reason: str
) -> None:
    assert await _outcome(world, CASES[reason]) == reason


@pytest.mark.parametrize("check", sorted(MUTANTS))
async def test_removing_a_check_lets_a_bad_token_through(
    world: tuple[AuthHarness, FakeEhr, FakeEhr], monkeypatch: pytest.MonkeyPatch, check: str
) -> None:
    replacement, expected_survivor = MUTANTS[check]
    monkeypatch.setattr(EhrJwtVerifier, check, replacement)

    outcomes = {reason: await _outcome(world, case) for reason, case in CASES.items()}

    survivors = {reason for reason, outcome in outcomes.items() if outcome is None}
    assert expected_survivor in survivors, outcomes
