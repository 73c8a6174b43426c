"""The learner's exam pages: the block on a course's page, the paper without JavaScript,
the result with its review, history, and the plan showing the course complete only after
the exam is passed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cpe.exams.models import Attempt, AttemptQuestion, Option
from cpe.learning.models import PlanCourse
from cpe.learning.testing import complete_lessons

pytestmark = pytest.mark.django_db


def signed_in(made) -> Client:
    client = Client()
    client.force_login(made.learner.user)
    return client


def course_url(made) -> str:
    return reverse("learning:plan_course", args=[made.plan.year, made.course.code])


def start_url(made) -> str:
    return reverse("exams:start", args=[made.plan.year, made.course.code])


def form_answers(attempt: Attempt, *, right: bool = True) -> dict[str, object]:
    data: dict[str, object] = {"positions": []}
    for item in AttemptQuestion.objects.filter(attempt=attempt):
        correct = list(
            Option.objects.filter(question=item.question, is_correct=True).values_list(
                "pk", flat=True
            )
        )
        chosen = correct if right else [pk for pk in item.option_order if pk not in correct][:1]
        data["positions"].append(str(item.position))  # type: ignore[union-attr]
        data[f"q{item.position}"] = [str(pk) for pk in chosen]
    return data


def test_the_course_page_shows_the_exam_locked_with_the_reason(make_enrolment) -> None:
    made = make_enrolment()
    page = signed_in(made).get(course_url(made))
    assert page.status_code == 200
    assert 'data-exam-locked="lessons_incomplete"' in page.content.decode()
    assert b"data-start-exam" not in page.content


def test_the_learner_starts_the_exam_and_a_refresh_keeps_the_same_attempt(make_enrolment):
    made = make_enrolment()
    complete_lessons(made.plan_course)
    client = signed_in(made)
    page = client.get(course_url(made)).content.decode()
    assert "data-start-exam" in page and 'data-attempts-left="5"' in page
    started = client.post(start_url(made))
    attempt = Attempt.objects.get()
    assert started.status_code == 302
    assert started["Location"] == reverse("exams:attempt", args=[attempt.pk])
    paper = client.get(started["Location"])
    assert paper.status_code == 200
    assert paper.content.decode().count('name="positions"') == 10
    # Back on the course page: continue, not a second attempt.
    assert b"data-continue-exam" in client.get(course_url(made)).content
    assert client.post(start_url(made))["Location"] == started["Location"]
    assert Attempt.objects.count() == 1


def test_answers_are_saved_by_the_form_without_javascript(make_enrolment) -> None:
    made = make_enrolment()
    complete_lessons(made.plan_course)
    client = signed_in(made)
    client.post(start_url(made))
    attempt = Attempt.objects.get()
    saved = client.post(reverse("exams:save", args=[attempt.pk]), form_answers(attempt))
    assert saved.status_code == 302
    assert AttemptQuestion.objects.filter(attempt=attempt, saved_at__isnull=False).count() == 10
    page = client.get(reverse("exams:attempt", args=[attempt.pk])).content.decode()
    assert page.count(" checked>") == 13  # 10 questions, three of them with two options


def test_passing_shows_the_score_the_review_and_the_course_complete(make_enrolment) -> None:
    made = make_enrolment()
    complete_lessons(made.plan_course)
    client = signed_in(made)
    client.post(start_url(made))
    attempt = Attempt.objects.get()
    done = client.post(reverse("exams:submit", args=[attempt.pk]), form_answers(attempt))
    assert done["Location"] == reverse("exams:result", args=[attempt.pk])
    result = client.get(done["Location"]).content.decode()
    assert "data-score>100<" in result
    assert "data-course-complete" in result
    assert "解析：单选题" in result  # the review with the explanations
    plan = client.get(reverse("learning:year_plan", args=[made.plan.year])).content.decode()
    assert "badge year-complete" in plan
    course = client.get(course_url(made)).content.decode()
    assert "data-course-complete" in course
    assert 'data-exam-state="complete"' in course


def test_the_plan_shows_an_exam_to_take_rather_than_complete_after_the_lessons(make_enrolment):
    made = make_enrolment()
    complete_lessons(made.plan_course)
    client = signed_in(made)
    plan = client.get(reverse("learning:year_plan", args=[made.plan.year])).content.decode()
    assert "Take the exam" in plan or "参加考试" in plan
    assert PlanCourse.objects.get(pk=made.plan_course.pk).completed_at is None


def test_failing_offers_another_attempt(make_enrolment) -> None:
    made = make_enrolment()
    complete_lessons(made.plan_course)
    client = signed_in(made)
    client.post(start_url(made))
    attempt = Attempt.objects.get()
    client.post(reverse("exams:submit", args=[attempt.pk]), form_answers(attempt, right=False))
    result = client.get(reverse("exams:result", args=[attempt.pk])).content.decode()
    assert "data-score>0<" in result
    assert "data-start-exam" in result
    assert "data-course-complete" not in result


def test_a_paper_whose_time_ran_out_is_graded_when_opened(make_enrolment) -> None:
    made = make_enrolment()
    complete_lessons(made.plan_course)
    client = signed_in(made)
    client.post(start_url(made))
    attempt = Attempt.objects.get()
    Attempt.objects.filter(pk=attempt.pk).update(deadline_at=timezone.now() - timedelta(minutes=1))
    page = client.get(reverse("exams:attempt", args=[attempt.pk]))
    assert page["Location"] == reverse("exams:result", args=[attempt.pk])
    attempt.refresh_from_db()
    assert (attempt.state, attempt.closed_by) == ("graded", "expired")


def test_another_learners_attempt_pages_are_not_found(make_enrolment) -> None:
    made = make_enrolment()
    other = make_enrolment()
    complete_lessons(made.plan_course)
    signed_in(made).post(start_url(made))
    attempt = Attempt.objects.get()
    stranger = signed_in(other)
    for name in ("exams:attempt", "exams:result"):
        assert stranger.get(reverse(name, args=[attempt.pk])).status_code == 404
    for name in ("exams:save", "exams:submit"):
        assert (
            stranger.post(reverse(name, args=[attempt.pk]), form_answers(attempt)).status_code
            == 404
        )
    attempt.refresh_from_db()
    assert attempt.state == "open"


def test_the_history_lists_every_attempt(make_enrolment) -> None:
    made = make_enrolment()
    complete_lessons(made.plan_course)
    client = signed_in(made)
    client.post(start_url(made))
    attempt = Attempt.objects.get()
    client.post(reverse("exams:submit", args=[attempt.pk]), form_answers(attempt, right=False))
    client.post(start_url(made))
    page = client.get(reverse("exams:history")).content.decode()
    assert page.count(made.course.title) >= 2
    assert reverse("exams:result", args=[attempt.pk]) in page
