"""Test data of the course manager's exam tests: a course with a bank, question files, and
graded attempts built through the exam services with chosen right and wrong answers."""

from __future__ import annotations

import io
from typing import Any

from cpe.catalog.models import Course
from cpe.core.services import Actor
from cpe.exams.imports import COLUMNS
from cpe.exams.models import Attempt, AttemptQuestion, Option, Question
from cpe.exams.services import attempt_start, attempt_submit, exam_settings_update
from cpe.learning.testing import collected_learner, complete_lessons, enrol, study_course
from cpe.regions.models import Region

SYSTEM = Actor.for_system("tests")
HEADER = [column.chinese for column in COLUMNS]


def exam_course(region: Region) -> Course:
    return study_course(region=region, lessons=[("reading", 60)], exam_required=True)


def xlsx(rows: list[list[Any]], header: list[str] | None = None) -> bytes:
    """A workbook with the template's header (or `header`) and `rows`, each given as
    [kind, text, [options], answer, explanation] or as full rows."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header or HEADER)
    for row in rows:
        if len(row) == 5 and isinstance(row[2], list):
            kind, text, options, answer, explanation = row
            row = [kind, text, *options, *[""] * (8 - len(options)), answer, explanation]
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def graded_attempts(
    course: Course, district: Region, patterns: list[list[bool]], *, start_sequence: int = 500
) -> list[Attempt]:
    """One learner per pattern sits the course's exam: the paper is the whole bank in its
    order (the settings draw every single-choice question), answered right where the
    pattern says True."""
    questions = list(Question.objects.filter(course=course, is_active=True).order_by("position"))
    exam_settings_update(
        actor=SYSTEM,
        course=course,
        exam_required=True,
        values={
            "single_count": len(questions),
            "multiple_count": 0,
            "true_false_count": 0,
            "shuffle_options": False,
        },
    )
    attempts = []
    for number, pattern in enumerate(patterns):
        learner = collected_learner(district=district, sequence=start_sequence + number)
        plan_course = complete_lessons(enrol(learner, course))
        attempt = attempt_start(actor=SYSTEM, learner=learner, plan_course=plan_course)
        answers = {}
        for item in AttemptQuestion.objects.filter(attempt=attempt):
            index = questions.index(item.question)
            options = Option.objects.filter(question=item.question).order_by("position")
            right = [o.pk for o in options if o.is_correct]
            wrong = [o.pk for o in options if not o.is_correct][:1]
            answers[item.position] = right if pattern[index] else wrong
        attempts.append(
            attempt_submit(actor=SYSTEM, learner=learner, attempt_id=attempt.pk, answers=answers)
        )
    return attempts
