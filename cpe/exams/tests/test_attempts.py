"""Taking an exam through the services: opening, drawing, saving, grading, deadlines, resets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cpe.core.models import AuditEntry
from cpe.core.services import Actor
from cpe.exams.models import Attempt, AttemptQuestion, ExamSettings, Option, ProgressReset
from cpe.exams.selectors import attempt_paper, exam_status
from cpe.exams.services import (
    ExamRefused,
    attempt_answer_save,
    attempt_start,
    attempt_submit,
    attempts_close_expired,
    exam_settings_update,
)
from cpe.learning.models import CourseCompletion, LessonProgress, PlanCourse
from cpe.learning.testing import complete_lessons

pytestmark = pytest.mark.django_db
SYSTEM = Actor.for_system("tests")


def answers(attempt: Attempt, *, right: int | None = None) -> dict[int, list[int]]:
    """Answers for the paper: the first `right` questions right, the rest wrong (all right
    when `right` is None)."""
    result = {}
    for index, item in enumerate(AttemptQuestion.objects.filter(attempt=attempt)):
        correct = list(
            Option.objects.filter(question=item.question, is_correct=True).values_list(
                "pk", flat=True
            )
        )
        wrong = [pk for pk in item.option_order if pk not in correct][:1]
        result[item.position] = correct if right is None or index < right else wrong
    return result


def start(made, **kwargs) -> Attempt:
    return attempt_start(actor=SYSTEM, learner=made.learner, plan_course=made.plan_course, **kwargs)


def test_the_exam_stays_locked_until_every_lesson_is_complete(make_enrolment) -> None:
    made = make_enrolment()
    status = exam_status(made.plan_course)
    assert (status.state, status.reason) == ("locked", "lessons_incomplete")
    with pytest.raises(ExamRefused) as refused:
        start(made)
    assert refused.value.code == "lessons_incomplete"
    assert not Attempt.objects.exists()
    complete_lessons(made.plan_course)
    assert exam_status(made.plan_course).state == "available"


def test_completing_the_lessons_of_a_course_with_an_exam_does_not_complete_it(
    make_enrolment,
) -> None:
    made = complete_lessons(make_enrolment().plan_course)
    assert made.lessons_completed_at is not None
    assert made.completed_at is None
    assert not CourseCompletion.objects.exists()


def test_a_paper_is_drawn_per_kind_and_stored_with_its_option_order(make_enrolment) -> None:
    made = make_enrolment(single=6, multiple=4, true_false=4)
    exam_settings_update(
        actor=SYSTEM,
        course=made.course,
        exam_required=True,
        values={"single_count": 3, "multiple_count": 2, "true_false_count": 1},
    )
    complete_lessons(made.plan_course)
    attempt = start(made)
    paper = list(AttemptQuestion.objects.filter(attempt=attempt).select_related("question"))
    assert [item.question.kind for item in paper] == ["single"] * 3 + ["multiple"] * 2 + [
        "true_false"
    ]
    assert [item.position for item in paper] == [1, 2, 3, 4, 5, 6]
    for item in paper:
        assert sorted(item.option_order) == sorted(
            item.question.options.values_list("pk", flat=True)
        )
    assert attempt.deadline_at - attempt.started_at == timedelta(minutes=30)
    assert attempt.pass_mark == 60


def test_starting_again_returns_the_open_attempt_with_its_answers(make_enrolment) -> None:
    made = make_enrolment()
    complete_lessons(made.plan_course)
    first = start(made)
    attempt_answer_save(
        actor=SYSTEM, learner=made.learner, attempt_id=first.pk, answers={1: answers(first)[1]}
    )
    again = start(made)
    assert again.pk == first.pk
    assert Attempt.objects.count() == 1
    assert attempt_paper(again).questions[0].answered


def test_an_answer_with_an_option_not_on_the_paper_is_refused_and_nothing_saved(
    make_enrolment,
) -> None:
    made = make_enrolment()
    other = make_enrolment()
    complete_lessons(made.plan_course)
    attempt = start(made)
    foreign = Option.objects.exclude(question__course=made.course).first().pk
    with pytest.raises(ExamRefused) as refused:
        attempt_answer_save(
            actor=SYSTEM,
            learner=made.learner,
            attempt_id=attempt.pk,
            answers={1: answers(attempt)[1], 2: [foreign]},
        )
    assert refused.value.code == "option_not_on_paper"
    assert not AttemptQuestion.objects.filter(attempt=attempt, saved_at__isnull=False).exists()
    with pytest.raises(ExamRefused) as refused:
        attempt_answer_save(
            actor=SYSTEM, learner=other.learner, attempt_id=attempt.pk, answers={1: []}
        )
    assert refused.value.status == 404


def test_a_single_choice_answer_takes_one_option(make_enrolment) -> None:
    made = make_enrolment()
    complete_lessons(made.plan_course)
    attempt = start(made)
    first = AttemptQuestion.objects.get(attempt=attempt, position=1)
    with pytest.raises(ExamRefused) as refused:
        attempt_answer_save(
            actor=SYSTEM,
            learner=made.learner,
            attempt_id=attempt.pk,
            answers={1: first.option_order[:2]},
        )
    assert refused.value.code == "one_option_only"


def test_passing_completes_the_course_and_awards_its_credits_once(make_enrolment) -> None:
    made = make_enrolment()
    complete_lessons(made.plan_course)
    attempt = start(made)
    graded = attempt_submit(
        actor=SYSTEM, learner=made.learner, attempt_id=attempt.pk, answers=answers(attempt)
    )
    assert (graded.state, graded.score, graded.passed, graded.closed_by) == (
        "graded",
        100,
        True,
        "submitted",
    )
    completion = CourseCompletion.objects.get(plan_course=made.plan_course)
    assert completion.credits == 3  # one class hour × 3 credits
    assert completion.basis == "exam"
    assert completion.attempt_id == attempt.pk
    assert PlanCourse.objects.get(pk=made.plan_course.pk).completed_at is not None
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"exam_attempt.start", "exam_attempt.grade", "plan_course.complete"} <= actions
    assert exam_status(PlanCourse.objects.get(pk=made.plan_course.pk)).state == "complete"
    with pytest.raises(ExamRefused) as refused:
        start(made)
    assert refused.value.code == "already_passed"


def test_a_score_below_the_pass_mark_fails_and_completes_nothing(make_enrolment) -> None:
    made = make_enrolment()
    complete_lessons(made.plan_course)
    attempt = start(made)
    graded = attempt_submit(
        actor=SYSTEM,
        learner=made.learner,
        attempt_id=attempt.pk,
        answers=answers(attempt, right=5),  # 5 of 10
    )
    assert (graded.score, graded.passed) == (50, False)
    assert not CourseCompletion.objects.exists()
    status = exam_status(PlanCourse.objects.get(pk=made.plan_course.pk))
    assert (status.state, status.attempts_left) == ("available", 4)


def test_submitting_twice_is_refused_and_changes_nothing(make_enrolment) -> None:
    made = make_enrolment()
    complete_lessons(made.plan_course)
    attempt = start(made)
    first = attempt_submit(
        actor=SYSTEM, learner=made.learner, attempt_id=attempt.pk, answers=answers(attempt, right=2)
    )
    with pytest.raises(ExamRefused) as refused:
        attempt_submit(
            actor=SYSTEM, learner=made.learner, attempt_id=attempt.pk, answers=answers(attempt)
        )
    assert (refused.value.code, refused.value.status) == ("attempt_closed", 409)
    again = Attempt.objects.get(pk=attempt.pk)
    assert (again.score, again.submitted_at) == (first.score, first.submitted_at)


def test_a_late_submission_is_graded_on_what_was_saved_by_the_deadline(make_enrolment) -> None:
    made = make_enrolment()
    complete_lessons(made.plan_course)
    attempt = start(made)
    right = answers(attempt)
    # Seven right answers saved in time…
    attempt_answer_save(
        actor=SYSTEM,
        learner=made.learner,
        attempt_id=attempt.pk,
        answers={position: right[position] for position in range(1, 8)},
    )
    # …and all ten sent a minute after the deadline.
    late = attempt.deadline_at + timedelta(minutes=1)
    with pytest.raises(ExamRefused) as refused:
        attempt_submit(
            actor=SYSTEM, learner=made.learner, attempt_id=attempt.pk, answers=right, now=late
        )
    assert (refused.value.code, refused.value.status) == ("deadline_passed", 409)
    graded = Attempt.objects.get(pk=attempt.pk)
    assert (graded.state, graded.closed_by, graded.score) == ("graded", "late", 70)
    assert AttemptQuestion.objects.filter(attempt=attempt, saved_at__isnull=False).count() == 7


def test_saving_after_the_deadline_is_refused(make_enrolment) -> None:
    made = make_enrolment()
    complete_lessons(made.plan_course)
    attempt = start(made)
    with pytest.raises(ExamRefused) as refused:
        attempt_answer_save(
            actor=SYSTEM,
            learner=made.learner,
            attempt_id=attempt.pk,
            answers={1: answers(attempt)[1]},
            now=attempt.deadline_at + timedelta(seconds=1),
        )
    assert refused.value.code == "deadline_passed"
    assert not AttemptQuestion.objects.filter(attempt=attempt, saved_at__isnull=False).exists()


def test_the_periodic_job_grades_attempts_left_open_past_their_deadline(make_enrolment) -> None:
    made = make_enrolment()
    waiting = make_enrolment()
    complete_lessons(made.plan_course)
    complete_lessons(waiting.plan_course)
    expired = start(made, now=timezone.now() - timedelta(hours=1))
    attempt_answer_save(
        actor=SYSTEM,
        learner=made.learner,
        attempt_id=expired.pk,
        answers=answers(expired),
        now=expired.started_at + timedelta(minutes=5),
    )
    running = start(waiting)
    assert attempts_close_expired() == 1
    expired.refresh_from_db()
    running.refresh_from_db()
    assert (expired.state, expired.closed_by, expired.passed) == ("graded", "expired", True)
    assert expired.submitted_at is None
    assert running.state == "open"
    assert CourseCompletion.objects.filter(plan_course=made.plan_course).exists()
    entry = AuditEntry.objects.get(action="exam_attempt.grade")
    assert "exam-deadline" in entry.actor_label


def _fail(made) -> Attempt:
    attempt = start(made)
    return attempt_submit(
        actor=SYSTEM, learner=made.learner, attempt_id=attempt.pk, answers=answers(attempt, right=0)
    )


def test_using_up_the_attempts_sends_the_learner_back_to_the_lessons(make_enrolment) -> None:
    made = make_enrolment()
    exam_settings_update(
        actor=SYSTEM, course=made.course, exam_required=True, values={"attempts_per_year": 2}
    )
    complete_lessons(made.plan_course)
    _fail(made)
    assert exam_status(PlanCourse.objects.get(pk=made.plan_course.pk)).attempts_left == 1
    _fail(made)
    plan_course = PlanCourse.objects.get(pk=made.plan_course.pk)
    assert plan_course.lessons_completed_at is None
    assert not LessonProgress.objects.filter(
        plan_course=plan_course, completed_at__isnull=False
    ).exists()
    assert LessonProgress.objects.filter(plan_course=plan_course, verified_ms=0).count() == 2
    assert ProgressReset.objects.get(plan_course=plan_course).attempts_used == 2
    status = exam_status(plan_course)
    assert (status.state, status.reason, status.attempts_left) == (
        "locked",
        "lessons_incomplete",
        2,
    )
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert "plan_course.study_again" in actions
    assert "exam.progress_reset" in actions
    # Study again, and the attempts start again.
    complete_lessons(plan_course)
    third = start(made)
    assert (third.number, third.round) == (3, 2)


def test_without_a_reset_the_exam_stays_closed_when_the_attempts_are_used_up(
    make_enrolment,
) -> None:
    made = make_enrolment()
    exam_settings_update(
        actor=SYSTEM,
        course=made.course,
        exam_required=True,
        values={"attempts_per_year": 1, "reset_on_exhaustion": False},
    )
    complete_lessons(made.plan_course)
    _fail(made)
    plan_course = PlanCourse.objects.get(pk=made.plan_course.pk)
    assert plan_course.lessons_completed_at is not None
    status = exam_status(plan_course)
    assert (status.state, status.reason) == ("locked", "no_attempts_left")
    with pytest.raises(ExamRefused) as refused:
        start(made)
    assert refused.value.code == "no_attempts_left"


def test_a_course_without_an_exam_completes_with_its_lessons(make_enrolment) -> None:
    made = make_enrolment(bank=False)
    exam_settings_update(actor=SYSTEM, course=made.course, exam_required=False, values={})
    plan_course = complete_lessons(made.plan_course)
    assert plan_course.completed_at is not None
    assert CourseCompletion.objects.get(plan_course=plan_course).basis == "lessons"
    assert exam_status(plan_course).state == "complete"


def test_an_exam_without_questions_is_not_ready(make_enrolment) -> None:
    made = make_enrolment(bank=False)
    complete_lessons(made.plan_course)
    status = exam_status(made.plan_course)
    assert (status.state, status.reason) == ("locked", "exam_not_ready")


def test_the_region_rules_apply_unless_the_course_sets_its_own(make_enrolment, regions) -> None:
    from cpe.exams.services import exam_rules
    from cpe.regions.models import RegionPolicy

    made = make_enrolment()
    RegionPolicy.objects.create(
        region=regions["420000"], effective_from=2019, exam_pass_mark=70, exam_attempts_per_year=3
    )
    year = made.plan.year
    assert (
        exam_rules(made.course, year).pass_mark,
        exam_rules(made.course, year).attempts_per_year,
    ) == (70, 3)
    exam_settings_update(
        actor=SYSTEM, course=made.course, exam_required=True, values={"pass_mark": 80}
    )
    assert exam_rules(made.course, year).pass_mark == 80
    assert ExamSettings.objects.get(course=made.course).attempts_per_year is None
    assert AuditEntry.objects.filter(action="exam_settings.update").exists()


def test_a_course_sent_back_to_its_lessons_stays_in_the_plan(make_enrolment) -> None:
    from cpe.learning.services import StudyRefused, plan_course_remove

    made = make_enrolment()
    exam_settings_update(
        actor=SYSTEM, course=made.course, exam_required=True, values={"attempts_per_year": 1}
    )
    complete_lessons(made.plan_course)
    _fail(made)
    with pytest.raises(StudyRefused) as refused:
        plan_course_remove(actor=SYSTEM, plan_course=made.plan_course)
    assert refused.value.code == "course_studied"
    assert PlanCourse.objects.filter(pk=made.plan_course.pk).exists()
    assert not AuditEntry.objects.filter(action="plan_course.remove").exists()


def test_the_periodic_task_closes_expired_attempts(make_enrolment) -> None:
    from cpe.exams.tasks import exam_attempts_close_expired

    made = make_enrolment()
    complete_lessons(made.plan_course)
    attempt = start(made, now=timezone.now() - timedelta(hours=2))
    exam_attempts_close_expired.call_local()
    attempt.refresh_from_db()
    assert (attempt.state, attempt.closed_by) == ("graded", "expired")


def test_switching_the_exam_off_completes_the_courses_waiting_for_it(make_enrolment) -> None:
    made = make_enrolment()
    complete_lessons(made.plan_course)
    exam_settings_update(actor=SYSTEM, course=made.course, exam_required=False, values={})
    plan_course = PlanCourse.objects.get(pk=made.plan_course.pk)
    assert plan_course.completed_at is not None
    assert CourseCompletion.objects.get(plan_course=plan_course).basis == "lessons"


def test_one_attempt_that_cannot_be_graded_stops_no_other(make_enrolment, monkeypatch) -> None:
    from cpe.exams import services

    broken, fine = make_enrolment(), make_enrolment()
    for made in (broken, fine):
        complete_lessons(made.plan_course)
    an_hour_ago = timezone.now() - timedelta(hours=1)
    stuck = start(broken, now=an_hour_ago)
    other = start(fine, now=an_hour_ago)
    grade = services._grade

    def failing(attempt, *args, **kwargs):
        if attempt.pk == stuck.pk:
            raise RuntimeError("broken")
        return grade(attempt, *args, **kwargs)

    monkeypatch.setattr(services, "_grade", failing)
    assert attempts_close_expired() == 1
    assert Attempt.objects.get(pk=other.pk).state == "graded"
    assert Attempt.objects.get(pk=stuck.pk).state == "open"
