from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from cpe.registry.identity import (
    PROVINCE_CODES,
    id_check_character,
    normalise_id_number,
    normalise_mobile,
    normalise_name,
    normalise_uscc,
    uscc_check_character,
)


def _code(error: pytest.ExceptionInfo[ValidationError]) -> str:
    return error.value.code


# --- ID numbers ------------------------------------------------------------------------


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    province = draw(st.sampled_from(sorted(PROVINCE_CODES)))
    rest_of_region = draw(st.from_regex(r"[0-9]{4}", fullmatch=True))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=timezone.localdate()))
    sequence = draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    first17 = f"{province}{rest_of_region}{born:%Y%m%d}{sequence}"
    return first17 + id_check_character(first17)


def test_the_standards_own_example_is_valid():
    number = normalise_id_number("11010519491231002X")
    assert (number.birth_date, number.gender, number.region_code) == (
        date(1949, 12, 31),
        "female",
        "110105",
    )


@given(id_numbers())
def test_every_well_formed_number_is_accepted_with_its_birth_date_and_gender(value):
    number = normalise_id_number(value)
    assert number.value == value
    assert number.birth_date.strftime("%Y%m%d") == value[6:14]
    assert number.gender == ("male" if int(value[16]) % 2 else "female")


@given(id_numbers(), st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_any_single_wrong_character_is_caught(value, position, replacement):
    changed = value[:position] + replacement + value[position + 1 :]
    if changed == value or (position < 17 and replacement == "X"):
        return
    # MOD 11-2 catches every single substitution; a few also break the date or region first.
    with pytest.raises(ValidationError):
        normalise_id_number(changed)


@given(id_numbers(), st.integers(min_value=0, max_value=16))
def test_swapping_two_neighbouring_digits_is_caught(value, position):
    swapped = value[:position] + value[position + 1] + value[position] + value[position + 2 :]
    if swapped == value:
        return
    with pytest.raises(ValidationError):
        normalise_id_number(swapped)


@given(id_numbers())
def test_a_lowercase_x_and_spaces_are_tolerated(value):
    typed = " ".join([value[:6], value[6:14], value[14:].lower()])
    assert normalise_id_number(typed).value == value


@given(id_numbers().filter(lambda v: v[6:8] == "19"))
def test_a_legacy_15_digit_number_becomes_its_18_digit_form(value):
    legacy = value[:6] + value[8:17]
    assert normalise_id_number(legacy).value == value


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1101051949123100", "id_format"),
        ("11010519491231002Y", "id_format"),
        ("99010519491231002X", "id_region"),
        ("110105194902300029", "id_birth_date"),  # 30 February
        ("110105189912310021", "id_birth_date"),  # before 1900
        ("110105194912310021", "id_check"),
    ],
)
def test_a_wrong_number_says_what_is_wrong(value, code):
    with pytest.raises(ValidationError) as error:
        normalise_id_number(value)
    assert _code(error) == code


def test_a_birth_date_in_the_future_is_refused():
    tomorrow = timezone.localdate() + timedelta(days=1)
    first17 = f"420102{tomorrow:%Y%m%d}001"
    with pytest.raises(ValidationError) as error:
        normalise_id_number(first17 + id_check_character(first17))
    assert _code(error) == "id_birth_date"


# --- Unified social credit codes -------------------------------------------------------

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@st.composite
def credit_codes(draw: st.DrawFn) -> str:
    head = draw(st.text(USCC_CHARS, min_size=2, max_size=2))
    region = draw(st.from_regex(r"[0-9]{6}", fullmatch=True))
    body = draw(st.text(USCC_CHARS, min_size=9, max_size=9))
    first17 = head + region + body
    return first17 + uscc_check_character(first17)


def test_a_published_credit_code_is_valid():
    assert normalise_uscc("91350100m000100y43") == "91350100M000100Y43"


@given(credit_codes(), st.integers(min_value=0, max_value=17), st.sampled_from(USCC_CHARS))
def test_a_single_wrong_character_in_a_credit_code_is_caught(value, position, replacement):
    changed = value[:position] + replacement + value[position + 1 :]
    if changed == value:
        return
    with pytest.raises(ValidationError):
        normalise_uscc(changed)


@given(credit_codes())
def test_every_well_formed_credit_code_is_accepted(value):
    assert normalise_uscc(value) == value


@pytest.mark.parametrize("value", ["91350100M000100Y4", "91350100M000100Y4I", "9135AB00M000100Y43"])
def test_malformed_credit_codes_are_refused(value):
    with pytest.raises(ValidationError):
        normalise_uscc(value)


# --- Names and mobiles -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("  张三 ", "张三"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("阿依古丽 • 买买提", "阿依古丽·买买提"),  # a bullet typed for the middle dot
        ("阿依古丽・买买提", "阿依古丽·买买提"),  # the Japanese middle dot
        ("𠮷野", "𠮷野"),  # a character outside the basic plane
    ],
)
def test_names_are_trimmed_and_middle_dots_made_one(typed, stored):
    assert normalise_name(typed) == stored


@pytest.mark.parametrize(
    "typed", ["张", "·张三", "张三·", "张··三", "Zhang San", "张三1", "张" * 31]
)
def test_names_that_cannot_be_on_an_id_card_are_refused(typed):
    with pytest.raises(ValidationError):
        normalise_name(typed)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("13800138000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("8619912345678", "19912345678"),
    ],
)
def test_mobile_numbers_are_normalised(typed, stored):
    assert normalise_mobile(typed) == stored


@pytest.mark.parametrize("typed", ["12800138000", "1380013800", "027-85777762", ""])
def test_other_numbers_are_not_mobiles(typed):
    with pytest.raises(ValidationError):
        normalise_mobile(typed)
