"""The proof-of-work's arithmetic: leading zero bits as the README's solver counts them."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from cpe.public.pow import leading_zero_bits, proof_digest, proof_solve


@given(st.binary(min_size=32, max_size=32))
def test_leading_zero_bits_agree_with_the_readmes_integer_shift(digest):
    value = int.from_bytes(digest, "big")
    expected = 256 - value.bit_length()

    assert leading_zero_bits(digest) == expected
    for bits in range(0, 12):
        assert (value >> (256 - bits) == 0) == (leading_zero_bits(digest) >= bits)


@given(st.text(min_size=1, max_size=60), st.integers(min_value=0, max_value=10))
def test_a_solved_counter_meets_the_difficulty(token, bits):
    counter = proof_solve(token, bits)

    assert leading_zero_bits(proof_digest(token, counter)) >= bits
    assert proof_digest(token, counter) == hashlib.sha256(f"{token}:{counter}".encode()).digest()
