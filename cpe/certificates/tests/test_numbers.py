"""Certificate numbers: random, well formed, and a mistyped number is caught by its check."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cpe.certificates import numbers

bodies = st.text(alphabet=numbers.ALPHABET, min_size=15, max_size=15)


def test_a_new_number_is_well_formed_and_sixteen_characters():
    number = numbers.new_number()
    assert len(number) == 16 and numbers.is_well_formed(number)


def test_two_new_numbers_differ():
    assert len({numbers.new_number() for _ in range(200)}) == 200


@settings(max_examples=500)
@given(bodies, st.integers(0, 15), st.sampled_from(numbers.ALPHABET))
def test_it_catches_any_single_mistyped_character(body, position, replacement):
    number = body + numbers.check_character(body)
    mistyped = number[:position] + replacement + number[position + 1 :]
    assert numbers.is_well_formed(mistyped) == (mistyped == number)


def test_it_catches_a_swap_that_luhn_mod_32_would_miss():
    body = "000000000Z00000"
    number = body + numbers.check_character(body)
    assert not numbers.is_well_formed(number[:8] + "Z0" + number[10:])


@settings(max_examples=500)
@given(bodies, st.integers(0, 14))
def test_it_catches_two_swapped_neighbours(body, position):
    number = body + numbers.check_character(body)
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
    assert numbers.is_well_formed(swapped) == (swapped == number)


def test_it_reads_a_number_as_typed_from_paper():
    number = numbers.new_number()
    typed = numbers.grouped(number).lower().replace("0", "o").replace("1", "l")
    assert numbers.normalise(f" {typed} ") == number


def test_it_refuses_a_number_of_the_wrong_length_or_letters():
    number = numbers.new_number()
    assert not numbers.is_well_formed(number[:-1])
    assert not numbers.is_well_formed(number + "0")
    assert not numbers.is_well_formed("U" * 16)
