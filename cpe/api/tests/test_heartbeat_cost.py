"""The heartbeat is the busiest call of the platform: what it costs the database, and what
a crash of the database can lose of it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cpe.accounts.roles import Role
from cpe.core.services import Actor
from cpe.learning.models import Heartbeat, LessonProgress
from cpe.learning.testing import enrolment
from cpe.regions.services import region_policy_save

BASE = "/api/v1/learner"


@pytest.fixture
def playing(regions, make_user):
    """A learner's client with a lesson started and one heartbeat already answered."""
    region_policy_save(
        actor=Actor.for_system("tests"),
        region=regions["420000"],
        effective_from=2018,
        makeup_from=2019,
        attention_check_minutes=0,
    )
    user = make_user(Role.LEARNER, "420102")
    study = enrolment(district=regions["420102"], user=user, lessons=[("video", 3600)])
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    token = client.get(f"{BASE}/csrf").json()["csrf_token"]

    def post(path: str, body: dict | None = None):
        return client.post(
            f"{BASE}{path}", body or {}, content_type="application/json", HTTP_X_CSRFTOKEN=token
        )

    session = post(f"/lessons/{study.lesson.pk}/sessions").json()["session"]
    beat = {"position": 0.0, "state": "playing", "rate": 1, "visible": True}
    assert post(f"/sessions/{session}/heartbeats", {**beat, "seq": 1}).status_code == 200
    return post, session, beat


def test_a_heartbeat_reads_its_session_with_the_owner_check_in_one_statement(playing, db):
    post, session, beat = playing
    with CaptureQueriesContext(connection) as queries:
        answer = post(f"/sessions/{session}/heartbeats", {**beat, "seq": 2})
    assert answer.status_code == 200, answer.content
    statements = [
        q["sql"]
        for q in queries.captured_queries
        if "django_session" not in q["sql"]  # database sessions without Redis
        and not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "SET LOCAL"))
    ]
    # The signed-in user, then: the session locked with its owner, its row, the lesson's
    # progress and the heartbeat itself. No separate learner lookup.
    assert len(statements) <= 5, statements
    assert not any('FROM "registry_learner"' in sql for sql in statements)
    assert Heartbeat.objects.filter(session_id=session).count() == 2


@pytest.mark.postgres
def test_on_postgresql_a_heartbeat_commits_without_waiting_for_the_disk(playing, db):
    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")
    post, session, beat = playing
    with CaptureQueriesContext(connection) as queries:
        assert post(f"/sessions/{session}/heartbeats", {**beat, "seq": 2}).status_code == 200
    statements = [q["sql"] for q in queries.captured_queries]
    assert "SET LOCAL synchronous_commit TO OFF" in statements
    with connection.cursor() as cursor:  # still inside the test's transaction
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "off"
    assert LessonProgress.objects.get().position_ms == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_setting_ends_with_the_heartbeats_transaction(playing):
    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")
    post, session, beat = playing
    assert post(f"/sessions/{session}/heartbeats", {**beat, "seq": 2}).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
