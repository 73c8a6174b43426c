"""Races that only PostgreSQL can show: starts from two devices, submissions from many."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections

from cpe.core.models import AuditEntry
from cpe.core.services import Actor
from cpe.credits.models import CreditEntry
from cpe.exams.models import Attempt, AttemptQuestion, Option
from cpe.exams.services import ExamRefused, attempt_start, attempt_submit
from cpe.learning.models import CourseCompletion, PlanCourse
from cpe.learning.services import plan_course_complete
from cpe.learning.testing import complete_lessons

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
SYSTEM = Actor.for_system("tests")
THREADS = 6


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")


def run_at_once(work: Callable[[], object]) -> list[object]:
    """Run `work` in THREADS threads released together; their results or exceptions."""
    barrier = threading.Barrier(THREADS)
    outcomes: list[object] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait()
            result: object = work()
        except Exception as error:  # each outcome is asserted
            result = error
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def all_right(attempt: Attempt) -> dict[int, list[int]]:
    return {
        item.position: list(
            Option.objects.filter(question=item.question, is_correct=True).values_list(
                "pk", flat=True
            )
        )
        for item in AttemptQuestion.objects.filter(attempt=attempt)
    }


def test_starts_from_several_devices_at_once_make_one_attempt(make_enrolment) -> None:
    made = make_enrolment()
    complete_lessons(made.plan_course)
    outcomes = run_at_once(
        lambda: attempt_start(actor=SYSTEM, learner=made.learner, plan_course=made.plan_course)
    )
    assert all(isinstance(outcome, Attempt) for outcome in outcomes), outcomes
    assert len({outcome.pk for outcome in outcomes}) == 1  # type: ignore[attr-defined]
    assert Attempt.objects.count() == 1
    assert AuditEntry.objects.filter(action="exam_attempt.start").count() == 1


def test_submitting_a_passing_attempt_from_several_threads_awards_the_credits_once(
    make_enrolment,
) -> None:
    made = make_enrolment()
    complete_lessons(made.plan_course)
    attempt = attempt_start(actor=SYSTEM, learner=made.learner, plan_course=made.plan_course)
    answers = all_right(attempt)
    outcomes = run_at_once(
        lambda: attempt_submit(
            actor=SYSTEM, learner=made.learner, attempt_id=attempt.pk, answers=answers
        )
    )
    graded = [outcome for outcome in outcomes if isinstance(outcome, Attempt)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, ExamRefused)]
    assert len(graded) == 1 and graded[0].passed
    assert len(refused) == THREADS - 1
    assert {error.code for error in refused} == {"attempt_closed"}
    assert CourseCompletion.objects.filter(plan_course=made.plan_course).count() == 1
    assert AuditEntry.objects.filter(action="plan_course.complete").count() == 1


def test_completing_one_course_from_several_threads_makes_one_record(
    make_enrolment, monkeypatch
) -> None:
    made = make_enrolment()
    # The passed attempt is made without the credit ledger's listener, so that its completion
    # (which nothing else rests on then) can be removed and the race run from the start.
    monkeypatch.setattr("cpe.learning.hooks._completion_listeners", [])
    complete_lessons(made.plan_course)
    attempt = attempt_start(actor=SYSTEM, learner=made.learner, plan_course=made.plan_course)
    attempt_submit(
        actor=SYSTEM, learner=made.learner, attempt_id=attempt.pk, answers=all_right(attempt)
    )
    CourseCompletion.objects.all().delete()
    PlanCourse.objects.filter(pk=made.plan_course.pk).update(completed_at=None)
    attempt.refresh_from_db()
    monkeypatch.undo()
    outcomes = run_at_once(
        lambda: plan_course_complete(actor=SYSTEM, plan_course=made.plan_course, attempt=attempt)
    )
    assert all(isinstance(outcome, CourseCompletion) for outcome in outcomes), outcomes
    assert len({outcome.pk for outcome in outcomes}) == 1  # type: ignore[attr-defined]
    assert CourseCompletion.objects.filter(plan_course=made.plan_course).count() == 1
    # ...and one entry in the credit ledger.
    assert CreditEntry.objects.filter(completion__plan_course=made.plan_course).count() == 1
