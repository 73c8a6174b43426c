"""The heartbeat buffer: heartbeats kept in Redis, the database written in batches, and what
a crash can lose (at most what came since the last flush, less than one interval)."""

from __future__ import annotations

import base64
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from cpe.core.services import Actor
from cpe.learning.heartbeat_buffer import (
    _state_key,
    _write_batch,
    heartbeat_accept,
    heartbeats_flush,
    session_held,
    ticket_state,
)
from cpe.learning.models import Heartbeat, LessonProgress, PlanCourse, StudySession
from cpe.learning.study import HeartbeatIn, Verdict, attention_answer, study_session_start
from cpe.learning.testing import enrolment
from cpe.regions.services import region_policy_save

ACTOR = Actor.for_system("tests")
T0 = timezone.now().replace(microsecond=0)
INTERVAL = 15


@pytest.fixture
def study(regions, heartbeat_buffer):
    region_policy_save(
        actor=ACTOR,
        region=regions["420000"],
        effective_from=2018,
        makeup_from=2019,
        attention_check_minutes=0,
        heartbeat_seconds=INTERVAL,
    )
    return enrolment(district=regions["420102"], lessons=[("video", 600), ("video", 60)])


def start(study, lesson=None, at=0):
    lesson = lesson or study.lesson
    return study_session_start(
        actor=ACTOR, learner=study.learner, lesson_id=lesson.pk, now=T0 + timedelta(seconds=at)
    ).session


def beat(study, session, seq, at, position, state="playing"):
    return heartbeat_accept(
        actor=ACTOR,
        learner_id=study.learner.pk,
        session_id=session.pk,
        beat=HeartbeatIn(seq=seq, position=position, state=state),
        now=T0 + timedelta(seconds=at),
    )


def stored(study, lesson=None) -> LessonProgress:
    return LessonProgress.objects.get(learner=study.learner, lesson=lesson or study.lesson)


def play(study, session, until, every=INTERVAL, first_seq=1, since=0):
    seq = first_seq
    for second in range(since + every, until + 1, every):
        assert beat(study, session, seq, at=second, position=second).verdict == Verdict.CREDITED
        seq += 1
    return seq


def test_a_heartbeat_is_answered_from_redis_and_reaches_the_database_when_flushed(study):
    session = start(study)
    answer = beat(study, session, 1, at=15, position=15)
    assert (answer.verdict, answer.credited_ms, answer.verified_ms) == ("credited", 15_000, 15_000)
    assert stored(study).verified_ms == 0
    assert not Heartbeat.objects.exists()

    assert heartbeats_flush() == 1
    assert stored(study).verified_ms == 15_000
    session.refresh_from_db()
    assert (session.last_seq, session.last_position_ms) == (1, 15_000)
    assert session.last_heartbeat_at == T0 + timedelta(seconds=15)
    kept = Heartbeat.objects.get()
    assert (kept.credited_ms, kept.verdict, kept.seq) == (15_000, "credited", 1)


def test_a_flush_writes_each_heartbeat_once_and_a_second_flush_writes_nothing(study):
    session = start(study)
    play(study, session, until=60)
    assert heartbeats_flush() == 4
    assert heartbeats_flush() == 0
    assert Heartbeat.objects.count() == 4
    assert stored(study).verified_ms == 60_000


def test_a_redis_crash_loses_at_most_what_came_since_the_last_flush(study, heartbeat_buffer):
    session = start(study)
    seq = play(study, session, until=30)
    heartbeats_flush()
    seq = play(study, session, until=45, first_seq=seq, since=30)  # one heartbeat unflushed
    # Redis loses everything it held.
    heartbeat_buffer.delete(*heartbeat_buffer.scan_iter("test:hb:*"))

    lost = 45_000 - stored(study).verified_ms
    assert 0 < lost <= INTERVAL * 1000  # at most one heartbeat interval

    # The next heartbeat starts again from the last flushed state and credits the lost play
    # again, as far as the real time since then allows.
    answer = beat(study, session, seq, at=60, position=60)
    assert answer.verdict == Verdict.CREDITED
    assert answer.verified_ms == 60_000
    heartbeats_flush()
    assert stored(study).verified_ms == 60_000


def test_a_web_process_crash_loses_nothing_the_next_flush_writes_it(study):
    session = start(study)
    play(study, session, until=45)
    # Whatever process accepted them is gone; another one flushes.
    assert heartbeats_flush() == 3
    assert stored(study).verified_ms == 45_000


def test_an_old_snapshot_never_moves_a_session_back(study, heartbeat_buffer):
    session = start(study)
    play(study, session, until=30)
    old = heartbeat_buffer.hgetall(_state_key(session.pk))
    play(study, session, until=60, first_seq=3, since=30)
    heartbeats_flush()
    assert stored(study).verified_ms == 60_000

    _write_batch([], [(str(session.pk), old)])  # a flusher that stalled with an old snapshot

    assert stored(study).verified_ms == 60_000
    session.refresh_from_db()
    assert session.last_seq == 4


def test_an_old_snapshot_after_an_attention_answer_cannot_credit_the_waiting_time(
    study, heartbeat_buffer
):
    session = start(study)
    play(study, session, until=15)
    old = heartbeat_buffer.hgetall(_state_key(session.pk))
    with session_held(session.pk):  # as when a check is put: the database decides
        StudySession.objects.filter(pk=session.pk).update(
            attention_asked_at=T0 + timedelta(seconds=15),
            attention_question="2 + 2",
            attention_answer="4",
        )
    attention_answer(
        actor=ACTOR,
        learner=study.learner,
        session_id=session.pk,
        answer="4",
        now=T0 + timedelta(seconds=300),
    )
    _write_batch([], [(str(session.pk), old)])
    session.refresh_from_db()
    assert session.last_heartbeat_at == T0 + timedelta(seconds=300)


def test_starting_another_lesson_writes_the_playing_one_out_first(study):
    first = start(study)
    seq = play(study, first, until=45)
    start(study, study.lessons[1], at=50)

    assert stored(study).verified_ms == 45_000  # no flush needed
    answer = beat(study, first, seq, at=60, position=60)
    assert (answer.verdict, answer.stop) == (Verdict.TAKEN_OVER, StudySession.State.TAKEN_OVER)
    heartbeats_flush()
    assert stored(study).verified_ms == 45_000


def test_a_lesson_completes_in_the_database_at_the_heartbeat_that_completes_it(study):
    session = start(study, study.lessons[1])
    play(study, session, until=45)
    answer = beat(study, session, 4, at=60, position=60)
    assert answer.completed
    progress = stored(study, study.lessons[1])
    assert progress.completed_at is not None
    assert progress.verified_ms == 60_000  # the buffered heartbeats were written first
    assert PlanCourse.objects.get(pk=study.plan_course.pk).completed_at is None  # one of two


def test_an_idle_session_is_written_out_and_dropped_from_redis(study, heartbeat_buffer):
    session = start(study, at=-3600)
    beat(study, session, 1, at=-3585, position=15)
    heartbeats_flush()
    assert not heartbeat_buffer.exists(_state_key(session.pk))
    assert stored(study).verified_ms == 15_000


def test_another_learners_session_is_not_found_through_the_buffer(study, regions):
    other = enrolment(district=regions["420102"], sequence=2)
    session = start(study)
    beat(study, session, 1, at=15, position=15)
    with pytest.raises(Exception) as refused:
        heartbeat_accept(
            actor=ACTOR,
            learner_id=other.learner.pk,
            session_id=session.pk,
            beat=HeartbeatIn(seq=2, position=30, state="playing"),
            now=T0 + timedelta(seconds=30),
        )
    assert getattr(refused.value, "status", None) == 404
    heartbeats_flush()
    assert Heartbeat.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_burst_from_several_threads_credits_no_more_than_the_real_time(study):
    if connection.vendor != "postgresql":
        pytest.skip("threads with their own connections: PostgreSQL")
    session = start(study)
    errors = []

    def send(seq):
        try:
            beat(study, session, seq, at=15, position=15)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(seq,)) for seq in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    heartbeats_flush()
    assert not errors
    assert stored(study).verified_ms <= 15_000
    assert sum(Heartbeat.objects.values_list("credited_ms", flat=True)) <= 15_000
    assert Heartbeat.objects.count() == 8


def test_the_flush_command_writes_what_waits_in_redis(study):
    from io import StringIO

    from django.core.management import call_command

    session = start(study)
    play(study, session, until=30)
    out = StringIO()
    call_command("flush_heartbeats", stdout=out)
    assert "2 heartbeats written" in out.getvalue()
    assert stored(study).verified_ms == 30_000


def test_a_sessions_state_expires_from_redis_an_hour_after_its_last_heartbeat(
    study, heartbeat_buffer
):
    session = start(study)
    beat(study, session, 1, at=15, position=15)
    assert 3_500_000 < heartbeat_buffer.pttl(_state_key(session.pk)) <= 3_600_000


def test_a_session_is_in_redis_from_its_start_so_its_first_heartbeat_reads_no_database(
    study, heartbeat_buffer, django_assert_num_queries
):
    session = start(study)
    assert heartbeat_buffer.hget(_state_key(session.pk), "st") == "active"
    with django_assert_num_queries(0):
        answer = beat(study, session, 1, at=15, position=15)
    assert answer.verdict == Verdict.CREDITED


def test_a_course_with_time_only_in_redis_is_still_refused_removal_from_the_plan(study):
    from cpe.learning.services import StudyRefused, plan_course_remove

    session = start(study)
    play(study, session, until=15)
    assert stored(study).verified_ms == 0  # the credit is only in Redis yet
    with pytest.raises(StudyRefused) as refused:
        plan_course_remove(actor=ACTOR, plan_course=study.plan_course)
    assert refused.value.code == "course_studied"
    assert stored(study).verified_ms == 15_000


def test_a_reset_of_the_course_is_not_undone_by_time_waiting_in_redis(study):
    from cpe.learning.services import plan_course_study_again

    session = start(study)
    play(study, session, until=45)
    plan_course_study_again(actor=ACTOR, plan_course=study.plan_course, reason="test")
    heartbeats_flush()
    assert stored(study).verified_ms == 0
    # The next heartbeat starts from the reset state: nothing from before comes back.
    answer = beat(study, session, 4, at=60, position=60)
    assert answer.verified_ms == 0
    heartbeats_flush()
    assert stored(study).verified_ms == 0


# --- The state ticket: each answer's state, sealed, echoed by the player with its next beat.


def beat_with(study, session, seq, at, position, ticket):
    return heartbeat_accept(
        actor=ACTOR,
        learner_id=study.learner.pk,
        session_id=session.pk,
        beat=HeartbeatIn(seq=seq, position=position, state="playing"),
        ticket=ticket,
        now=T0 + timedelta(seconds=at),
    )


def redis_calls_about(client, session, action) -> list[str]:
    """The commands Redis received for this session's keys while `action` ran (MONITOR)."""
    marker = f"{_state_key(session.pk)}:done"
    with client.monitor() as monitor:
        action()
        client.get(marker)
        seen = []
        while marker not in (command := monitor.next_command())["command"]:
            # A script's own commands are listed too; only the calls of the client count.
            if str(session.pk) in command["command"] and command["client_type"] != "lua":
                seen.append(command["command"].split()[0])
    return seen


def test_with_the_last_answers_ticket_a_heartbeat_is_one_redis_call(study, heartbeat_buffer):
    session = start(study)
    first = beat(study, session, 1, at=15, position=15)
    assert first.ticket

    answers = []
    calls = redis_calls_about(
        heartbeat_buffer,
        session,
        lambda: answers.append(beat_with(study, session, 2, 30, 30, first.ticket)),
    )
    assert calls == ["EVALSHA"]  # no read of the state before the write
    assert (answers[0].verdict, answers[0].credited_ms, answers[0].verified_ms) == (
        "credited",
        15_000,
        30_000,
    )
    heartbeats_flush()
    assert stored(study).verified_ms == 30_000


def test_an_old_ticket_sent_again_is_judged_on_the_state_in_redis(study):
    session = start(study)
    first = beat(study, session, 1, at=15, position=15)
    second = beat_with(study, session, 2, 30, 30, first.ticket)
    assert second.verdict == Verdict.CREDITED

    # The same heartbeat replayed with the first answer's ticket (which says seq 1).
    replayed = beat_with(study, session, 2, 31, 31, first.ticket)
    assert (replayed.verdict, replayed.credited_ms) == (Verdict.REPLAY, 0)
    # And a later heartbeat with the old ticket is credited from the real last one only.
    later = beat_with(study, session, 3, 45, 45, first.ticket)
    assert (later.verdict, later.credited_ms, later.verified_ms) == ("credited", 15_000, 45_000)
    heartbeats_flush()
    assert stored(study).verified_ms == 45_000


def test_a_forged_ticket_or_another_sessions_is_not_believed(study, regions):
    session = start(study)
    first = beat(study, session, 1, at=15, position=15)
    other = enrolment(district=regions["420102"], lessons=[("video", 600)], sequence=2)
    other_session = start(other)
    other_ticket = beat(other, other_session, 1, at=15, position=15).ticket
    forged = first.ticket[:-4] + ("AAAA" if not first.ticket.endswith("AAAA") else "BBBB")

    seq, at = 2, 30
    for ticket in (forged, other_ticket, "not a ticket"):
        answer = beat_with(study, session, seq, at, at, ticket)
        assert (answer.verdict, answer.credited_ms) == (Verdict.CREDITED, 15_000)
        assert beat_with(study, session, seq, at + 1, at + 1, ticket).verdict == Verdict.REPLAY
        seq, at = seq + 1, at + 15
    heartbeats_flush()
    assert stored(study).verified_ms == 60_000


def test_a_ticket_from_before_the_session_was_written_out_does_not_match_after(study):
    session = start(study)
    first = beat(study, session, 1, at=15, position=15)
    # The session leaves Redis (an attention check, another tab...) and comes back, its
    # version counting from the start again.
    with session_held(session.pk):
        pass
    second = beat(study, session, 2, at=30, position=30)
    assert second.verdict == Verdict.CREDITED

    # The first ticket (seq 1) has the same version number as the state now (seq 2).
    replayed = beat_with(study, session, 2, 31, 31, first.ticket)
    assert (replayed.verdict, replayed.credited_ms) == (Verdict.REPLAY, 0)
    heartbeats_flush()
    assert stored(study).verified_ms == 30_000


def test_after_a_redis_crash_a_ticket_does_not_bring_back_what_was_lost(study, heartbeat_buffer):
    session = start(study)
    answer = beat(study, session, 1, at=15, position=15)
    heartbeats_flush()
    answer = beat_with(study, session, 2, 30, 30, answer.ticket)  # not flushed
    heartbeat_buffer.delete(*heartbeat_buffer.scan_iter("test:hb:*"))

    # Judged on the last flushed state (seq 1 at 15 s), not on the ticket's.
    again = beat_with(study, session, 2, 31, 31, answer.ticket)
    assert (again.verdict, again.credited_ms, again.verified_ms) == ("credited", 16_000, 31_000)
    heartbeats_flush()
    assert stored(study).verified_ms == 31_000


def test_the_ticket_keeps_the_next_attention_check_secret(
    study, regions, heartbeat_buffer, settings
):
    region_policy_save(
        actor=ACTOR,
        region=regions["420000"],
        effective_from=2018,
        makeup_from=2019,
        attention_check_minutes=15,
        heartbeat_seconds=INTERVAL,
    )
    session = start(study)
    ticket = beat(study, session, 1, at=15, position=15).ticket
    due = heartbeat_buffer.hget(_state_key(session.pk), "due")
    assert due

    assert due.encode() not in base64.urlsafe_b64decode(ticket + "=" * (-len(ticket) % 4))
    assert ticket_state(session.pk, ticket)["due"] == due
    settings.SECRET_KEY = "another deployment's key, long enough to be taken for a real one"
    assert ticket_state(session.pk, ticket) is None


def test_a_flush_keeps_the_order_heartbeats_came_in_and_skips_a_removed_session(study):
    first = start(study)
    play(study, first, until=45)
    # A second lesson's session: the first one is taken over (settled) and later removed.
    second = start(study, lesson=study.lessons[1], at=50)
    beat(study, second, 1, at=65, position=15)
    beat(study, second, 1, at=66, position=15)  # a replay: recorded, credits nothing
    beat(study, second, 2, at=80, position=30)
    heartbeats_flush()
    rows = list(Heartbeat.objects.filter(session=second).order_by("pk"))
    assert [(row.seq, row.verdict) for row in rows] == [
        (1, Verdict.CREDITED),
        (1, Verdict.REPLAY),
        (2, Verdict.CREDITED),
    ]
    assert stored(study, study.lessons[1]).verified_ms == 30_000
    beat(study, second, 3, at=95, position=45)
    StudySession.objects.filter(pk=second.pk).delete()
    assert heartbeats_flush() == 1  # read from Redis, but its session is gone: not written
    assert not Heartbeat.objects.filter(session_id=second.pk).exists()


def test_a_dedicated_flusher_leaves_the_web_processes_without_one(settings, monkeypatch):
    from cpe.learning import heartbeat_buffer
    from cpe.learning.flusher import HeartbeatFlusher

    started = []
    monkeypatch.setattr(heartbeat_buffer, "_flusher", {"started": False, "thread": None})
    monkeypatch.setattr(
        heartbeat_buffer.threading, "Thread", lambda **kwargs: started.append(kwargs) or _Idle()
    )
    settings.HEARTBEAT_FLUSH_SECONDS = 2
    settings.HEARTBEAT_FLUSHER = "dedicated"
    heartbeat_buffer.flusher_ensure()  # as a web worker does at its first heartbeat
    assert started == []
    flusher = HeartbeatFlusher()
    monkeypatch.setattr("os.nice", lambda increment: 0)
    flusher.init()  # gunicorn's dirty worker
    assert [kwargs["name"] for kwargs in started] == ["heartbeat-flusher"]
    assert flusher.status() == {"running": True}
    flusher.init()  # once per process
    assert len(started) == 1

    monkeypatch.setattr(heartbeat_buffer, "_flusher", {"started": False, "thread": None})
    settings.HEARTBEAT_FLUSHER = "web"
    heartbeat_buffer.flusher_ensure()
    assert len(started) == 2


class _Idle:
    def start(self) -> None:
        pass
