"""Values at rest: AES-GCM encryption with a key id per value, and a keyed hash that finds a
value without decrypting. Any app that keeps a secret in the database uses these.

FIELD_ENCRYPTION_KEYS is "id:base64key,id:base64key", newest first: the first key
encrypts, every key decrypts, so keys rotate by adding a new one in front and
re-encrypting (each app that stores values has a command for its own). Other key lists of
the same form (the credit ledger's LEDGER_KEYS) are read with `parse_keys`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionError(Exception):
    """A stored value could not be decrypted: wrong key, unknown key id, or tampering."""


@dataclass(frozen=True)
class FieldKeys:
    current: str
    keys: dict[str, bytes]


def _b64_key(name: str, text: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ImproperlyConfigured(f"{name}: a key is not valid base64.") from None
    if len(key) != 32:
        raise ImproperlyConfigured(f"{name}: each key must be 32 bytes, not {len(key)}.")
    return key


def parse_keys(text: str, *, name: str, max_id_length: int | None = None) -> FieldKeys:
    """A key list "id:base64key[,id:base64key...]" of the setting `name`, newest first (ids
    of letters and digits, at most `max_id_length` where a column of that size keeps them)."""
    keys: dict[str, bytes] = {}
    for part in (p.strip() for p in text.split(",")):
        key_id, sep, material = part.partition(":")
        too_long = max_id_length is not None and len(key_id) > max_id_length
        if not sep or not key_id.isalnum() or too_long:
            limit = f" (key ids of at most {max_id_length} characters)" if max_id_length else ""
            raise ImproperlyConfigured(f"{name} must read 'id:base64key[,id:base64key...]'{limit}.")
        if key_id in keys:
            raise ImproperlyConfigured(f"{name} names the key id {key_id} twice.")
        keys[key_id] = _b64_key(name, material)
    return FieldKeys(current=next(iter(keys)), keys=keys)


def parse_field_keys(text: str) -> FieldKeys:
    return parse_keys(text, name="FIELD_ENCRYPTION_KEYS")


@cache
def _cached_keys(text: str) -> FieldKeys:
    return parse_field_keys(text)


def field_keys() -> FieldKeys:
    return _cached_keys(settings.FIELD_ENCRYPTION_KEYS)


def encrypt(plaintext: str, *, purpose: str) -> str:
    """'keyid:base64(nonce || ciphertext+tag)'. The purpose (e.g. "id_number") is bound as
    associated data, so a value copied into another column does not decrypt there."""
    keys = field_keys()
    nonce = os.urandom(12)
    sealed = AESGCM(keys.keys[keys.current]).encrypt(nonce, plaintext.encode(), purpose.encode())
    return f"{keys.current}:{base64.b64encode(nonce + sealed).decode()}"


def key_id_of(token: str) -> str:
    return token.partition(":")[0]


def decrypt(token: str, *, purpose: str) -> str:
    key_id, _, body = token.partition(":")
    key = field_keys().keys.get(key_id)
    if key is None:
        raise DecryptionError(f"No key with id {key_id!r} is configured.")
    try:
        raw = base64.b64decode(body, validate=True)
        return AESGCM(key).decrypt(raw[:12], raw[12:], purpose.encode()).decode()
    except (InvalidTag, binascii.Error, ValueError) as exc:
        raise DecryptionError("The stored value does not decrypt with its key.") from exc


def lookup_hash(value: str, *, purpose: str) -> str:
    """HMAC-SHA256 of a canonical value: equal values hash equal, so exact search and a
    unique constraint work without decrypting, and without the key nobody can try
    all 10^17 ID numbers against the table."""
    key = _b64_key("LOOKUP_HASH_KEY", settings.LOOKUP_HASH_KEY)
    return hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()
