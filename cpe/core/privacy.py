"""Finding resident ID numbers inside free text, so that none is kept in plain text.

The check character rule lives here because the audit log (core) needs it as well as the
registry, which validates the numbers themselves.
"""

from __future__ import annotations

import datetime
import re
from operator import mul
from typing import Any

_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_ID_CHECK = "10X98765432"  # ISO 7064 MOD 11-2: remainder -> check character
# Eighteen characters not glued to other digits or letters: an ID number typed into a note.
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx])(?![0-9A-Za-z])")


def id_check_character(first17: str) -> str:
    if len(first17) != len(_ID_WEIGHTS):
        raise ValueError("An ID number's check character is computed from 17 digits.")
    # map() rather than a generator: an import computes this for every row.
    total = sum(map(mul, map(int, first17), _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


def _is_an_id_number(number: str) -> bool:
    """A check character that fits and a birth date that exists: one long number of another
    kind (an order, an account, a certificate) in eleven has the first, almost none both."""
    if id_check_character(number[:17]) != number[17]:
        return False
    try:
        born = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return born.year >= 1900


def _masked(match: re.Match[str]) -> str:
    number = match.group(1).upper()
    if not _is_an_id_number(number):
        return match.group(0)  # some other long number: left alone
    return number[:6] + "*" * 8 + number[-4:]


def contains_id_number(text: str) -> bool:
    """Whether a valid ID number stands somewhere in `text`."""
    return scrub_id_numbers(text) != text


def scrub_id_numbers(value: Any) -> Any:
    """`value` with every valid ID number in its text masked as the pages show it; lists and
    dicts (an audit entry's before and after) are scrubbed throughout."""
    if isinstance(value, str):
        return _ID_IN_TEXT.sub(_masked, value) if len(value) >= 18 else value
    if isinstance(value, dict):
        return {key: scrub_id_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub_id_numbers(item) for item in value]
    return value
