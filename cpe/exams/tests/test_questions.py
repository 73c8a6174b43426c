"""The question bank's rules, as question_create and the XLSX import apply them."""

from __future__ import annotations

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from cpe.core.services import Actor
from cpe.exams.models import Question
from cpe.exams.services import ExamRefused, OptionIn, question_create, question_problems
from cpe.learning.testing import study_course

SYSTEM = Actor.for_system("tests")


@pytest.fixture(autouse=True)
def _in_english():
    # The reasons are matched by their English source text.
    with translation.override("en"):
        yield


def options(*marks: str) -> list[OptionIn]:
    """Options named A, B, … where "+" marks a correct one: options("+", "", "")."""
    return [OptionIn(text=chr(65 + i) + " 选项", is_correct=m == "+") for i, m in enumerate(marks)]


def test_a_single_choice_question_with_one_correct_option_is_accepted() -> None:
    assert question_problems(kind="single", text="问题", options=options("+", "", "")) == {}


@pytest.mark.parametrize(
    ("kind", "marks", "why"),
    [
        ("single", ("+", "+", ""), "exactly one correct"),
        ("single", ("", "", ""), "exactly one correct"),
        ("single", ("+",), "at least two options"),
        ("multiple", ("+", "", ""), "at least two correct"),
        ("multiple", ("+", "+"), "at least three options"),
        ("true_false", ("+", "", ""), "exactly two options"),
        ("true_false", ("+", "+"), "exactly two options"),
        ("essay", ("+", ""), "Choose single choice"),
    ],
)
def test_a_question_breaking_its_kinds_rule_is_refused_with_the_reason(
    kind: str, marks: tuple[str, ...], why: str
) -> None:
    problems = question_problems(kind=kind, text="问题", options=options(*marks))
    assert any(why in message for messages in problems.values() for message in messages)


def test_a_question_needs_text_and_distinct_non_empty_options() -> None:
    problems = question_problems(
        kind="single",
        text="  ",
        options=[OptionIn("相同", True), OptionIn(" 相同 "), OptionIn("")],
    )
    assert problems["text"]
    assert any("same text" in message for message in problems["options"])
    assert any("empty" in message for message in problems["options"])


@given(
    kind=st.sampled_from(["single", "multiple", "true_false"]),
    marks=st.lists(st.booleans(), min_size=0, max_size=10),
)
def test_an_accepted_question_always_has_a_correct_option_and_two_choices(
    kind: str, marks: list[bool]
) -> None:
    opts = [OptionIn(f"选项{i}", is_correct=m) for i, m in enumerate(marks)]
    if not question_problems(kind=kind, text="问题", options=opts):
        assert len(opts) >= 2
        assert any(marks)
        assert not all(marks) or kind == "multiple"


@pytest.mark.django_db
def test_question_create_stores_the_options_in_order_and_refuses_a_bad_one(regions) -> None:
    course = study_course(region=regions["420000"])
    question = question_create(
        actor=SYSTEM,
        course=course,
        kind="true_false",
        text="会计人员每年都应参加继续教育。",
        explanation="继续教育是每年的义务。",
        options=[OptionIn("正确", True), OptionIn("错误")],
    )
    assert [(o.text, o.is_correct) for o in question.options.all()] == [
        ("正确", True),
        ("错误", False),
    ]
    with pytest.raises(ExamRefused) as refused:
        question_create(
            actor=SYSTEM, course=course, kind="single", text="问题", options=options("", "")
        )
    assert refused.value.fields["options"]
    assert Question.objects.filter(course=course).count() == 1
