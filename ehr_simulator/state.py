"""The simulator's configuration and in-memory state, shared by its routers.

Kept apart from `app.py` (which assembles the routers) so that the routers import these
names without importing the app back.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

from joserfc.jwk import ECKey

from ehr_simulator.data import PatientStore

ClientAuth = Literal["client_secret_basic", "private_key_jwt"]


@dataclass
class SimConfig:
    """Where the simulator and Bedside live, and the SMART client Bedside is registered as."""

    base_url: str
    bedside_url: str
    client_id: str = "bedside"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    client_auth: ClientAuth = "client_secret_basic"
    patients: PatientStore = field(default_factory=PatientStore, repr=False)

    @property
    def fhir_base(self) -> str:
        """The SMART `iss`."""
        return self.base_url + "/fhir"

    @property
    def issuer(self) -> str:
        """The JWT issuer: CDS Hooks JWTs and id_tokens."""
        return self.base_url

    @property
    def redirect_uri(self) -> str:
        return self.bedside_url + "/app/callback"


@dataclass
class SimState:
    """In-memory state: launches, codes, access tokens, used client assertion ids, and the
    faults a test can switch on (id_token claims to override, e.g. {"nonce": "x"})."""

    key: ECKey
    launches: dict[str, dict[str, Any]] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    access_tokens: set[str] = field(default_factory=set)
    used_jti: set[str] = field(default_factory=set)
    id_token_faults: dict[str, Any] = field(default_factory=dict)
    unsigned_id_token: bool = False
    id_token_key: ECKey | None = None  # a fault: sign id_tokens with a key not in the JWKS


def new_key() -> ECKey:
    """A fresh ES384 signing key with a kid (the simulator's, or a test's)."""
    key = ECKey.generate_key("P-384", parameters={"alg": "ES384", "use": "sig"}, private=True)
    key.ensure_kid()
    return key


def register_launch(
    app_state: Any, *, patient: str | None, practitioner: str, app_context: str | None
) -> str:
    """Remember a launch context; returns the opaque launch id for the app's URL."""
    sim: SimState = app_state.sim
    launch = secrets.token_urlsafe(16)
    sim.launches[launch] = {
        "patient": patient,
        "practitioner": practitioner,
        "appContext": app_context,
    }
    return launch
