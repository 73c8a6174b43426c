"""Signing keys: a key id in every certificate, and certificates of an earlier key still verify
after a rotation while its public key is listed."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from django.core.exceptions import ImproperlyConfigured

from cpe.certificates import signing
from cpe.certificates.selectors import NOT_GENUINE, VALID, certificate_verify
from cpe.certificates.services import certificate_issue
from cpe.certificates.testing import SYSTEM

pytestmark = pytest.mark.django_db


def _new_key() -> tuple[str, str]:
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(private).decode(), base64.b64encode(public).decode()


def test_a_rotated_key_keeps_verifying_the_certificates_it_signed(completed, settings):
    learner, year = completed
    old_private, old_public = _new_key()
    settings.SIGNING_KEY = f"k1:{old_private}"
    certificate = certificate_issue(actor=SYSTEM, learner=learner, year=year)
    assert certificate.key_id == "k1"

    new_private, _public = _new_key()
    settings.SIGNING_KEY = f"k2:{new_private}"
    settings.CERTIFICATE_VERIFY_KEYS = [f"k1:{old_public}"]
    assert certificate_verify(number=certificate.number).status == VALID
    assert {key.key_id for key in signing.verify_keys().values()} == {"k1", "k2"}

    settings.CERTIFICATE_VERIFY_KEYS = []  # the old key withdrawn: its certificates fail
    assert certificate_verify(number=certificate.number).status == NOT_GENUINE


def test_without_a_key_id_the_key_is_named_by_its_fingerprint(settings):
    private, _public = _new_key()
    settings.SIGNING_KEY = private
    key_id, key = signing.signing_key()
    assert key_id == signing.fingerprint(key.public_key()) and len(key_id) == 8


def test_a_malformed_signing_key_is_a_plain_configuration_error(settings):
    settings.SIGNING_KEY = "not a key"
    with pytest.raises(ImproperlyConfigured, match="SIGNING_KEY"):
        signing.signing_key()
