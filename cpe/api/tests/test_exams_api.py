"""The exam API: what a mobile app needs to take a course's exam, and the bad input it
refuses with a reason and nothing changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from cpe.exams.models import Attempt, AttemptQuestion, Option
from cpe.exams.testing import make_bank
from cpe.learning.models import CourseCompletion
from cpe.learning.testing import complete_lessons, enrolment

BASE = "/api/v1/learner"


@pytest.fixture
def made(regions, make_user):
    user = make_user("learner", "420102")
    made = enrolment(
        district=regions["420102"], user=user, lessons=[("reading", 60)], exam_required=True
    )
    make_bank(made.course)
    return made


def api_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    token = client.get(f"{BASE}/csrf").json()["csrf_token"]
    client.defaults["HTTP_X_CSRFTOKEN"] = token
    return client


@pytest.fixture
def api(made) -> Client:
    return api_client(made.learner.user)


def exam_path(made) -> str:
    return f"{BASE}/plans/{made.plan.year}/courses/{made.course.code}/exam"


def right_answers(attempt_id) -> dict[str, list[int]]:
    return {
        str(item.position): list(
            Option.objects.filter(question=item.question, is_correct=True).values_list(
                "pk", flat=True
            )
        )
        for item in AttemptQuestion.objects.filter(attempt_id=attempt_id)
    }


def start(api, made) -> dict:
    response = api.post(f"{exam_path(made)}/attempts", content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_exam_calls_are_in_the_openapi_document(client, db) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in [
        "/plans/{year}/courses/{code}/exam",
        "/plans/{year}/courses/{code}/exam/attempts",
        "/exam-attempts",
        "/exam-attempts/{attempt_id}",
        "/exam-attempts/{attempt_id}/answers/{position}",
        "/exam-attempts/{attempt_id}/submit",
        "/exam-attempts/{attempt_id}/result",
    ]:
        assert f"{BASE}{path}" in paths


def test_the_status_says_the_exam_is_locked_until_the_lessons_are_complete(api, made) -> None:
    body = api.get(exam_path(made)).json()
    assert (body["state"], body["reason"]) == ("locked", "lessons_incomplete")
    assert body["rules"]["pass_mark"] == 60 and body["attempts_left"] == 5
    refused = api.post(f"{exam_path(made)}/attempts", content_type="application/json")
    assert refused.status_code == 409
    assert refused.json()["code"] == "lessons_incomplete"
    assert not Attempt.objects.exists()


def test_a_learner_takes_and_passes_the_exam_through_the_api(api, made) -> None:
    complete_lessons(made.plan_course)
    paper = start(api, made)
    assert len(paper["questions"]) == 10 and paper["seconds_left"] > 0
    attempt_id = paper["attempt"]["id"]
    # A second device gets the same attempt back.
    assert start(api, made)["attempt"]["id"] == attempt_id
    answers = right_answers(attempt_id)
    saved = api.put(
        f"{BASE}/exam-attempts/{attempt_id}/answers/1",
        {"chosen": answers["1"]},
        content_type="application/json",
    )
    assert saved.status_code == 200 and saved.json()["chosen"] == answers["1"]
    assert api.get(f"{BASE}/exam-attempts/{attempt_id}").json()["answered"] == 1
    result = api.post(
        f"{BASE}/exam-attempts/{attempt_id}/submit",
        {"answers": answers},
        content_type="application/json",
    )
    assert result.status_code == 200, result.content
    body = result.json()
    assert body["attempt"]["passed"] is True and float(body["attempt"]["score"]) == 100
    assert body["course_completed"] is True
    assert body["review"][0]["explanation"].startswith("解析")
    assert CourseCompletion.objects.filter(plan_course=made.plan_course).count() == 1
    status = api.get(exam_path(made)).json()
    assert status["state"] == "complete" and status["course_completed"] is True
    chosen = api.get(f"{BASE}/plans/{made.plan.year}").json()["courses"][0]
    assert chosen["exam_required"] is True
    assert chosen["lessons_completed_at"] and chosen["completed_at"]
    history = api.get(f"{BASE}/exam-attempts").json()["attempts"]
    assert [a["id"] for a in history] == [attempt_id]


def test_an_option_that_is_not_on_the_paper_is_refused_and_nothing_saved(api, made) -> None:
    complete_lessons(made.plan_course)
    paper = start(api, made)
    attempt_id = paper["attempt"]["id"]
    other_question = paper["questions"][1]["options"][0]["id"]
    response = api.put(
        f"{BASE}/exam-attempts/{attempt_id}/answers/1",
        {"chosen": [other_question]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "option_not_on_paper"
    assert response.json()["fields"]["chosen"]
    assert not AttemptQuestion.objects.filter(saved_at__isnull=False).exists()
    missing = api.put(
        f"{BASE}/exam-attempts/{attempt_id}/answers/99",
        {"chosen": []},
        content_type="application/json",
    )
    assert missing.status_code == 400 and missing.json()["code"] == "question_not_on_paper"


def test_another_learners_attempt_is_not_found_and_left_alone(api, made, regions, make_user):
    complete_lessons(made.plan_course)
    attempt_id = start(api, made)["attempt"]["id"]
    stranger = enrolment(
        district=regions["420102"],
        user=make_user("learner", "420102"),
        sequence=7,
        lessons=[("reading", 60)],
    )
    other = api_client(stranger.learner.user)
    answers = right_answers(attempt_id)
    for response in [
        other.get(f"{BASE}/exam-attempts/{attempt_id}"),
        other.put(
            f"{BASE}/exam-attempts/{attempt_id}/answers/1",
            {"chosen": answers["1"]},
            content_type="application/json",
        ),
        other.post(
            f"{BASE}/exam-attempts/{attempt_id}/submit",
            {"answers": answers},
            content_type="application/json",
        ),
        other.get(f"{BASE}/exam-attempts/{attempt_id}/result"),
    ]:
        assert response.status_code == 404, response.content
        assert response.json()["code"] == "not_found"
    attempt = Attempt.objects.get(pk=attempt_id)
    assert attempt.state == "open"
    assert not AttemptQuestion.objects.filter(saved_at__isnull=False).exists()


def test_submitting_twice_is_refused_with_the_first_result_kept(api, made) -> None:
    complete_lessons(made.plan_course)
    attempt_id = start(api, made)["attempt"]["id"]
    first = api.post(f"{BASE}/exam-attempts/{attempt_id}/submit", content_type="application/json")
    assert first.status_code == 200 and first.json()["attempt"]["passed"] is False
    second = api.post(
        f"{BASE}/exam-attempts/{attempt_id}/submit",
        {"answers": right_answers(attempt_id)},
        content_type="application/json",
    )
    assert second.status_code == 409 and second.json()["code"] == "attempt_closed"
    attempt = Attempt.objects.get(pk=attempt_id)
    assert attempt.score == 0 and attempt.passed is False
    assert not AttemptQuestion.objects.filter(saved_at__isnull=False).exists()


def test_submitting_after_the_deadline_is_refused_and_its_answers_not_saved(api, made) -> None:
    complete_lessons(made.plan_course)
    attempt_id = start(api, made)["attempt"]["id"]
    answers = right_answers(attempt_id)
    api.put(
        f"{BASE}/exam-attempts/{attempt_id}/answers/1",
        {"chosen": answers["1"]},
        content_type="application/json",
    )
    Attempt.objects.filter(pk=attempt_id).update(deadline_at=timezone.now() - timedelta(seconds=5))
    late = api.post(
        f"{BASE}/exam-attempts/{attempt_id}/submit",
        {"answers": answers},
        content_type="application/json",
    )
    assert late.status_code == 409 and late.json()["code"] == "deadline_passed"
    attempt = Attempt.objects.get(pk=attempt_id)
    # Graded on the one answer saved in time.
    assert (attempt.state, attempt.closed_by, attempt.score) == ("graded", "late", 10)
    assert AttemptQuestion.objects.filter(saved_at__isnull=False).count() == 1
    result = api.get(f"{BASE}/exam-attempts/{attempt_id}/result").json()
    assert result["correct"] == 1


def test_the_result_of_an_open_attempt_is_not_given(api, made) -> None:
    complete_lessons(made.plan_course)
    attempt_id = start(api, made)["attempt"]["id"]
    response = api.get(f"{BASE}/exam-attempts/{attempt_id}/result")
    assert response.status_code == 409 and response.json()["code"] == "attempt_open"


def test_a_staff_member_cannot_take_exams(client_for, users, made) -> None:
    client = client_for(users["course_manager"])
    assert client.get(exam_path(made)).status_code == 403
