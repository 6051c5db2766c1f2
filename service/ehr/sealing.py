"""A registered EHR's SMART client credentials at rest (the client secret, or the private key
set given with `--client-jwks`): sealed with AES-256-GCM under a key derived (HKDF-SHA256) from
the server secret, bound to the registration's issuer and tenant and to the field it sits in.

A database dump or backup then yields no usable credential, and a sealed value copied onto
another registration (or into the other field) does not open. Rotating BEDSIDE_SECRET_KEY makes
sealed values unreadable: `bedside doctor` says so, and the EHR's client credential must be
registered again. Values stored in clear before sealing existed are still read (doctor warns
about client secrets stored so).
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "sealed:v1:"
CLIENT_SECRET = "client_secret"
CLIENT_JWKS = "client_jwks"
_INFO = b"bedside ehr client secret v1"
_NONCE_BYTES = 12


class SealError(Exception):
    """A sealed secret that does not open: another server secret, another registration, or
    a value altered in the database."""


def _key(server_secret: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        server_secret
    )
    return AESGCM(derived)


def _context(issuer: str, tenant_key: str, field: str) -> bytes:
    # Client secrets were sealed before other fields were: their context stays as it was.
    if field == CLIENT_SECRET:
        return f"{issuer}\x1f{tenant_key}".encode()
    return f"{issuer}\x1f{tenant_key}\x1f{field}".encode()


def seal(
    server_secret: bytes,
    plaintext: str,
    *,
    issuer: str,
    tenant_key: str,
    field: str = CLIENT_SECRET,
) -> str:
    """The value to store for `plaintext` in `field` (CLIENT_SECRET or CLIENT_JWKS)."""
    nonce = os.urandom(_NONCE_BYTES)
    context = _context(issuer, tenant_key, field)
    sealed = _key(server_secret).encrypt(nonce, plaintext.encode(), context)
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def is_sealed(stored: str) -> bool:
    """Whether a stored value was sealed (False for a secret stored in clear by an older
    version)."""
    return stored.startswith(PREFIX)


def unseal(
    server_secret: bytes,
    stored: str,
    *,
    issuer: str,
    tenant_key: str,
    field: str = CLIENT_SECRET,
) -> str:
    """The credential behind a stored value of `field`; raises SealError when it does not
    open. A value stored in clear by an older version is returned as it is."""
    if not is_sealed(stored):
        return stored
    try:
        raw = base64.urlsafe_b64decode(stored[len(PREFIX) :].encode())
        nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        plain = _key(server_secret).decrypt(nonce, sealed, _context(issuer, tenant_key, field))
        return plain.decode()
    except (InvalidTag, ValueError) as exc:
        what = field.replace("_", " ")
        raise SealError(f"the {what} cannot be unsealed with this server secret") from exc
