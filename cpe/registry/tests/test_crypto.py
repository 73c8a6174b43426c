from __future__ import annotations

import base64

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given
from hypothesis import strategies as st

from cpe.registry.crypto import (
    DecryptionError,
    decrypt,
    encrypt,
    key_id_of,
    lookup_hash,
    mask_id_number,
    parse_field_keys,
)

KEY_A = base64.b64encode(b"a" * 32).decode()
KEY_B = base64.b64encode(b"b" * 32).decode()


@given(st.text(max_size=40))
def test_a_value_decrypts_to_itself_and_never_appears_in_the_stored_form(value):
    token = encrypt(value, purpose="id_number")
    assert decrypt(token, purpose="id_number") == value
    if len(value) >= 4:
        assert value not in token


def test_the_same_number_encrypts_differently_each_time_but_hashes_the_same():
    first, second = (encrypt("42010219800101123X", purpose="id_number") for _ in range(2))
    assert first != second
    assert lookup_hash("42010219800101123X", purpose="id_number") == lookup_hash(
        "42010219800101123X", purpose="id_number"
    )
    assert lookup_hash("42010219800101123X", purpose="id_number") != lookup_hash(
        "42010219800101123X", purpose="mobile"
    )


def test_a_value_moved_to_another_column_or_tampered_with_does_not_decrypt():
    token = encrypt("42010219800101123X", purpose="id_number")
    with pytest.raises(DecryptionError):
        decrypt(token, purpose="mobile")
    key_id, _, body = token.partition(":")
    raw = bytearray(base64.b64decode(body))
    raw[-1] ^= 1
    with pytest.raises(DecryptionError):
        decrypt(f"{key_id}:{base64.b64encode(bytes(raw)).decode()}", purpose="id_number")


def test_after_rotation_old_values_still_decrypt_and_new_ones_use_the_new_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = f"old:{KEY_A}"
    old = encrypt("42010219800101123X", purpose="id_number")
    settings.FIELD_ENCRYPTION_KEYS = f"new:{KEY_B},old:{KEY_A}"
    assert decrypt(old, purpose="id_number") == "42010219800101123X"
    assert key_id_of(encrypt("x", purpose="id_number")) == "new"
    settings.FIELD_ENCRYPTION_KEYS = f"new:{KEY_B}"
    with pytest.raises(DecryptionError):
        decrypt(old, purpose="id_number")


@pytest.mark.parametrize(
    "text",
    [
        f"k1{KEY_A}",
        "k1:not-base64!",
        f"k1:{base64.b64encode(b'short').decode()}",
        f"k1:{KEY_A},k1:{KEY_B}",
    ],
)
def test_malformed_keys_are_a_configuration_error(text):
    with pytest.raises(ImproperlyConfigured):
        parse_field_keys(text)


def test_the_masked_form_shows_the_region_and_the_last_four():
    assert mask_id_number("42010219800101123X") == "420102********123X"
    assert mask_id_number("1234") == "****"
