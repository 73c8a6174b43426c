"""A course manager sets a course's exam: whether it has one, and its own rules over the
region's, on the course's staff page and through the API."""

from __future__ import annotations

import pytest

from cpe.core.models import AuditEntry
from cpe.core.services import Actor
from cpe.exams.models import ExamSettings
from cpe.exams.services import exam_rules
from cpe.exams.testing import make_bank
from cpe.learning.testing import study_course

pytestmark = pytest.mark.django_db
SYSTEM = Actor.for_system("tests")


@pytest.fixture
def course(regions):
    made = study_course(region=regions["420000"], exam_required=True)
    make_bank(made, single=3, multiple=0, true_false=1)
    return made


def test_the_course_staff_page_shows_the_exam_and_its_bank(course, users, client_for) -> None:
    page = client_for(users["course_manager"]).get(f"/staff/courses/{course.pk}/")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'id="exam-settings"' in body
    assert f"/staff/courses/{course.pk}/exam-settings/" in body


def test_the_manager_sets_the_courses_own_rules_and_leaves_the_rest_to_the_region(
    course, users, client_for
) -> None:
    client = client_for(users["course_manager"])
    form = client.get(f"/staff/courses/{course.pk}/exam-settings/")
    assert form.status_code == 200
    saved = client.post(
        f"/staff/courses/{course.pk}/exam-settings/",
        {"exam_required": "on", "pass_mark": "80", "show_review": "no", "time_limit_minutes": ""},
    )
    assert saved.status_code == 302
    own = ExamSettings.objects.get(course=course)
    assert (own.pass_mark, own.show_review, own.time_limit_minutes) == (80, False, None)
    rules = exam_rules(course, 2026)
    assert (rules.pass_mark, rules.show_review, rules.time_limit_minutes) == (80, False, 30)
    assert AuditEntry.objects.filter(action="exam_settings.update").exists()


def test_a_pass_mark_over_100_is_refused_on_the_page(course, users, client_for) -> None:
    client = client_for(users["course_manager"])
    page = client.post(
        f"/staff/courses/{course.pk}/exam-settings/", {"exam_required": "on", "pass_mark": "120"}
    )
    assert page.status_code == 200
    assert b"has-error" in page.content
    assert not ExamSettings.objects.filter(course=course, pass_mark=120).exists()


def test_switching_the_exam_off_through_the_api(course, users, client_for) -> None:
    client = client_for(users["course_manager"])
    url = f"/api/v1/courses/{course.code}/exam-settings"
    before = client.get(url).json()
    assert before["exam_required"] is True
    assert before["bank"] == {"single": 3, "multiple": 0, "true_false": 1}
    assert before["effective"]["pass_mark"] == 60
    response = client.put(
        url,
        {"exam_required": False, "own": {"attempts_per_year": 3}},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    course.refresh_from_db()
    assert course.exam_required is False
    assert response.json()["effective"]["attempts_per_year"] == 3
    refused = client.put(
        url, {"exam_required": True, "own": {"pass_mark": 0}}, content_type="application/json"
    )
    assert refused.status_code == 422
    assert client.get("/api/v1/courses/NOPE/exam-settings").status_code == 404


def test_support_sees_a_learners_attempts_on_the_staff_study_page(
    make_enrolment, users, client_for
) -> None:
    from cpe.exams.services import attempt_start, attempt_submit
    from cpe.learning.testing import complete_lessons

    made = make_enrolment()
    complete_lessons(made.plan_course)
    attempt = attempt_start(actor=SYSTEM, learner=made.learner, plan_course=made.plan_course)
    attempt_submit(actor=SYSTEM, learner=made.learner, attempt_id=attempt.pk)
    page = client_for(users["support"]).get(f"/staff/learners/{made.learner.pk}/study/")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'id="exam-attempts"' in body
    assert made.course.code in body and "0 / 10" in body
