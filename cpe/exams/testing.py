"""Test data for exams (imported by tests and the demo, never by the application's pages)."""

from __future__ import annotations

from cpe.catalog.models import Course
from cpe.core.services import Actor
from cpe.exams.models import Question
from cpe.exams.services import OptionIn, question_create


def make_bank(
    course: Course,
    *,
    single: int = 4,
    multiple: int = 3,
    true_false: int = 3,
    actor: Actor | None = None,
) -> list[Question]:
    """A bank of numbered questions. The correct options are always those whose text starts
    with "对" (right) so a test can answer right or wrong from the paper alone."""
    actor = actor or Actor.for_system("tests")
    made = []
    for number in range(1, single + 1):
        made.append(
            question_create(
                actor=actor,
                course=course,
                kind=Question.Kind.SINGLE,
                text=f"单选题 {number}：下列哪一项正确？",
                explanation=f"解析：单选题 {number} 的正确答案。",
                options=[
                    OptionIn(f"对 {number}", True),
                    OptionIn(f"错 {number}-1"),
                    OptionIn(f"错 {number}-2"),
                    OptionIn(f"错 {number}-3"),
                ],
            )
        )
    for number in range(1, multiple + 1):
        made.append(
            question_create(
                actor=actor,
                course=course,
                kind=Question.Kind.MULTIPLE,
                text=f"多选题 {number}：下列哪些项正确？",
                explanation=f"解析：多选题 {number} 的正确答案。",
                options=[
                    OptionIn(f"对 {number}-1", True),
                    OptionIn(f"错 {number}-1"),
                    OptionIn(f"对 {number}-2", True),
                    OptionIn(f"错 {number}-2"),
                ],
            )
        )
    for number in range(1, true_false + 1):
        made.append(
            question_create(
                actor=actor,
                course=course,
                kind=Question.Kind.TRUE_FALSE,
                text=f"判断题 {number}：这句话是对的。",
                explanation=f"解析：判断题 {number} 的正确答案。",
                options=[OptionIn("对（正确）", True), OptionIn("错误")],
            )
        )
    return made
