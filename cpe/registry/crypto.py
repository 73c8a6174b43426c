"""ID numbers at rest: AES-GCM encryption with a key id per value, a keyed hash to find a
value without decrypting, and the masked form shown on pages.

The primitives live in `cpe.core.crypto` (accounts encrypts TOTP secrets with the same
keys); they are re-exported here so the registry reads as before. FIELD_ENCRYPTION_KEYS is
"id:base64key,id:base64key", newest first: the first key encrypts, every key decrypts.
"""

from __future__ import annotations

from cpe.core.crypto import (
    DecryptionError,
    FieldKeys,
    decrypt,
    encrypt,
    field_keys,
    key_id_of,
    lookup_hash,
    parse_field_keys,
)

__all__ = [
    "DecryptionError",
    "FieldKeys",
    "decrypt",
    "encrypt",
    "field_keys",
    "key_id_of",
    "lookup_hash",
    "mask_id_number",
    "parse_field_keys",
]


def mask_id_number(value: str) -> str:
    """420102********1234: the region and the last four, as every page shows it."""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]
