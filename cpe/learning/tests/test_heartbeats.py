"""The heartbeat engine: the server alone decides study time, whatever the browser says.

Every forged sequence ends with the same check: no credited time beyond the real time
that passed on the server's clock. Each test runs twice: heartbeats kept straight in the
database, and through the Redis heartbeat buffer (flushed after every heartbeat, so the
database can be read).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpe.core.services import Actor
from cpe.learning.heartbeat_buffer import heartbeat_accept, heartbeats_flush, session_held
from cpe.learning.models import (
    CourseCompletion,
    Heartbeat,
    LessonProgress,
    PlanCourse,
    StudySession,
    YearPlan,
)
from cpe.learning.study import (
    HeartbeatIn,
    StudyRefused,
    Verdict,
    attention_answer,
    study_session_start,
)
from cpe.learning.testing import enrol, enrolment, study_course
from cpe.regions.services import region_policy_save

ACTOR = Actor.for_system("tests")
T0 = timezone.now().replace(microsecond=0)


@pytest.fixture
def no_attention_checks(regions):
    region_policy_save(
        actor=ACTOR,
        region=regions["420000"],
        effective_from=2018,
        makeup_from=2019,
        sequential_years=True,
        attention_check_minutes=0,
    )


# The state tickets the answers carried, echoed with the next heartbeat as the player does
# (when the tests run with tickets).
_tickets: dict | None = None


@pytest.fixture(autouse=True, params=["database", "buffer", "buffer with tickets"])
def keeping(request):
    """Where heartbeats are kept: straight in the database, or in the Redis buffer (with or
    without the player echoing each answer's state ticket)."""
    global _tickets
    if request.param != "database":
        request.getfixturevalue("heartbeat_buffer")
    _tickets = {} if request.param == "buffer with tickets" else None
    yield request.param
    _tickets = None


def heartbeat_record(*, actor, learner, session_id, beat, now):
    """One heartbeat the way the API keeps it (through the buffer when it is on), then the
    buffer written out so that the test reads the database."""
    try:
        result = heartbeat_accept(
            actor=actor,
            learner_id=learner.pk,
            session_id=session_id,
            beat=beat,
            ticket=_tickets.get(str(session_id)) if _tickets is not None else None,
            now=now,
        )
        if _tickets is not None:
            _tickets[str(session_id)] = result.ticket
        return result
    finally:
        heartbeats_flush()


@pytest.fixture
def study(regions, no_attention_checks):
    return enrolment(district=regions["420102"], lessons=[("video", 300), ("video", 60)])


def start(study, lesson=None, at: datetime = T0) -> StudySession:
    lesson = lesson or study.lesson
    return study_session_start(
        actor=ACTOR, learner=study.learner, lesson_id=lesson.pk, now=at
    ).session


def beat(study, session, seq, at, position, state="playing", rate=1.0, visible=True):
    return heartbeat_record(
        actor=ACTOR,
        learner=study.learner,
        session_id=session.pk,
        beat=HeartbeatIn(seq=seq, position=position, state=state, rate=rate, visible=visible),
        now=T0 + timedelta(seconds=at),
    )


def credited_ms(study) -> int:
    return sum(
        Heartbeat.objects.filter(session__learner=study.learner).values_list(
            "credited_ms", flat=True
        )
    )


def progress(study, lesson=None) -> LessonProgress:
    return LessonProgress.objects.get(learner=study.learner, lesson=lesson or study.lesson)


def test_playing_at_normal_speed_credits_the_real_time_and_completes_the_lesson(study):
    session = start(study)
    for n in range(1, 21):
        result = beat(study, session, n, at=15 * n, position=15 * n)
        assert result.verdict == Verdict.CREDITED
    lesson_progress = progress(study)
    assert lesson_progress.verified_ms == 300_000
    assert lesson_progress.furthest_ms == 300_000
    assert lesson_progress.completed_at is not None


def test_a_lesson_is_not_complete_below_the_regions_share_of_its_length(study):
    session = start(study)
    for n in range(1, 19):  # 270 of 300 seconds: 90%
        beat(study, session, n, at=15 * n, position=15 * n)
    assert progress(study).completed_at is None
    beat(study, session, 19, at=285, position=285)  # 95%
    assert progress(study).completed_at is not None


def test_a_forward_jump_is_ignored_and_play_beyond_the_furthest_point_earns_nothing(study):
    session = start(study)
    beat(study, session, 1, at=15, position=15)
    jump = beat(study, session, 2, at=30, position=280)
    assert (jump.verdict, jump.credited_ms) == (Verdict.SEEK, 0)
    after = beat(study, session, 3, at=45, position=295)
    assert (after.verdict, after.credited_ms) == (Verdict.BEYOND_FURTHEST, 0)
    lesson_progress = progress(study)
    assert lesson_progress.verified_ms == 15_000
    assert lesson_progress.furthest_ms == 15_000
    assert lesson_progress.completed_at is None


def test_the_player_resumes_at_the_last_position_but_never_past_the_furthest_point(study):
    session = start(study)
    beat(study, session, 1, at=15, position=15)
    beat(study, session, 2, at=30, position=30)
    beat(study, session, 3, at=45, position=200)  # a forged seek
    again = study_session_start(
        actor=ACTOR, learner=study.learner, lesson_id=study.lesson.pk, now=T0 + timedelta(60)
    )
    assert again.resume_ms == 30_000


def test_sixteen_times_the_speed_credits_nothing(study):
    session = start(study)
    fast = beat(study, session, 1, at=15, position=15 * 16, rate=16)
    assert (fast.verdict, fast.credited_ms) == (Verdict.RATE_TOO_HIGH, 0)
    # Claiming 1x while the position runs 16 times faster is a seek.
    session = start(study, at=T0 + timedelta(seconds=20))
    lied = beat(study, session, 1, at=35, position=15 * 16)
    assert lied.credited_ms == 0
    assert progress(study).verified_ms == 0


def test_a_replayed_heartbeat_credits_nothing_and_changes_no_state(study):
    session = start(study)
    beat(study, session, 1, at=15, position=15)
    replay = beat(study, session, 1, at=30, position=30)
    older = beat(study, session, 0, at=31, position=30)
    assert replay.verdict == older.verdict == Verdict.REPLAY
    assert progress(study).verified_ms == 15_000
    session.refresh_from_db()
    assert session.last_seq == 1
    assert session.last_heartbeat_at == T0 + timedelta(seconds=15)


def test_a_burst_faster_than_the_interval_credits_at_most_the_real_time(study):
    session = start(study)
    for n in range(1, 51):  # 50 heartbeats 0.1 s apart, each claiming 1.5 s of play
        beat(study, session, n, at=n / 10, position=1.5 * n)
    assert credited_ms(study) <= 5_000


def test_two_lessons_at_once_only_the_newest_earns_and_the_first_is_told_why(study):
    first = start(study, study.lessons[0])
    second = start(study, study.lessons[1], at=T0 + timedelta(seconds=1))
    for n in range(1, 5):
        stopped = beat(study, first, n, at=15 * n, position=15 * n)
        assert stopped.stop == StudySession.State.TAKEN_OVER
        assert stopped.credited_ms == 0
        beat(study, second, n, at=15 * n, position=min(15 * n, 60))
    first.refresh_from_db()
    assert first.state == StudySession.State.TAKEN_OVER
    assert progress(study, study.lessons[0]).verified_ms == 0
    assert credited_ms(study) <= 60_000 - 1_000


def test_the_clients_clock_is_never_used_and_a_server_clock_step_back_credits_nothing(study):
    session = start(study)
    # A player whose clock runs at 1.5x reports 22.5 s of media per 15 real seconds.
    for n in range(1, 5):
        beat(study, session, n, at=15 * n, position=22.5 * n)
    assert credited_ms(study) <= 60_000
    # The server's clock stepping back (another machine in the cluster) credits nothing.
    before = credited_ms(study)
    beat(study, session, 5, at=10, position=91)
    assert credited_ms(study) == before


def test_a_position_beyond_the_duration_credits_only_up_to_the_end(study):
    lesson = study.lessons[1]  # 60 s
    session = start(study, lesson)
    for n in range(1, 4):
        beat(study, session, n, at=15 * n, position=15 * n)
    result = beat(study, session, 4, at=60, position=10_000)
    assert result.verdict == Verdict.SEEK
    end = beat(study, session, 5, at=61, position=60.5, state="ended")
    assert progress(study, lesson).verified_ms <= 60_000
    assert end.credited_ms <= 1_000


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("seq", {"seq": -1}),
        ("position", {"position": -5.0}),
        ("position", {"position": float("nan")}),
        ("position", {"position": float("inf")}),
        ("rate", {"rate": -1.0}),
        ("rate", {"rate": 0.0}),
        ("state", {"state": "seeking"}),
    ],
)
def test_negative_or_garbage_values_are_refused_and_change_nothing(study, field, values):
    session = start(study)
    good = {"seq": 1, "position": 15.0, "state": "playing", "rate": 1.0}
    with pytest.raises(StudyRefused) as refused:
        heartbeat_record(
            actor=ACTOR,
            learner=study.learner,
            session_id=session.pk,
            beat=HeartbeatIn(**(good | values)),
            now=T0 + timedelta(seconds=15),
        )
    assert refused.value.status == 422
    assert field in refused.value.fields
    assert not Heartbeat.objects.exists()
    session.refresh_from_db()
    assert session.last_seq == -1


def test_another_learners_session_is_not_found_and_nothing_changes(study, regions):
    other = enrolment(district=regions["420102"], sequence=2)
    session = start(study)
    with pytest.raises(StudyRefused) as refused:
        heartbeat_record(
            actor=ACTOR,
            learner=other.learner,
            session_id=session.pk,
            beat=HeartbeatIn(seq=1, position=15, state="playing"),
            now=T0 + timedelta(seconds=15),
        )
    assert refused.value.status == 404
    assert not Heartbeat.objects.exists()


def test_a_lesson_whose_course_is_not_in_the_learners_plans_cannot_be_started(study, regions):
    stranger = study_course(region=regions["420000"])
    with pytest.raises(StudyRefused) as refused:
        study_session_start(
            actor=ACTOR, learner=study.learner, lesson_id=stranger.lessons.get().pk, now=T0
        )
    assert (refused.value.status, refused.value.code) == (403, "not_in_plan")
    assert not StudySession.objects.exists()


def test_a_long_gap_credits_at_most_two_intervals(study):
    session = start(study)
    beat(study, session, 1, at=15, position=15)
    late = beat(study, session, 2, at=135, position=135)  # two minutes without a word
    assert late.credited_ms == 30_000


def test_paused_time_earns_nothing(study):
    session = start(study)
    for n in range(1, 5):
        result = beat(study, session, n, at=15 * n, position=0, state="paused")
        assert result.verdict == Verdict.PAUSED
    assert progress(study).verified_ms == 0


def test_the_attention_check_stops_credit_until_it_is_answered(regions):
    region_policy_save(
        actor=ACTOR,
        region=regions["420000"],
        effective_from=2018,
        makeup_from=2019,
        attention_check_minutes=1,
    )
    study = enrolment(district=regions["420102"], lessons=[("video", 3600)])
    session = start(study)
    session.attention_due_at = T0 + timedelta(seconds=40)
    with session_held(session.pk):  # a change in the database, out of the buffer
        session.save(update_fields=["attention_due_at"])
    beat(study, session, 1, at=15, position=15)
    beat(study, session, 2, at=30, position=30)
    asked = beat(study, session, 3, at=45, position=45)
    assert asked.attention_question
    assert asked.credited_ms == 10_000  # up to the moment of the check
    waiting = beat(study, session, 4, at=60, position=45, state="paused")
    assert waiting.verdict == Verdict.ATTENTION_PENDING
    with pytest.raises(StudyRefused):
        attention_answer(actor=ACTOR, learner=study.learner, session_id=session.pk, answer="1")
    session.refresh_from_db()
    attention_answer(
        actor=ACTOR,
        learner=study.learner,
        session_id=session.pk,
        answer=session.attention_answer,
        now=T0 + timedelta(seconds=300),
    )
    # Four minutes passed unanswered; the next heartbeat credits only what followed the answer.
    resumed = beat(study, session, 5, at=315, position=60)
    assert resumed.credited_ms == 15_000
    assert progress(study).verified_ms == 55_000  # 15 + 15 + 10, then 15 after the answer


def test_reading_counts_only_while_the_page_is_visible_and_completes_after_its_minimum(regions):
    region_policy_save(
        actor=ACTOR, region=regions["420000"], effective_from=2018, attention_check_minutes=0
    )
    study = enrolment(district=regions["420102"], lessons=[("reading", 60)])
    session = start(study)
    beat(study, session, 1, at=15, position=0)
    hidden = beat(study, session, 2, at=30, position=0, visible=False)
    assert hidden.verdict == Verdict.HIDDEN
    for n in range(3, 5):
        beat(study, session, n, at=15 * n, position=0)
    assert progress(study).completed_at is None  # 60 s elapsed, 45 s of it visible
    beat(study, session, 5, at=75, position=0)
    assert progress(study).completed_at is not None


def test_completing_every_lesson_completes_the_course_and_then_the_year(regions):
    region_policy_save(
        actor=ACTOR,
        region=regions["420000"],
        effective_from=2018,
        attention_check_minutes=0,
        annual_credits=6,
        professional_credits=3,
    )
    study = enrolment(district=regions["420102"], lessons=[("video", 30), ("reading", 15)])
    video, reading = study.lessons
    session = start(study, video)
    beat(study, session, 1, at=15, position=15)
    beat(study, session, 2, at=30, position=30, state="ended")
    assert PlanCourse.objects.get(pk=study.plan_course.pk).completed_at is None
    session = start(study, reading, at=T0 + timedelta(seconds=31))
    beat(study, session, 1, at=46, position=0)
    assert PlanCourse.objects.get(pk=study.plan_course.pk).completed_at is not None
    study.plan.refresh_from_db()
    assert study.plan.completed_at is None  # 3 of the year's 6 credits
    second = study_course(region=regions["420000"], lessons=[("reading", 15)])
    second_plan_course = enrol(study.learner, second)
    session = start(study, second.lessons.get(), at=T0 + timedelta(seconds=50))
    beat(study, session, 1, at=65, position=0)
    assert PlanCourse.objects.get(pk=second_plan_course.pk).completed_at is not None
    study.plan.refresh_from_db()
    assert study.plan.completed_at is not None


def test_a_later_year_cannot_be_studied_while_an_earlier_required_year_is_unfinished(regions):
    # Make-up from 2019 with sequencing: a learner qualified two years ago must finish last year
    # before earning anything in this one.
    this_year = timezone.localdate().year
    region_policy_save(actor=ACTOR, region=regions["420000"], effective_from=2018, makeup_from=2019)
    study = enrolment(district=regions["420102"])
    study.learner.qualification_year = this_year - 2
    study.learner.save(update_fields=["qualification_year"])
    with pytest.raises(StudyRefused) as refused:
        start(study)
    assert refused.value.code == "earlier_year_unfinished"
    assert refused.value.year == this_year - 1
    assert str(this_year - 1) in refused.value.message


def test_the_year_rules_are_checked_again_when_the_day_changes_and_can_stop_the_session(study):
    session = start(study)
    beat(study, session, 1, at=15, position=15)
    # Overnight the plan stopped being open for study (here: it waits for payment).
    study.plan.payment = YearPlan.Payment.PENDING
    study.plan.save(update_fields=["payment"])
    with session_held(session.pk):  # a change in the database, out of the buffer
        StudySession.objects.filter(pk=session.pk).update(rules={"allowed_on": "2000-01-01"})
    result = beat(study, session, 2, at=30, position=30)
    assert (result.verdict, result.credited_ms, result.stop) == ("blocked", 0, "blocked")
    assert result.stop_message
    session.refresh_from_db()
    assert session.state == StudySession.State.ENDED
    assert progress(study).verified_ms == 15_000


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=60),  # seconds since the previous heartbeat
            st.floats(min_value=-30, max_value=400),  # position change reported
            st.sampled_from(["playing", "playing", "paused", "ended"]),
            st.sampled_from([0.5, 1.0, 1.0, 1.25, 2.0, 16.0]),
            st.integers(min_value=-1, max_value=3),  # seq step (replays, gaps)
            st.sampled_from([0, 0, 0, 1]),  # 1: switch to the other lesson (a second tab)
        ),
        min_size=1,
        max_size=30,
    )
)
def test_no_heartbeat_sequence_earns_more_than_the_real_time_that_passed(study, steps):
    base = T0 + timedelta(days=len(StudySession.objects.all()))
    before = credited_ms(study)
    lessons = study.lessons
    current = 0
    session = start(study, lessons[current], at=base)
    clock, position, seq = 0.0, 0.0, 0
    for gap, moved, state, rate, seq_step, switch in steps:
        clock += gap
        if switch:
            current = 1 - current
            session = start(study, lessons[current], at=base + timedelta(seconds=clock))
            position, seq = 0.0, 0
        position = max(0.0, position + moved)
        seq += seq_step
        heartbeat_record(
            actor=ACTOR,
            learner=study.learner,
            session_id=session.pk,
            beat=HeartbeatIn(seq=max(seq, 0), position=position, state=state, rate=rate),
            now=base + timedelta(seconds=clock),
        )
    assert credited_ms(study) - before <= clock * 1000 + 1
    for lesson_progress in LessonProgress.objects.filter(learner=study.learner):
        assert lesson_progress.furthest_ms <= lesson_progress.lesson.duration_seconds * 1000


def test_completing_every_lesson_of_a_course_with_an_exam_leaves_it_to_the_exam(regions):
    region_policy_save(
        actor=ACTOR, region=regions["420000"], effective_from=2018, attention_check_minutes=0
    )
    study = enrolment(district=regions["420102"], lessons=[("reading", 15)], exam_required=True)
    session = start(study, study.lesson)
    beat(study, session, 1, at=16, position=0)
    chosen = PlanCourse.objects.get(pk=study.plan_course.pk)
    assert progress(study).completed_at is not None
    assert chosen.lessons_completed_at is not None
    assert chosen.completed_at is None  # the exam completes it
    assert not CourseCompletion.objects.exists()


def test_completing_every_lesson_of_a_course_without_an_exam_records_its_credits(regions):
    region_policy_save(
        actor=ACTOR, region=regions["420000"], effective_from=2018, attention_check_minutes=0
    )
    study = enrolment(district=regions["420102"], lessons=[("reading", 15)], class_hours=2)
    session = start(study, study.lesson)
    beat(study, session, 1, at=16, position=0)
    completion = CourseCompletion.objects.get(plan_course=study.plan_course)
    assert (completion.basis, completion.credits, completion.year) == (
        "lessons",
        6,
        study.plan.year,
    )
