"""Proof-of-work for the public query: signed, expiring challenges bound to the client's
address and a difficulty, solved by the browser (SHA-256 hashcash) and spent once.

A solution is a decimal counter such that SHA-256("<token>:<counter>") starts with at least
`bits` zero bits. The token is the challenge as the server signed it; nothing is stored until
a solution is accepted, when the token's digest is recorded in the cache until it expires.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.utils.crypto import constant_time_compare, salted_hmac

from cpe.core.ratelimit import address_network

SALT = "cpe.public.pow"
ALGORITHM = "sha256-leading-zero-bits"
_COUNTER = re.compile(r"\d{1,20}")


@dataclass(frozen=True)
class Challenge:
    token: str
    bits: int
    expires_in: int
    algorithm: str = ALGORITHM


class ProofRefused(Exception):
    """The solution is missing, wrong, expired, spent, too easy or for another address."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _address_tag(ip: str) -> str:
    # Bound to the address's /64 for IPv6, as the limits are: a proof holds across the
    # addresses one subscriber's devices rotate through.
    return salted_hmac(SALT, address_network(ip), algorithm="sha256").hexdigest()[:24]


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def challenge_issue(*, ip: str, bits: int) -> Challenge:
    payload = {"r": secrets.token_urlsafe(12), "b": bits, "a": _address_tag(ip)}
    token = signing.dumps(payload, salt=SALT)
    return Challenge(token=token, bits=bits, expires_in=settings.PUBLIC_QUERY_POW_SECONDS)


def proof_digest(token: str, counter: str) -> bytes:
    return hashlib.sha256(f"{token}:{counter}".encode()).digest()


def proof_verify(*, ip: str, token: str, counter: str, min_bits: int) -> None:
    """Accept a solution once, or raise ProofRefused with the reason."""
    if not token or not counter:
        raise ProofRefused("missing")
    try:
        payload = signing.loads(token, salt=SALT, max_age=settings.PUBLIC_QUERY_POW_SECONDS)
    except signing.SignatureExpired:
        raise ProofRefused("expired") from None
    except signing.BadSignature:
        raise ProofRefused("invalid") from None
    if not isinstance(payload, dict) or not constant_time_compare(
        str(payload.get("a", "")), _address_tag(ip)
    ):
        raise ProofRefused("other_address")
    bits = int(payload.get("b", 0))
    if bits < min_bits:
        raise ProofRefused("too_easy")  # issued before more queries raised the difficulty
    if not _COUNTER.fullmatch(counter) or leading_zero_bits(proof_digest(token, counter)) < bits:
        raise ProofRefused("wrong")
    spent = "pq-pow-spent:" + hashlib.sha256(token.encode()).hexdigest()[:40]
    if not cache.add(spent, 1, timeout=settings.PUBLIC_QUERY_POW_SECONDS + 5):
        raise ProofRefused("replayed")


def proof_solve(token: str, bits: int) -> str:
    """The counter a browser would find (for tests and for offices' reference)."""
    counter = 0
    while leading_zero_bits(proof_digest(token, str(counter))) < bits:
        counter += 1
    return str(counter)
