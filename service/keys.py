"""Bedside's own asymmetric keys: private_key_jwt client assertions and VC-JWT credentials.

The private key set comes from BEDSIDE_SIGNING_KEY_FILE, or is generated once into the data
dir. Only the public half is ever published (GET /.well-known/jwks.json).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey, KeySet

SIGNING_ALG = "ES384"


class SigningKeys:
    def __init__(self, key_set: KeySet) -> None:
        self._set = key_set
        self.current: ECKey = key_set.keys[0]  # type: ignore[assignment]

    @property
    def kid(self) -> str:
        return str(self.current.kid)

    def public_jwks(self) -> dict[str, Any]:
        keys = []
        for key in self._set.keys:
            public = key.as_dict(private=False)
            public.setdefault("alg", SIGNING_ALG)
            public.setdefault("use", "sig")
            keys.append(public)
        return {"keys": keys}

    def public_key_set(self) -> KeySet:
        return KeySet.import_key_set(self.public_jwks())  # type: ignore[arg-type]


def _generate() -> dict[str, Any]:
    key = ECKey.generate_key("P-384", parameters={"alg": SIGNING_ALG, "use": "sig"}, private=True)
    key.ensure_kid()
    return {"keys": [key.as_dict(private=True)]}


def load_signing_keys(configured: Path | None, data_dir: Path) -> SigningKeys:
    """Load the configured key set, or create one in the data dir on first start."""
    path = configured or data_dir / "signing-jwks.json"
    if configured is None and not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("x") as handle:  # atomic: concurrent workers agree on one key
                json.dump(_generate(), handle)
            path.chmod(0o600)
        except FileExistsError:
            pass
    return SigningKeys(KeySet.import_key_set(json.loads(path.read_text())))
