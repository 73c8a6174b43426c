"""Certificate numbers: random, in Crockford's base-32 letters, with a check character.

A number has 15 random characters (75 bits: nobody finds a certificate by guessing) and a
check character, so that a mistyped digit or two swapped neighbours are caught before any
lookup. People read numbers off paper: letters that look alike (O and 0, I and L and 1)
are read as the same character, and spaces, hyphens and case do not matter.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O, U
RANDOM_LENGTH = 15
LENGTH = RANDOM_LENGTH + 1
_VALUE = {char: index for index, char in enumerate(ALPHABET)}
_READ_AS = {"O": "0", "I": "1", "L": "1"}


def _times_x(value: int) -> int:
    """Multiply by x in GF(32), modulo the primitive polynomial x⁵ + x² + 1."""
    value <<= 1
    return value ^ 0b100101 if value & 0b100000 else value


def _interim(text: str) -> int:
    # Damm's algorithm over the quasigroup a ∗ b = x·a + b of GF(32): it is totally
    # anti-symmetric, so every single substitution and every swap of two neighbours
    # changes the result (Luhn mod 32 misses a swap of 0 and Z, for one).
    interim = 0
    for char in text:
        interim = _times_x(interim) ^ _VALUE[char]
    return interim


def check_character(body: str) -> str:
    """The check character of `body` (characters of ALPHABET): the one that brings the
    interim value of the whole number to zero."""
    return ALPHABET[_times_x(_interim(body))]


def new_number() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return body + check_character(body)


def normalise(raw: str) -> str:
    """The number as stored: upper case, separators dropped, look-alike letters read as digits."""
    text = "".join(ch for ch in (raw or "").upper() if not ch.isspace() and ch not in "-_.")
    return "".join(_READ_AS.get(ch, ch) for ch in text)


def is_well_formed(number: str) -> bool:
    """True for a normalised number of the right length whose check character matches."""
    if len(number) != LENGTH or any(ch not in _VALUE for ch in number):
        return False
    return _interim(number) == 0


def grouped(number: str) -> str:
    """The number as printed: four groups of four (XXXX-XXXX-XXXX-XXXX)."""
    return "-".join(number[i : i + 4] for i in range(0, len(number), 4))
