"""The signed appContext of a card's smart link: the optional claims of issue 20 (why the card
was shown, the review question of a recall card) round-trip, and a context signed before
them still verifies."""

from __future__ import annotations

import hashlib

import orjson
import pytest
from joserfc import jws
from joserfc.jwk import OctKey

from service.app_context import AppContextSigner, InvalidAppContext

SECRET = b"a-test-secret-of-some-length-0123456789"
NOW = 1_790_000_000.0


def _old_style(claims: dict[str, object]) -> str:
    """A context as the signer wrote it before the optional claims (same key derivation)."""
    key = OctKey.import_key(hashlib.sha256(b"bedside-app-context\x1f" + SECRET).digest())
    return jws.serialize_compact({"alg": "HS256"}, orjson.dumps(claims), key, algorithms=["HS256"])


def test_a_context_signed_before_the_optional_claims_still_verifies() -> None:
    signer = AppContextSigner(SECRET, ttl_seconds=600)
    token = _old_style({"c": "card", "i": "item", "h": "patient-view", "l": "L", "exp": NOW + 60})
    context = signer.verify(token, now=NOW)
    assert (context.card_uuid, context.item_id, context.learner) == ("card", "item", "L")
    assert (context.why, context.review_id) == (None, None)


def test_why_and_review_round_trip_and_are_left_out_when_absent() -> None:
    signer = AppContextSigner(SECRET, ttl_seconds=600)
    token = signer.sign(
        card_uuid="card",
        item_id="case-x",
        hook="patient-view",
        learner="L",
        now=NOW,
        why="recall:2026-11-27",
        review_id="7d0e5d5c-3c1f-4e43-9a8e-7a1c2f6b9d10",
    )
    context = signer.verify(token, now=NOW)
    assert context.why == "recall:2026-11-27"
    assert context.review_id == "7d0e5d5c-3c1f-4e43-9a8e-7a1c2f6b9d10"
    plain = signer.sign(card_uuid="c", item_id="i", hook="patient-view", learner="L", now=NOW)
    assert len(plain) < len(token)  # no empty claims on an ordinary card without a why
    assert signer.verify(plain, now=NOW).why is None


@pytest.mark.parametrize("claim", ["w", "r"])
def test_an_optional_claim_of_another_type_is_refused(claim: str) -> None:
    signer = AppContextSigner(SECRET, ttl_seconds=600)
    claims = {"c": "card", "i": "item", "h": "patient-view", "l": "L", "exp": NOW + 60, claim: 7}
    with pytest.raises(InvalidAppContext):
        signer.verify(_old_style(claims), now=NOW)
