"""Ed25519 signatures over a certificate's printed details, with key ids for rotation.

SIGNING_KEY is the private key that signs new certificates: base64 of the raw 32 bytes,
optionally preceded by a key id and a colon ("k2:..."); without one the id is the first
eight hex digits of the SHA-256 of the public key. CERTIFICATE_VERIFY_KEYS lists the public
keys of earlier signing keys ("id:base64(public key)", comma-separated), so certificates
signed before a rotation still verify. The public keys are published on the verification
page and by the API, so anyone can check a certificate's signature themselves.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _b64decode(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(
        text.replace("+", "-").replace("/", "_") + "=" * (-len(text) % 4)
    )


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _split(entry: str) -> tuple[str, str]:
    key_id, sep, value = entry.strip().rpartition(":")
    return (key_id if sep else ""), value


def fingerprint(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:8]


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    key: Ed25519PublicKey
    current: bool

    @property
    def encoded(self) -> str:
        """The raw public key in base64url, as published."""
        return b64url(self.key.public_bytes(Encoding.Raw, PublicFormat.Raw))


@lru_cache(maxsize=4)
def _signer(secret: str) -> tuple[str, Ed25519PrivateKey]:
    key_id, value = _split(secret)
    try:
        raw = _b64decode(value)
        private = Ed25519PrivateKey.from_private_bytes(raw)
    except (ValueError, binascii.Error) as exc:
        raise ImproperlyConfigured(
            "SIGNING_KEY must be base64 of a raw 32-byte Ed25519 private key "
            "(optionally 'keyid:' before it)."
        ) from exc
    return key_id or fingerprint(private.public_key()), private


def signing_key() -> tuple[str, Ed25519PrivateKey]:
    """The key id and private key that sign new certificates."""
    return _signer(settings.SIGNING_KEY)


@lru_cache(maxsize=4)
def _verify_keys(secret: str, retired: tuple[str, ...]) -> dict[str, PublicKey]:
    key_id, private = _signer(secret)
    keys = {key_id: PublicKey(key_id, private.public_key(), current=True)}
    for entry in retired:
        old_id, value = _split(entry)
        try:
            public = Ed25519PublicKey.from_public_bytes(_b64decode(value))
        except (ValueError, binascii.Error) as exc:
            raise ImproperlyConfigured(
                "CERTIFICATE_VERIFY_KEYS holds 'keyid:base64(raw public key)' entries."
            ) from exc
        old_id = old_id or fingerprint(public)
        keys.setdefault(old_id, PublicKey(old_id, public, current=False))
    return keys


def verify_keys() -> dict[str, PublicKey]:
    """Every public key that verifies certificates, by key id (the current one first)."""
    return _verify_keys(settings.SIGNING_KEY, tuple(settings.CERTIFICATE_VERIFY_KEYS))


def canonical(details: dict[str, Any]) -> bytes:
    """The one byte form of the printed details that is signed: sorted JSON in UTF-8."""
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(details: dict[str, Any]) -> tuple[str, str]:
    """(key id, signature in base64url) over the canonical form of `details`."""
    key_id, private = signing_key()
    return key_id, b64url(private.sign(canonical(details)))


def signature_valid(details: dict[str, Any], *, key_id: str, signature: str) -> bool:
    key = verify_keys().get(key_id)
    if key is None:
        return False
    try:
        key.key.verify(_b64decode(signature), canonical(details))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True
