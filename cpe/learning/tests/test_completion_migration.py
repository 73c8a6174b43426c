"""The migration that brings course completion records: courses completed before exams
existed keep their completion, with a record of the credits they gave."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from cpe.learning.models import CourseCompletion, PlanCourse
from cpe.learning.testing import enrolment

BEFORE = [("learning", "0002_study_session_rules_and_attention_question")]
AFTER = [("learning", "0003_course_completion")]


def migrate(targets: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_courses_completed_before_exams_keep_their_completion_and_credits(regions) -> None:
    done = enrolment(district=regions["420102"], lessons=[("reading", 60)], class_hours=2)
    waiting = enrolment(district=regions["420102"], lessons=[("reading", 60)], sequence=2)
    finished_at = timezone.now().replace(microsecond=0)
    PlanCourse.objects.filter(pk=done.plan_course.pk).update(completed_at=finished_at)
    try:
        migrate(BEFORE)
        migrate(AFTER)
    finally:
        # Back to the latest state whatever happened, for the tests that follow.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    completion = CourseCompletion.objects.get()
    assert completion.plan_course_id == done.plan_course.pk
    assert (completion.basis, completion.credits, completion.year) == (
        "lessons",
        6,
        done.plan.year,
    )
    assert PlanCourse.objects.get(pk=done.plan_course.pk).lessons_completed_at == finished_at
    assert PlanCourse.objects.get(pk=waiting.plan_course.pk).lessons_completed_at is None
