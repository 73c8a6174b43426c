"""The identity rules of a learner record: ID numbers (GB 11643-1999), unified social
credit codes (GB 32100-2015), names and mainland mobile numbers.

Each `normalise_*` returns the canonical form or raises ValidationError with a message
a learner or officer can act on.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from operator import mul

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cpe.core.privacy import id_check_character

# Province-level codes of GB/T 2260, plus 81-83 used by the residence permits of Hong
# Kong, Macao and Taiwan residents. Finer codes change every year; the province is stable.
_PROVINCES = (
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82 83"
)
PROVINCE_CODES = frozenset(_PROVINCES.split())


@dataclass(frozen=True)
class IdNumber:
    value: str
    birth_date: date
    gender: str  # "male" or "female", from the sequence code's parity

    @property
    def region_code(self) -> str:
        return self.value[:6]


_SPACES = re.compile(r"\s+")
_LEGACY_ID = re.compile(r"\d{15}")
_ID = re.compile(r"\d{17}[\dX]")
_MOBILE_SEPARATORS = re.compile(r"[\s-]")
_MOBILE_PREFIX = re.compile(r"^(\+?86)(?=1\d{10}$)")
_MOBILE = re.compile(r"1[3-9]\d{9}")


def _birth_date(digits: str, today: date | None = None) -> date:
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise ValidationError(
            _("The birth date inside this ID number does not exist."), code="id_birth_date"
        ) from None
    if born > (today or timezone.localdate()) or born.year < 1900:
        raise ValidationError(
            _("The birth date inside this ID number is not possible."), code="id_birth_date"
        )
    return born


def normalise_id_number(raw: str, *, today: date | None = None) -> IdNumber:
    """Check a resident ID number and return its 18-character form.

    Spaces are dropped, a lowercase x becomes X, and a legacy 15-digit number (issued
    before 1999, birth year without "19", no check character) is converted to 18.
    `today` spares a bulk caller looking the date up for every number.
    """
    value = _SPACES.sub("", raw or "").upper()
    if _LEGACY_ID.fullmatch(value):
        value = value[:6] + "19" + value[6:]
        value += id_check_character(value)
    if not _ID.fullmatch(value):
        raise ValidationError(
            _("An ID number has 18 characters: 17 digits and a last digit or X."),
            code="id_format",
        )
    if value[:2] not in PROVINCE_CODES:
        raise ValidationError(
            _("The first digits of this ID number are not a region code."), code="id_region"
        )
    born = _birth_date(value[6:14], today)
    if id_check_character(value[:17]) != value[17]:
        raise ValidationError(
            _("This ID number has a typing mistake: its last character does not match."),
            code="id_check",
        )
    gender = "male" if int(value[16]) % 2 else "female"
    return IdNumber(value=value, birth_date=born, gender=gender)


_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
_USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


_USCC_VALUES = {char: value for value, char in enumerate(_USCC_CHARS)}


def uscc_check_character(first17: str) -> str:
    if len(first17) != len(_USCC_WEIGHTS) or not set(first17) <= _USCC_VALUES.keys():
        raise ValueError("A credit code's check character is computed from 17 of its characters.")
    total = sum(map(mul, map(_USCC_VALUES.__getitem__, first17), _USCC_WEIGHTS))
    return _USCC_CHARS[(31 - total % 31) % 31]


def normalise_uscc(raw: str) -> str:
    """Check an employer's unified social credit code (统一社会信用代码)."""
    value = _SPACES.sub("", raw or "").upper()
    if len(value) != 18 or any(char not in _USCC_CHARS for char in value):
        raise ValidationError(
            _(
                "A unified social credit code has 18 characters (digits and capital letters "
                "except I, O, S, V and Z)."
            ),
            code="uscc_format",
        )
    if not value[2:8].isdigit():
        raise ValidationError(
            _("Characters 3 to 8 of a unified social credit code are a region code."),
            code="uscc_region",
        )
    if uscc_check_character(value[:17]) != value[17]:
        raise ValidationError(
            _(
                "This unified social credit code has a typing mistake: its last character "
                "does not match."
            ),
            code="uscc_check",
        )
    return value


# Middle dots people type for minority names, all stored as U+00B7.
_DOTS = "\u00b7\u2022\u2027\u30fb\uff65\u2219\u22c5\u0387"
_NAME_DOT = re.compile(rf"\s*[{_DOTS}]\s*")
_NAME = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f]+(\u00b7[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f]+)*"
)


def normalise_name(raw: str) -> str:
    """A person's name in Chinese characters, with a middle dot between parts of
    minority names (阿依古丽·买买提); 2 to 30 characters."""
    value = unicodedata.normalize("NFC", (raw or "").strip())
    value = _NAME_DOT.sub("\u00b7", value)
    if not 2 <= len(value) <= 30:
        raise ValidationError(_("A name has 2 to 30 characters."), code="name_length")
    if not _NAME.fullmatch(value):
        raise ValidationError(
            _(
                "Write the name in Chinese characters as on the ID card; parts of a name are "
                "separated by a middle dot (·)."
            ),
            code="name_characters",
        )
    return value


def normalise_mobile(raw: str) -> str:
    """A mainland mobile number: 11 digits starting with 13-19 (a +86 prefix is dropped)."""
    value = _MOBILE_SEPARATORS.sub("", raw or "")
    value = _MOBILE_PREFIX.sub("", value)
    if not _MOBILE.fullmatch(value):
        raise ValidationError(
            _("A mobile number has 11 digits and starts with 13 to 19."), code="mobile"
        )
    return value
