"""The heartbeat's fast path on an event loop (cpe.asgi under gunicorn's asgi worker): the
same answers as the WSGI path and the API, the common heartbeat kept in Redis without a
thread or the database, and everything else handed to Django."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connections
from django.utils import timezone

from cpe.core.services import Actor
from cpe.core.testing import run_coroutine
from cpe.learning import fastpath
from cpe.learning.fastpath import HeartbeatFastPathASGI
from cpe.learning.heartbeat_buffer import heartbeat_accept_async, heartbeats_flush
from cpe.learning.models import Heartbeat, LessonProgress
from cpe.learning.study import HeartbeatIn, study_session_start, study_token
from cpe.learning.testing import enrolment, playing_session

ACTOR = Actor.for_system("tests")


BEAT = {"seq": 1, "position": 15.0, "state": "playing", "rate": 1, "visible": True}

# The database path runs in the fast path's threads, which must see what the test wrote.
pytestmark = pytest.mark.django_db(transaction=True)


class Inner:
    """Stands in for Django's ASGI application behind the fast path, and says if it was asked."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope, receive, send):
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"django"})


@pytest.fixture(autouse=True)
def _database_threads(monkeypatch):
    """The database path's threads of this test alone, their connections closed after it
    (the test database is dropped at the end)."""
    threads = ThreadPoolExecutor(max_workers=1)
    monkeypatch.setattr(fastpath, "_DATABASE_THREADS", threads)
    yield
    threads.submit(connections.close_all).result()
    threads.shutdown()


@pytest.fixture
def threads_used(monkeypatch):
    """How many heartbeats went to the database path's threads (the real one runs)."""
    handed: list[int] = []
    real = fastpath.heartbeat_answered

    def counted(*args, **kwargs):
        handed.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(fastpath, "heartbeat_answered", counted)
    return handed


@pytest.fixture
def playing(regions, heartbeat_buffer):
    return playing_session(regions)


async def _call(app, scope, body: bytes):
    sent = []
    chunks = [body[:7], body[7:]]  # a body in two messages, as a slow client sends it

    async def receive():
        if not chunks:  # the body is all sent: the client waits for the answer
            await asyncio.Event().wait()
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    start = next(message for message in sent if message["type"] == "http.response.start")
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), payload


def call(app, session_id, body, token=None, *, language="zh-hans", method="POST", path=None):
    raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
    headers = [
        (b"host", b"testserver"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(raw)).encode()),
        (b"accept-language", language.encode()),
    ]
    if token is not None:
        headers.append((b"x-study-token", token.encode()))
    scope = {
        "type": "http",
        "method": method,
        "path": path or f"/api/v1/learner/sessions/{session_id}/heartbeats",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "scheme": "http",
        "http_version": "1.1",
        "query_string": b"",
        "root_path": "",
    }
    return run_coroutine(_call(app, scope, raw))


def test_heartbeats_are_kept_in_redis_on_the_loop_without_a_thread(playing, threads_used):
    study, session = playing
    inner, token = Inner(), study_token(session.pk)
    app = HeartbeatFastPathASGI(inner)
    # The first heartbeat has no ticket yet: judged on the state read from Redis.
    status, headers, payload = call(app, session.pk, BEAT, token)
    first = json.loads(payload)
    assert (status, first["verdict"]) == (200, "credited"), payload
    assert 14 <= first["credited_seconds"] <= 15.5
    assert headers[b"content-type"] == b"application/json; charset=utf-8"

    status, _headers, payload = call(
        app, session.pk, {**BEAT, "seq": 2, "ticket": first["ticket"]}, token
    )
    second = json.loads(payload)
    assert (status, second["verdict"]) == (200, "no_progress"), payload
    assert second["ticket"] and second["ticket"] != first["ticket"]
    assert threads_used == [], "a heartbeat went to the database path"
    assert inner.paths == []
    # Kept in Redis, written by the flusher like any other.
    assert LessonProgress.objects.get(learner=study.learner).verified_ms == 0
    heartbeats_flush()
    assert Heartbeat.objects.filter(session=session).count() == 2
    assert LessonProgress.objects.get(learner=study.learner).verified_ms >= 14_000


def test_a_replayed_ticket_is_judged_on_the_current_state_and_credits_nothing_twice(playing):
    _study, session = playing
    app, token = HeartbeatFastPathASGI(Inner()), study_token(session.pk)
    first = json.loads(call(app, session.pk, BEAT, token)[2])
    # At once, three times, each claiming 15 s more play on the same ticket: only the first
    # is kept by the compare-and-set; the others are judged on the state it left.
    forged = {**BEAT, "position": 30.0, "ticket": first["ticket"]}
    answers = [
        json.loads(call(app, session.pk, {**forged, "seq": seq}, token)[2]) for seq in (2, 3, 4)
    ]
    assert sum(answer["credited_seconds"] for answer in answers) <= 1
    assert "credited" not in {answer["verdict"] for answer in answers}
    heartbeats_flush()
    credited = sum(Heartbeat.objects.filter(session=session).values_list("credited_ms", flat=True))
    assert credited <= 15_500 + 1_000


def test_a_second_tab_taking_over_is_told_so_on_the_loop(playing, threads_used):
    study, session = playing
    app, token = HeartbeatFastPathASGI(Inner()), study_token(session.pk)
    first = json.loads(call(app, session.pk, BEAT, token)[2])
    study_session_start(actor=ACTOR, learner=study.learner, lesson_id=study.lesson.pk)
    handed = len(threads_used)
    status, _headers, payload = call(
        app, session.pk, {**BEAT, "seq": 2, "position": 16.0, "ticket": first["ticket"]}, token
    )
    answer = json.loads(payload)
    assert status == 200
    assert (answer["verdict"], answer["credited_seconds"]) == ("taken_over", 0)
    assert answer["stop"]["reason"] and answer["stop"]["message"]
    # The ticket's state was gone from Redis: the database path said why.
    assert len(threads_used) == handed + 1


def test_forged_tokens_and_malformed_bodies_are_refused_in_the_callers_language(playing, regions):
    _study, session = playing
    app = HeartbeatFastPathASGI(Inner())
    other = enrolment(district=regions["420102"], sequence=2)
    theirs = study_session_start(actor=ACTOR, learner=other.learner, lesson_id=other.lesson.pk)
    for token in (study_token(theirs.session.pk), "nonsense"):
        status, _headers, payload = call(app, session.pk, BEAT, token)
        assert (status, json.loads(payload)["code"]) == (403, "bad_token")
    token = study_token(session.pk)
    status, _headers, payload = call(
        app, session.pk, {**BEAT, "seq": "one", "ticket": 42}, token, language="en"
    )
    body = json.loads(payload)
    assert status == 422
    assert set(body["fields"]) == {"seq", "ticket"}
    assert body["message"] == "Some fields are not valid."
    status, _headers, payload = call(app, session.pk, b"{not json", token)
    assert (status, json.loads(payload)["message"]) == (422, "部分字段填写有误。")
    status, _headers, payload = call(app, session.pk, b"x" * 5000, token)
    assert status == 422
    status, _headers, payload = call(app, session.pk, {**BEAT, "position": -3}, token)
    assert status == 422 and "position" in json.loads(payload)["fields"]
    heartbeats_flush()
    assert not Heartbeat.objects.exists()


def test_requests_other_than_a_tokened_heartbeat_go_on_to_django(playing):
    _study, session = playing
    inner = Inner()
    app = HeartbeatFastPathASGI(inner)
    assert call(app, session.pk, BEAT)[2] == b"django"  # no token
    assert call(app, session.pk, BEAT, study_token(session.pk), method="GET")[2] == b"django"
    assert call(app, session.pk, BEAT, "t", path="/api/v1/learner/plans")[2] == b"django"
    assert len(inner.paths) == 3


def test_on_the_loop_a_heartbeat_is_judged_on_what_redis_holds_and_the_database_gets_the_rest(
    playing,
):
    study, session = playing
    app, token = HeartbeatFastPathASGI(Inner()), study_token(session.pk)
    first = json.loads(call(app, session.pk, BEAT, token)[2])
    now = timezone.now()

    def accepted(ticket, seq):
        beat = HeartbeatIn(seq=seq, position=15.0, state="playing", rate=1.0, visible=True)
        return run_coroutine(
            heartbeat_accept_async(session_id=session.pk, beat=beat, ticket=ticket, now=now)
        )

    kept = accepted(first["ticket"], 2)
    assert kept.verdict == "no_progress" and kept.ticket and kept.ticket != first["ticket"]
    # An old ticket: the compare-and-set refuses it, and the heartbeat is judged again on
    # the state in Redis; a replayed one is recorded as such, and credits nothing.
    assert accepted(first["ticket"], 3).verdict == "no_progress"
    replayed = accepted(kept.ticket, 3)
    assert (replayed.verdict, replayed.credited_ms, replayed.ticket) == ("replay", 0, None)
    # No ticket, or one the server did not seal: the state is read from Redis.
    assert accepted(None, 4).verdict == "no_progress"
    assert accepted(first["ticket"][:-6] + "AAAAAA", 5).verdict == "no_progress"
    # A session no longer in Redis (another tab took over): the database's to answer.
    study_session_start(actor=ACTOR, learner=study.learner, lesson_id=study.lesson.pk)
    assert accepted(kept.ticket, 6) is None
    heartbeats_flush()
    rows = Heartbeat.objects.filter(session=session).order_by("seq", "pk")
    assert [(row.seq, row.verdict) for row in rows] == [
        (1, "credited"),
        (2, "no_progress"),
        (3, "no_progress"),
        (3, "replay"),
        (4, "no_progress"),
        (5, "no_progress"),
    ]


def test_the_production_server_serves_django_pages_through_the_same_application():
    from cpe import asgi
    from cpe.worker import Worker

    status, _headers, payload = call(asgi.application, None, b"", method="GET", path="/healthz")
    assert status == 200, payload
    assert json.loads(payload)["status"] == "ok"
    # Django ran in the pool's (one) thread: its connection is closed there.
    asgi.application.app.executor.submit(connections.close_all).result()
    # gunicorn.conf.py names this application and the asyncio worker.
    config: dict = {}
    exec(Path("gunicorn.conf.py").read_text(), config)  # noqa: S102
    assert (config["wsgi_app"], config["worker_class"]) == (
        "cpe.asgi:application",
        "cpe.worker.Worker",
    )
    assert config["raw_env"] == ["HEARTBEAT_FLUSHER=dedicated"]
    assert Worker.CONFIG_KWARGS["lifespan"] == "off"
