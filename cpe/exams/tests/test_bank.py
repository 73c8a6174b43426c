"""The course manager's bank services: editing, retiring, deleting, and exam settings
checked against the bank (by exams.services.exam_settings_update)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from cpe.core.models import AuditEntry
from cpe.exams.bank import (
    normalised_text,
    question_add,
    question_delete,
    question_set_active,
    question_update,
)
from cpe.exams.models import ExamSettings, Question
from cpe.exams.services import ExamRefused, OptionIn, exam_settings_update
from cpe.exams.testing import make_bank
from cpe.exams.tests.bankdata import SYSTEM, exam_course, graded_attempts

pytestmark = pytest.mark.django_db


def single(question: Question) -> dict:
    return {
        "kind": "single",
        "text": question.text,
        "explanation": question.explanation,
        "options": [OptionIn(o.text, o.is_correct) for o in question.options.all()],
    }


def test_normalised_text_ignores_spacing_width_and_case() -> None:
    assert normalised_text("  下列哪项 正确？ ABC ") == normalised_text("下列哪项\u3000正确?  abc")


def test_an_unused_question_can_change_its_options_and_the_change_is_audited(regions) -> None:
    course = exam_course(regions["420000"])
    question = make_bank(course, single=1, multiple=0, true_false=0)[0]
    question_update(
        actor=SYSTEM,
        question=question,
        kind="single",
        text="改过的题干",
        options=[OptionIn("甲"), OptionIn("乙", True)],
        explanation="新的解析",
    )
    question.refresh_from_db()
    assert question.text == "改过的题干"
    assert [(o.text, o.is_correct) for o in question.options.all()] == [
        ("甲", False),
        ("乙", True),
    ]
    entry = AuditEntry.objects.get(action="question.update")
    assert entry.changes["before"]["correct"] == [0]
    assert entry.changes["after"]["correct"] == [1]


def test_an_update_breaking_the_bank_rule_is_refused_with_field_errors(regions) -> None:
    course = exam_course(regions["420000"])
    question = make_bank(course, single=1, multiple=0, true_false=0)[0]
    with translation.override("en"), pytest.raises(ExamRefused) as refused:
        question_update(
            actor=SYSTEM,
            question=question,
            kind="single",
            text="题干",
            options=[OptionIn("甲", True), OptionIn("乙", True)],
        )
    assert "exactly one correct" in refused.value.fields["options"][0]
    question.refresh_from_db()
    assert question.text.startswith("单选题")


def test_a_question_on_a_paper_keeps_its_options_but_its_wording_can_be_fixed(regions) -> None:
    course = exam_course(regions["420000"])
    question = make_bank(course, single=1, multiple=0, true_false=0)[0]
    graded_attempts(course, regions["420102"], [[True]])
    changed = single(question)
    changed["options"] = list(reversed(changed["options"]))
    with pytest.raises(ExamRefused) as refused:
        question_update(actor=SYSTEM, question=question, **changed)
    assert refused.value.code == "question_on_papers"
    fixed = single(question) | {"text": "更正了错别字的题干", "explanation": "补充解析"}
    question_update(actor=SYSTEM, question=question, **fixed)
    question.refresh_from_db()
    assert (question.text, question.explanation) == ("更正了错别字的题干", "补充解析")


def test_a_question_on_a_paper_is_retired_never_deleted(regions) -> None:
    course = exam_course(regions["420000"])
    question = make_bank(course, single=1, multiple=0, true_false=0)[0]
    graded_attempts(course, regions["420102"], [[True]])
    with pytest.raises(ExamRefused):
        question_delete(actor=SYSTEM, question=question)
    question_set_active(actor=SYSTEM, question=question, active=False)
    question.refresh_from_db()
    assert not question.is_active
    assert AuditEntry.objects.filter(action="question.retire").count() == 1
    question_set_active(actor=SYSTEM, question=question, active=True)
    question.refresh_from_db()
    assert question.is_active


def test_a_question_never_on_a_paper_can_be_deleted(regions) -> None:
    course = exam_course(regions["420000"])
    question = make_bank(course, single=1, multiple=0, true_false=0)[0]
    question_delete(actor=SYSTEM, question=question)
    assert not Question.objects.filter(pk=question.pk).exists()
    assert AuditEntry.objects.get(action="question.delete").changes["before"]["text"]


def test_settings_cannot_draw_more_questions_of_a_kind_than_the_bank_has_in_use(regions) -> None:
    course = exam_course(regions["420000"])
    make_bank(course, single=4, multiple=3, true_false=3)
    values = {"single_count": 5, "multiple_count": 3, "true_false_count": 3}
    with pytest.raises(ValidationError) as refused:
        exam_settings_update(actor=SYSTEM, course=course, exam_required=True, values=values)
    assert set(refused.value.message_dict) == {"single_count"}
    assert "4" in refused.value.message_dict["single_count"][0]
    assert not ExamSettings.objects.filter(course=course, single_count=5).exists()
    exam_settings_update(
        actor=SYSTEM, course=course, exam_required=True, values={**values, "single_count": 4}
    )
    assert ExamSettings.objects.get(course=course).single_count == 4


def test_an_empty_count_takes_the_regions_number_even_beyond_the_bank(regions) -> None:
    course = exam_course(regions["420000"])
    make_bank(course, single=4, multiple=3, true_false=3)
    # Hubei draws 10 single-choice questions: this bank has 4, and a paper draws those.
    exam_settings_update(
        actor=SYSTEM,
        course=course,
        exam_required=True,
        values={"single_count": None, "multiple_count": 1, "true_false_count": 1},
    )
    assert ExamSettings.objects.get(course=course).single_count is None


def test_settings_drawing_nothing_from_a_bank_with_questions_are_refused(regions) -> None:
    course = exam_course(regions["420000"])
    make_bank(course, single=2, multiple=0, true_false=0)
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        exam_settings_update(
            actor=SYSTEM,
            course=course,
            exam_required=True,
            values={"single_count": 0, "multiple_count": 0, "true_false_count": 0},
        )
    assert "at least one question" in refused.value.message_dict["single_count"][0]


def test_retired_questions_do_not_count_toward_what_the_bank_can_supply(regions) -> None:
    course = exam_course(regions["420000"])
    questions = make_bank(course, single=2, multiple=0, true_false=0)
    question_set_active(actor=SYSTEM, question=questions[0], active=False)
    with pytest.raises(ValidationError):
        exam_settings_update(
            actor=SYSTEM,
            course=course,
            exam_required=True,
            values={"single_count": 2, "multiple_count": 0, "true_false_count": 0},
        )


def test_a_course_without_an_exam_may_keep_settings_the_bank_cannot_yet_supply(regions) -> None:
    course = exam_course(regions["420000"])
    exam_settings_update(
        actor=SYSTEM, course=course, exam_required=False, values={"single_count": 20}
    )
    course.refresh_from_db()
    assert not course.exam_required
    assert AuditEntry.objects.filter(action="exam_settings.update").exists()


def test_a_question_with_the_same_text_as_one_in_the_bank_is_refused(regions) -> None:
    course = exam_course(regions["420000"])
    first = make_bank(course, single=1, multiple=0, true_false=0)[0]
    with pytest.raises(ExamRefused) as refused:
        question_add(
            actor=SYSTEM,
            course=course,
            kind="true_false",
            text=f"  {first.text.replace('？', '?')}",
            options=[OptionIn("对", True), OptionIn("错")],
        )
    assert refused.value.code == "question_duplicate"
    assert refused.value.fields["text"]
    other = question_add(
        actor=SYSTEM,
        course=course,
        kind="true_false",
        text="另一道题",
        options=[OptionIn("对", True), OptionIn("错")],
    )
    with pytest.raises(ExamRefused):
        question_update(actor=SYSTEM, question=other, **single(first) | {"kind": "single"})
