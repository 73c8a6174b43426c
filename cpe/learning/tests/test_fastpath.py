"""The heartbeat's fast path: heartbeats carrying their session's token are answered before
Django, with the API's answers; everything else goes on to Django."""

from __future__ import annotations

import io
import json

import pytest
from django.core import signals
from django.db import close_old_connections
from django.test import Client

from cpe.core.services import Actor
from cpe.learning.fastpath import HeartbeatFastPath
from cpe.learning.heartbeat_buffer import heartbeats_flush
from cpe.learning.models import Heartbeat, LessonProgress
from cpe.learning.study import study_session_start, study_token
from cpe.learning.testing import enrolment, playing_session

ACTOR = Actor.for_system("tests")


class Django:
    """Stands in for the Django application behind the fast path, and says if it was asked."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"django"]


@pytest.fixture(autouse=True)
def _connections_kept():
    # As Django's test client does: the test's transaction must outlive the request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def playing(regions):
    return playing_session(regions)


def call(app, session_id, body, token=None, language="zh-hans"):
    raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": f"/api/v1/learner/sessions/{session_id}/heartbeats",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(raw)),
        "CONTENT_TYPE": "application/json",
        "HTTP_ACCEPT_LANGUAGE": language,
        "wsgi.input": io.BytesIO(raw),
        "wsgi.url_scheme": "http",
    }
    if token is not None:
        environ["HTTP_X_STUDY_TOKEN"] = token
    answered = {}

    def start_response(status, headers):
        answered["status"] = int(status.split()[0])
        answered["headers"] = dict(headers)

    payload = b"".join(app(environ, start_response))
    return answered["status"], payload


BEAT = {"seq": 1, "position": 15.0, "state": "playing", "rate": 1, "visible": True}


def test_a_heartbeat_with_its_sessions_token_is_answered_without_django(playing):
    study, session = playing
    django = Django()
    status, payload = call(HeartbeatFastPath(django), session.pk, BEAT, study_token(session.pk))
    assert status == 200, payload
    answer = json.loads(payload)
    assert answer["verdict"] == "credited"
    assert 14 <= answer["credited_seconds"] <= 15.5
    assert django.calls == 0
    assert LessonProgress.objects.get(learner=study.learner).verified_ms >= 14_000


def test_a_token_of_another_session_or_a_forged_one_is_refused_and_changes_nothing(
    playing, regions
):
    _study, session = playing
    other = enrolment(district=regions["420102"], sequence=2)
    theirs = study_session_start(actor=ACTOR, learner=other.learner, lesson_id=other.lesson.pk)
    app = HeartbeatFastPath(Django())
    for token in (study_token(theirs.session.pk), f"{session.pk}:forged", "nonsense"):
        status, payload = call(app, session.pk, BEAT, token)
        assert status == 403, payload
        assert json.loads(payload)["code"] == "bad_token"
    assert not Heartbeat.objects.exists()


def test_a_malformed_heartbeat_gets_field_errors_in_the_callers_language(playing):
    _study, session = playing
    app = HeartbeatFastPath(Django())
    token = study_token(session.pk)
    status, payload = call(
        app, session.pk, {**BEAT, "seq": "one", "state": "seeking"}, token, language="en"
    )
    assert status == 422
    body = json.loads(payload)
    assert set(body["fields"]) == {"seq", "state"}
    assert body["message"] == "Some fields are not valid."
    status, payload = call(app, session.pk, b"{not json", token)
    assert status == 422
    assert json.loads(payload)["message"] == "部分字段填写有误。"
    status, payload = call(app, session.pk, {**BEAT, "position": -3}, token)
    assert status == 422
    assert "position" in json.loads(payload)["fields"]
    assert not Heartbeat.objects.exists()


def test_requests_without_a_token_go_on_to_django(playing):
    _study, session = playing
    django = Django()
    status, payload = call(HeartbeatFastPath(django), session.pk, BEAT)
    assert (status, payload, django.calls) == (200, b"django", 1)


def test_the_api_takes_the_token_too_without_a_sign_in_cookie(playing):
    _study, session = playing
    answer = Client(enforce_csrf_checks=True).post(
        f"/api/v1/learner/sessions/{session.pk}/heartbeats",
        BEAT,
        content_type="application/json",
        HTTP_X_STUDY_TOKEN=study_token(session.pk),
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["verdict"] == "credited"
    schemes = Client().get("/api/v1/openapi.json").json()["components"]["securitySchemes"]
    assert any(scheme.get("name") == "X-Study-Token" for scheme in schemes.values())


def test_through_the_buffer_the_fast_path_answers_from_redis(playing, heartbeat_buffer):
    study, session = playing
    status, payload = call(HeartbeatFastPath(Django()), session.pk, BEAT, study_token(session.pk))
    assert status == 200, payload
    assert json.loads(payload)["verdict"] == "credited"
    assert LessonProgress.objects.get(learner=study.learner).verified_ms == 0
    heartbeats_flush()
    assert LessonProgress.objects.get(learner=study.learner).verified_ms >= 14_000


def test_through_the_buffer_each_answer_carries_a_ticket_that_the_next_heartbeat_echoes(
    playing, heartbeat_buffer
):
    _study, session = playing
    app, token = HeartbeatFastPath(Django()), study_token(session.pk)
    status, payload = call(app, session.pk, BEAT, token)
    first = json.loads(payload)
    assert status == 200 and first["ticket"]

    status, payload = call(app, session.pk, {**BEAT, "seq": 2, "ticket": first["ticket"]}, token)
    second = json.loads(payload)
    assert (status, second["verdict"]) == (200, "no_progress")
    assert second["ticket"] and second["ticket"] != first["ticket"]
    # The API answers the same, and documents the ticket both ways.
    answer = Client().post(
        f"/api/v1/learner/sessions/{session.pk}/heartbeats",
        {**BEAT, "seq": 3, "ticket": second["ticket"]},
        content_type="application/json",
        HTTP_X_STUDY_TOKEN=token,
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["verdict"] == "no_progress" and answer.json()["ticket"]
    schemas = Client().get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert "ticket" in schemas["HeartbeatBody"]["properties"]
    assert "ticket" in schemas["HeartbeatOut"]["properties"]
    heartbeats_flush()
    assert Heartbeat.objects.count() == 3


def test_a_ticket_that_is_not_text_gets_a_field_error(playing):
    _study, session = playing
    status, payload = call(
        HeartbeatFastPath(Django()),
        session.pk,
        {**BEAT, "ticket": 42},
        study_token(session.pk),
        language="en",
    )
    assert status == 422
    assert json.loads(payload)["fields"] == {
        "ticket": ["The ticket must be the text of the last answer's ticket."]
    }
    assert not Heartbeat.objects.exists()
