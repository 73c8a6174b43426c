"""Certificate numbers: random, in Crockford's base-32 letters, with a Luhn mod 32 check character.

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


def check_character(body: str) -> str:
    """The Luhn mod 32 check character of `body` (characters of ALPHABET)."""
    total, factor = 0, 2
    for char in reversed(body):
        addend = factor * _VALUE[char]
        total += addend // 32 + addend % 32
        factor = 1 if factor == 2 else 2
    return ALPHABET[(32 - total % 32) % 32]


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
    return check_character(number[:-1]) == number[-1]


def grouped(number: str) -> str:
    """The number as printed: four groups of four (XXXX-XXXX-XXXX-XXXX)."""
    return "-".join(number[i : i + 4] for i in range(0, len(number), 4))
