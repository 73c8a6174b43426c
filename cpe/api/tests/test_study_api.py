"""The study API: what a mobile app needs to play a lesson with verified time."""

from __future__ import annotations

import pytest
from django.test import Client

from cpe.accounts.roles import Role
from cpe.core.services import Actor
from cpe.learning.models import Heartbeat, LessonProgress, StudySession
from cpe.learning.testing import enrolment, study_course
from cpe.regions.services import region_policy_save

BASE = "/api/v1/learner"


@pytest.fixture
def study(regions, make_user):
    region_policy_save(
        actor=Actor.for_system("tests"),
        region=regions["420000"],
        effective_from=2018,
        makeup_from=2019,
        attention_check_minutes=0,
    )
    user = make_user(Role.LEARNER, "420102")
    return enrolment(district=regions["420102"], user=user, lessons=[("video", 120)])


@pytest.fixture
def api(study):
    client = Client(enforce_csrf_checks=True)
    client.force_login(study.learner.user)
    token = client.get(f"{BASE}/csrf").json()["csrf_token"]

    def post(path: str, body: dict | None = None):
        return client.post(
            f"{BASE}{path}", body or {}, content_type="application/json", HTTP_X_CSRFTOKEN=token
        )

    post.client = client  # type: ignore[attr-defined]
    return post


def test_the_study_calls_are_in_the_openapi_document(client, db):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in [
        "/lessons/{lesson_id}/sessions",
        "/sessions/{session_id}/heartbeats",
        "/sessions/{session_id}/attention",
        "/progress",
    ]:
        assert f"{BASE}{path}" in paths


def test_a_learner_starts_a_lesson_and_the_first_heartbeat_is_judged_by_the_server(study, api):
    started = api(f"/lessons/{study.lesson.pk}/sessions")
    assert started.status_code == 200, started.content
    body = started.json()
    assert body["position"] == 0 and body["heartbeat_seconds"] == 15 and body["max_rate"] == 1.0
    assert body["kind"] == "video" and body["duration_seconds"] == 120
    beat = api(
        f"/sessions/{body['session']}/heartbeats",
        {"seq": 1, "position": 15, "state": "playing", "rate": 1},
    )
    assert beat.status_code == 200, beat.content
    answer = beat.json()
    # The session started a moment ago: 15 s of play cannot have happened yet.
    assert answer["credited_seconds"] == 0 and answer["verdict"] == "seek"
    assert answer["stop"] is None and answer["attention"] is None
    assert Heartbeat.objects.get().verdict == "seek"


def test_heartbeats_need_the_csrf_token(study, api):
    session = api(f"/lessons/{study.lesson.pk}/sessions").json()["session"]
    response = api.client.post(  # type: ignore[attr-defined]
        f"{BASE}/sessions/{session}/heartbeats",
        {"seq": 1, "position": 1, "state": "playing"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not Heartbeat.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"seq": 1, "position": -1, "state": "playing", "rate": 1},
        {"seq": -3, "position": 1, "state": "playing", "rate": 1},
        {"seq": 1, "position": 1, "state": "rewinding", "rate": 1},
        {"seq": 1, "position": 1, "state": "playing", "rate": 0},
        {"seq": "x", "position": 1, "state": "playing"},
        {"position": 1, "state": "playing"},
    ],
)
def test_a_malformed_heartbeat_gets_a_422_with_field_errors_and_changes_nothing(study, api, body):
    session = api(f"/lessons/{study.lesson.pk}/sessions").json()["session"]
    response = api(f"/sessions/{session}/heartbeats", body)
    assert response.status_code == 422, response.content
    assert response.json()["fields"]
    assert not Heartbeat.objects.exists()
    assert StudySession.objects.get().last_seq == -1


def test_another_learners_session_answers_404_and_changes_nothing(study, api, regions, make_user):
    other = enrolment(
        district=regions["420102"], sequence=2, user=make_user(Role.LEARNER, "420102")
    )
    client = Client()
    client.force_login(other.learner.user)
    theirs = client.post(f"{BASE}/lessons/{other.lesson.pk}/sessions").json()["session"]
    response = api(f"/sessions/{theirs}/heartbeats", {"seq": 1, "position": 1, "state": "playing"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not Heartbeat.objects.exists()


def test_a_lesson_not_in_the_learners_plans_is_refused_with_the_reason(study, api, regions):
    stranger = study_course(region=regions["420000"])
    response = api(f"/lessons/{stranger.lessons.get().pk}/sessions")
    assert response.status_code == 403
    assert response.json()["code"] == "not_in_plan"
    assert not StudySession.objects.exists()


def test_a_second_session_takes_over_and_the_first_is_told_why_it_stopped(study, api):
    first = api(f"/lessons/{study.lesson.pk}/sessions").json()["session"]
    api(f"/lessons/{study.lesson.pk}/sessions")
    answer = api(f"/sessions/{first}/heartbeats", {"seq": 1, "position": 1, "state": "playing"})
    assert answer.status_code == 200
    stop = answer.json()["stop"]
    assert stop["reason"] == "taken_over"
    assert "another" in stop["message"] or "另" in stop["message"]


def test_the_progress_call_lists_the_chosen_courses_with_each_lessons_progress(study, api):
    session = StudySession.objects.create(
        learner=study.learner,
        lesson=study.lesson,
        progress=LessonProgress.objects.create(
            learner=study.learner, lesson=study.lesson, plan_course=study.plan_course
        ),
    )
    LessonProgress.objects.filter(pk=session.progress_id).update(verified_ms=42_000)
    body = api.client.get(f"{BASE}/progress").json()  # type: ignore[attr-defined]
    [course] = body["courses"]
    assert course["code"] == study.course.code
    assert course["lessons"][0]["verified_seconds"] == 42
    assert course["completed"] is False


def test_a_staff_account_cannot_start_a_lesson(study, users, client_for):
    response = client_for(users["support"]).post(f"{BASE}/lessons/{study.lesson.pk}/sessions")
    assert response.status_code == 403
