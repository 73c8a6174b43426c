"""Verified study time: study sessions, heartbeats, attention checks and lesson completion.

The player reports every few seconds what it did (sequence number, position, state,
playback rate, page visible); nothing it says is believed on its own. The server credits
an interval only when it was played at an allowed rate, and never more than the server's
own clock says has passed since the last accepted heartbeat, nor more than the position
moved. One session per learner is active: starting another takes the first one over.
"""

from __future__ import annotations

import functools
import math
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core import signing
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cpe.catalog.models import Lesson
from cpe.core.services import Actor, audit_record
from cpe.learning.models import Heartbeat, LessonProgress, PlanCourse, StudySession, YearPlan
from cpe.learning.services import StudyRefused, plan_course_lessons_complete
from cpe.learning.years import blocker_message, study_allowed
from cpe.regions.policy import policy_for
from cpe.registry.models import Learner

# How far a reported position may run ahead of what the server's clock allows (network
# jitter between two heartbeats, the player's own timer), and how far past the furthest
# verified point playing may resume, before the report counts as a seek.
POSITION_TOLERANCE_MS = 1500
CLOCK_TOLERANCE = 1.02
# A long gap between heartbeats (network loss, a laptop asleep) credits at most this many
# heartbeat intervals: the server did not see the time in between.
GAP_INTERVALS = 2
MAX_POSITION_SECONDS = 10_000_000
MAX_RATE = 100
MAX_SEQ = 2**53

PLAYER_STATES = ("playing", "paused", "ended")


class Verdict:
    """What the server made of one heartbeat (kept on the row, shown to support)."""

    CREDITED = "credited"
    NO_PROGRESS = "no_progress"  # playing, but the position did not move
    PAUSED = "paused"
    HIDDEN = "hidden"  # reading with the page not visible
    RATE_TOO_HIGH = "rate_too_high"
    SEEK = "seek"  # the position moved further than real time allows
    BACKWARD = "backward"
    BEYOND_FURTHEST = "beyond_furthest"  # playing from past the furthest verified point
    ATTENTION_PENDING = "attention_pending"
    REPLAY = "replay"  # sequence number not above the last accepted one
    TAKEN_OVER = "taken_over"
    BLOCKED = "blocked"  # the year may not be studied now (e.g. the calendar year changed)
    ENDED = "ended"


VERDICT_LABELS = {
    Verdict.CREDITED: gettext_lazy("credited"),
    Verdict.NO_PROGRESS: gettext_lazy("playing, but the position did not move"),
    Verdict.PAUSED: gettext_lazy("paused"),
    Verdict.HIDDEN: gettext_lazy("page not visible"),
    Verdict.RATE_TOO_HIGH: gettext_lazy("playback faster than allowed"),
    Verdict.SEEK: gettext_lazy("the position moved further than the time allows (a seek)"),
    Verdict.BACKWARD: gettext_lazy("moved back"),
    Verdict.BEYOND_FURTHEST: gettext_lazy("playing beyond the furthest verified point"),
    Verdict.ATTENTION_PENDING: gettext_lazy("waiting for the attention check"),
    Verdict.REPLAY: gettext_lazy("repeated or out of order"),
    Verdict.TAKEN_OVER: gettext_lazy("another tab or device took over"),
    Verdict.ENDED: gettext_lazy("session ended"),
    Verdict.BLOCKED: gettext_lazy("the year may not be studied now"),
}


@dataclass(frozen=True)
class HeartbeatIn:
    """One report from the player. `state` says what the player did since its last report:
    "playing" (the media played), "paused" (it did not), "ended" (it played to the end)."""

    seq: int
    position: float  # seconds into the lesson
    state: str
    rate: float = 1.0
    visible: bool = True


@dataclass(frozen=True)
class HeartbeatResult:
    """The server's answer to one heartbeat: what it credited and where the lesson stands."""

    verdict: str
    credited_ms: int
    verified_ms: int
    furthest_ms: int
    completed: bool
    stop: str | None = None
    attention_question: str | None = None
    stop_message: str = ""
    # The session's state sealed for the player to echo with its next heartbeat (the
    # heartbeat buffer's; None when the database keeps the session).
    ticket: str | None = None


@dataclass(frozen=True)
class SessionStarted:
    session: StudySession
    progress: LessonProgress
    resume_ms: int
    rules: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rules:
    """The study rules a session runs under (a snapshot of the region's policy)."""

    heartbeat_seconds: int
    max_rate: Decimal
    attention_minutes: int
    completion_percent: int

    @classmethod
    def from_session(cls, session: StudySession) -> Rules:
        rules = session.rules or {}
        return cls(
            heartbeat_seconds=int(rules.get("heartbeat_seconds", 15)),
            max_rate=Decimal(str(rules.get("max_rate", "1"))),
            attention_minutes=int(rules.get("attention_minutes", 0)),
            completion_percent=int(rules.get("completion_percent", 95)),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "heartbeat_seconds": self.heartbeat_seconds,
            "max_rate": str(self.max_rate),
            "attention_minutes": self.attention_minutes,
            "completion_percent": self.completion_percent,
        }


STUDY_SALT = "cpe.learning.study-session"


def study_token(session_id: uuid.UUID) -> str:
    """The token a player sends with its heartbeats (header X-Study-Token): it names the
    session and is signed by the server, so it proves the session was started by its
    learner without a sign-in cookie or a CSRF token on the busiest call."""
    return signing.Signer(salt=STUDY_SALT).sign(str(session_id))


@functools.lru_cache(maxsize=65536)
def study_token_session(token: str) -> uuid.UUID | None:
    """The session a token names, or None for a token the server did not sign (a player
    sends the same token with every heartbeat, so checked tokens are remembered)."""
    try:
        return uuid.UUID(signing.Signer(salt=STUDY_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        return None


def learner_for_user(user: Any) -> Learner:
    """The learner record of a signed-in learner (403 for accounts that have none)."""
    learner = (
        Learner.objects.select_related("district").filter(user_id=getattr(user, "pk", None)).first()
    )
    if learner is None:
        raise StudyRefused("not_a_learner", _("Only a collected learner can study."), status=403)
    return learner


def _ms(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds() * 1000))


def _attention_due(now: datetime, minutes: int) -> datetime | None:
    # A random moment around every `minutes`, so the check cannot be timed in advance.
    if minutes <= 0:
        return None
    factor = secrets.SystemRandom().uniform(0.5, 1.5)
    return now + timedelta(minutes=minutes * factor)


def _attention_question() -> tuple[str, str]:
    first, second = secrets.randbelow(8) + 2, secrets.randbelow(8) + 2
    return f"{first} + {second}", str(first + second)


def resume_position_ms(progress: LessonProgress, lesson: Lesson) -> int:
    """Where the player starts: the last position, never past the furthest verified point;
    from the beginning again once the lesson was watched to its end."""
    if not lesson.is_video:
        return 0
    position = min(progress.position_ms, progress.furthest_ms)
    if position >= lesson.duration_seconds * 1000 - 1000:
        return 0
    return position


def plan_course_for_lesson(learner: Learner, lesson: Lesson) -> PlanCourse:
    """The learner's plan course that holds this lesson's course, or a 403 naming why not."""
    plan_course = (
        PlanCourse.objects.select_related("plan")
        .filter(learner=learner, course_id=lesson.course_id)
        .first()
    )
    if plan_course is None:
        raise StudyRefused(
            "not_in_plan",
            _("This lesson's course is not in any of your year plans. Add it to a plan first."),
            status=403,
        )
    return plan_course


def study_session_start(
    *,
    actor: Actor,
    learner: Learner,
    lesson_id: int,
    user_agent: str = "",
    now: datetime | None = None,
) -> SessionStarted:
    """Start playing a lesson: the learner's other active session, in any tab or device,
    is taken over and told so at its next heartbeat."""
    now = now or timezone.now()
    lesson = Lesson.objects.select_related("course").filter(pk=lesson_id).first()
    if lesson is None:
        raise StudyRefused("not_found", _("There is no such lesson."), status=404)
    plan_course = plan_course_for_lesson(learner, lesson)
    blocker = study_allowed(learner, plan_course.plan)
    if blocker is not None:
        raise StudyRefused(blocker.rule, blocker_message(blocker), status=403, year=blocker.year)
    policy = policy_for(learner.district, plan_course.plan.year)
    rules = Rules(
        heartbeat_seconds=policy.heartbeat_seconds,
        max_rate=Decimal(policy.max_playback_rate),
        attention_minutes=policy.attention_check_minutes if policy.attention_checks_on else 0,
        completion_percent=policy.lesson_completion_percent,
    )
    # The learner's playing session may be kept in the heartbeat buffer: it is written to the
    # database and held there while this one takes over.
    from cpe.learning.heartbeat_buffer import (  # builds on this module
        learner_sessions_held,
        session_buffer_put,
    )

    with learner_sessions_held(learner.pk), transaction.atomic():
        # One start at a time per learner, so two tabs starting at once cannot both win.
        Learner.objects.select_for_update().filter(pk=learner.pk).values_list("pk").first()
        StudySession.objects.filter(learner=learner, state=StudySession.State.ACTIVE).update(
            state=StudySession.State.TAKEN_OVER, ended_at=now
        )
        progress, _created = LessonProgress.objects.get_or_create(
            learner=learner, lesson=lesson, defaults={"plan_course": plan_course}
        )
        resume = resume_position_ms(progress, lesson)
        session = StudySession.objects.create(
            learner=learner,
            lesson=lesson,
            progress=progress,
            last_heartbeat_at=now,
            last_position_ms=resume,
            rules={**rules.as_json(), "allowed_on": timezone.localdate(now).isoformat()},
            attention_due_at=_attention_due(now, rules.attention_minutes),
            user_agent=user_agent[:200],
        )
    session_buffer_put(session)
    return SessionStarted(
        session=session, progress=progress, resume_ms=resume, rules=rules.as_json()
    )


def validate_heartbeat(beat: HeartbeatIn) -> None:
    errors: dict[str, list[str]] = {}
    if not isinstance(beat.seq, int) or isinstance(beat.seq, bool) or not 0 <= beat.seq < MAX_SEQ:
        errors["seq"] = [_("The sequence number must be a whole number from 0.")]
    if not isinstance(beat.position, int | float) or not (
        math.isfinite(beat.position) and 0 <= beat.position <= MAX_POSITION_SECONDS
    ):
        errors["position"] = [_("The position must be a number of seconds from 0.")]
    if not isinstance(beat.rate, int | float) or not (
        math.isfinite(beat.rate) and 0 < beat.rate <= MAX_RATE
    ):
        errors["rate"] = [_("The playback rate must be a positive number.")]
    if beat.state not in PLAYER_STATES:
        errors["state"] = [_("The state must be playing, paused or ended.")]
    if errors:
        raise StudyRefused(
            "invalid_heartbeat", _("This heartbeat is not valid."), status=422, fields=errors
        )


@dataclass
class StudyState:
    """What judging a heartbeat needs to know of its session and lesson progress, wherever
    it is kept (the database, or the heartbeat buffer in Redis)."""

    state: str
    last_seq: int
    last_at: datetime
    last_position_ms: int
    furthest_ms: int
    verified_ms: int
    completed: bool
    duration_ms: int
    is_video: bool
    rules: Rules
    attention_due_at: datetime | None
    attention_asked: bool
    allowed_on: str

    @classmethod
    def of(cls, session: StudySession) -> StudyState:
        progress, lesson = session.progress, session.lesson
        return cls(
            state=session.state,
            last_seq=session.last_seq,
            last_at=session.last_heartbeat_at or session.started_at,
            last_position_ms=session.last_position_ms,
            furthest_ms=progress.furthest_ms,
            verified_ms=progress.verified_ms,
            completed=progress.completed_at is not None,
            duration_ms=lesson.duration_seconds * 1000,
            is_video=lesson.is_video,
            rules=Rules.from_session(session),
            attention_due_at=session.attention_due_at,
            attention_asked=session.attention_asked_at is not None,
            allowed_on=str((session.rules or {}).get("allowed_on", "")),
        )


@dataclass(frozen=True)
class Judgement:
    """What one heartbeat earns: the verdict, the credited time, the new furthest point, and
    whether an attention check falls due with it."""

    verdict: str
    credited_ms: int
    furthest_ms: int
    ask_attention: bool = False


def heartbeat_judge(state: StudyState, beat: HeartbeatIn, now: datetime) -> Judgement:
    """The study-time rule, in one place for every way a heartbeat is kept."""
    if state.state != StudySession.State.ACTIVE:
        verdict = (
            Verdict.TAKEN_OVER if state.state == StudySession.State.TAKEN_OVER else Verdict.ENDED
        )
        return Judgement(verdict, 0, state.furthest_ms)
    if beat.seq <= state.last_seq:
        return Judgement(Verdict.REPLAY, 0, state.furthest_ms)
    rules = state.rules
    real_elapsed_ms = _ms(now - state.last_at)
    creditable_ms = min(real_elapsed_ms, GAP_INTERVALS * rules.heartbeat_seconds * 1000)
    ask_now = False
    due = state.attention_due_at
    if not state.attention_asked and due is not None and now >= due:
        # Time up to the check counts; from then on nothing until it is answered.
        creditable_ms = min(creditable_ms, _ms(due - state.last_at))
        ask_now = True
    if state.attention_asked:
        return Judgement(Verdict.ATTENTION_PENDING, 0, state.furthest_ms)
    if state.is_video:
        verdict, credited, furthest = _video_credit(
            beat=beat,
            rules=rules,
            start=state.last_position_ms,
            furthest=state.furthest_ms,
            duration_ms=state.duration_ms,
            real_elapsed_ms=real_elapsed_ms,
            creditable_ms=creditable_ms,
        )
        return Judgement(verdict, credited, furthest, ask_now)
    verdict, credited = _reading_credit(beat=beat, creditable_ms=creditable_ms)
    return Judgement(verdict, credited, state.furthest_ms, ask_now)


def _video_credit(
    *,
    beat: HeartbeatIn,
    rules: Rules,
    start: int,
    furthest: int,
    duration_ms: int,
    real_elapsed_ms: int,
    creditable_ms: int,
) -> tuple[str, int, int]:
    """(verdict, credited ms, new furthest ms) for one video heartbeat that began at `start`."""
    reported = round(beat.position * 1000)
    end = min(reported, duration_ms)
    advanced = end - start
    if beat.state == "paused":
        return Verdict.PAUSED, 0, furthest
    if Decimal(str(beat.rate)) > rules.max_rate:
        return Verdict.RATE_TOO_HIGH, 0, furthest
    if advanced < 0:
        return Verdict.BACKWARD, 0, furthest
    if start > furthest + POSITION_TOLERANCE_MS:
        return Verdict.BEYOND_FURTHEST, 0, furthest
    allowed = real_elapsed_ms * float(rules.max_rate) * CLOCK_TOLERANCE + POSITION_TOLERANCE_MS
    if reported - start > allowed:  # a position past the end is judged as reported
        return Verdict.SEEK, 0, furthest
    credit = max(0, min(advanced, creditable_ms, duration_ms - start))
    return (Verdict.CREDITED if credit else Verdict.NO_PROGRESS), credit, max(furthest, end)


def _reading_credit(*, beat: HeartbeatIn, creditable_ms: int) -> tuple[str, int]:
    if not beat.visible:
        return Verdict.HIDDEN, 0
    if beat.state != "playing":
        return Verdict.PAUSED, 0
    return Verdict.CREDITED, creditable_ms


def completion_reached(
    *, verified_ms: int, furthest_ms: int, duration_ms: int, is_video: bool, percent: int
) -> bool:
    """A video: verified time and verified reach both at the region's share of its length.
    Reading: its whole minimum time, with the page visible."""
    if not is_video:
        return verified_ms >= duration_ms
    needed = duration_ms * percent // 100
    return verified_ms >= needed and furthest_ms >= needed


def lesson_is_complete(progress: LessonProgress, lesson: Lesson, completion_percent: int) -> bool:
    return completion_reached(
        verified_ms=progress.verified_ms,
        furthest_ms=progress.furthest_ms,
        duration_ms=lesson.duration_seconds * 1000,
        is_video=lesson.is_video,
        percent=completion_percent,
    )


def _complete_lesson(
    *, actor: Actor, progress: LessonProgress, lesson: Lesson, now: datetime
) -> None:
    progress.completed_at = now
    audit_record(
        actor=actor,
        action="lesson.complete",
        target=lesson,
        after={"learner": progress.learner_id, "verified_seconds": progress.verified_ms // 1000},
    )
    plan_course = PlanCourse.objects.select_related("plan").get(pk=progress.plan_course_id)
    lessons = Lesson.objects.filter(course_id=lesson.course_id).count()
    done = (
        LessonProgress.objects.filter(plan_course=plan_course, completed_at__isnull=False)
        .exclude(pk=progress.pk)
        .count()
        + 1
    )
    if done < lessons or plan_course.lessons_completed_at is not None:
        return
    # Completes the course too when it has no exam (cpe.learning.services).
    plan_course_lessons_complete(actor=actor, plan_course=plan_course, now=now)


def heartbeat_record(
    *,
    actor: Actor,
    learner: Learner | None = None,
    user_id: int | None = None,
    session_id: Any,
    beat: HeartbeatIn,
    now: datetime | None = None,
) -> HeartbeatResult:
    """Record one heartbeat and credit what the server can verify of it.

    The session must be the learner's: pass the learner, or the signed-in user's id (the
    API does, saving a query on the busiest call). Bad input (malformed values, a session
    that is not the learner's) is refused with nothing changed. Every other heartbeat is
    kept with its verdict, so support can answer "my video doesn't count".
    """
    validate_heartbeat(beat)
    if (learner is None) == (user_id is None):
        raise TypeError("heartbeat_record needs a learner or a user_id, not both")
    try:
        session_uuid = session_id if isinstance(session_id, uuid.UUID) else uuid.UUID(session_id)
    except (TypeError, ValueError, AttributeError):
        raise StudyRefused("not_found", _("There is no such study session."), status=404) from None
    now = now or timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Heartbeats are most of the platform's writes in the busy season, so they do
            # not wait for the disk: a crash of PostgreSQL can lose the heartbeats of its
            # last moment (at most 3 x wal_writer_delay, 0.6 s by default), less than one
            # heartbeat interval; the next heartbeat credits from the last kept one.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
            session = _session_locked(session_uuid, learner, user_id)
        else:
            owner = {"learner": learner} if learner is not None else {"learner__user_id": user_id}
            session = (
                StudySession.objects.select_for_update(of=("self",))
                .select_related("progress", "lesson")
                .filter(pk=session_uuid, **owner)
                .first()
            )
        if session is None:
            raise StudyRefused("not_found", _("There is no such study session."), status=404)
        return _heartbeat_apply(actor=actor, session=session, beat=beat, now=now)


# --- The heartbeat's reads and writes in plain SQL: they run for every heartbeat of every
# learner, and building these statements through the ORM cost more than running them.


def _columns(model: type[models.Model], skip: tuple[str, ...] = ()) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if f.name not in skip]


_SESSION_FIELDS = _columns(StudySession)
_PROGRESS_FIELDS = _columns(LessonProgress)
# The reading text can be long and is not needed to judge a heartbeat (loaded if asked).
_LESSON_FIELDS = _columns(Lesson, skip=("reading_text",))


def _select_list(alias: str, fields: list[models.Field]) -> str:
    return ", ".join(f'{alias}."{field.column}"' for field in fields)


def _from_row(model: type[models.Model], fields: list[models.Field], values: tuple) -> Any:
    converted = [
        field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
        for field, value in zip(fields, values, strict=True)
    ]
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


@functools.cache
def _session_locked_sql(*, by_user: bool) -> str:
    owner = "r.user_id = %s" if by_user else "s.learner_id = %s"
    columns = ", ".join(
        [
            _select_list("s", _SESSION_FIELDS),
            _select_list("p", _PROGRESS_FIELDS),
            _select_list("l", _LESSON_FIELDS),
        ]
    )
    sql = (
        f"SELECT {columns} "  # noqa: S608 (names from the models, values as parameters)
        f"FROM {StudySession._meta.db_table} s "
        f"JOIN {LessonProgress._meta.db_table} p ON p.id = s.progress_id "
        f"JOIN {Lesson._meta.db_table} l ON l.id = s.lesson_id "
        f"JOIN {Learner._meta.db_table} r ON r.id = s.learner_id "
        f"WHERE s.id = %s AND {owner} FOR UPDATE OF s"
    )
    return sql


def _session_locked(
    session_id: uuid.UUID, learner: Learner | None, user_id: int | None
) -> StudySession | None:
    """The session with its progress and lesson, locked for this heartbeat (PostgreSQL)."""
    sql = _session_locked_sql(by_user=learner is None)
    with connection.cursor() as cursor:
        cursor.execute(sql, [session_id, learner.pk if learner is not None else user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    first, second = len(_SESSION_FIELDS), len(_SESSION_FIELDS) + len(_PROGRESS_FIELDS)
    session = _from_row(StudySession, _SESSION_FIELDS, row[:first])
    session.progress = _from_row(LessonProgress, _PROGRESS_FIELDS, row[first:second])
    session.lesson = _from_row(Lesson, _LESSON_FIELDS, row[second:])
    return session


@functools.cache
def _update_sql(model: type[models.Model], field_names: tuple[str, ...]) -> str:
    meta = model._meta
    columns = [meta.get_field(name).column for name in field_names]
    assignments = ", ".join(f'"{column}" = %s' for column in columns)
    # Names come from the models, values go as parameters.
    return f'UPDATE {meta.db_table} SET {assignments} WHERE "{meta.pk.column}" = %s'  # noqa: S608


def _update(instance: models.Model, field_names: list[str]) -> None:
    """UPDATE these fields of this row, as save(update_fields=...) would, without signals."""
    meta = instance._meta
    params = [
        field.get_db_prep_save(getattr(instance, field.attname), connection)
        for field in (meta.get_field(name) for name in field_names)
    ]
    params.append(meta.pk.get_db_prep_value(instance.pk, connection))
    with connection.cursor() as cursor:
        cursor.execute(_update_sql(type(instance), tuple(field_names)), params)


@functools.cache
def _insert_sql(model: type[models.Model]) -> str:
    columns = ", ".join(f'"{field.column}"' for field in _columns(model, skip=("id",)))
    values = ", ".join(["%s"] * len(_columns(model, skip=("id",))))
    return f"INSERT INTO {model._meta.db_table} ({columns}) VALUES ({values})"  # noqa: S608


def _insert(instance: models.Model) -> None:
    """INSERT a row whose id the database chooses, without reading the id back."""
    params = [
        field.get_db_prep_save(field.pre_save(instance, True), connection)
        for field in _columns(type(instance), skip=("id",))
    ]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(type(instance)), params)


def _heartbeat_apply(
    *, actor: Actor, session: StudySession, beat: HeartbeatIn, now: datetime
) -> HeartbeatResult:
    progress = session.progress
    lesson = session.lesson
    position_ms = round(beat.position * 1000)
    judged = heartbeat_judge(StudyState.of(session), beat, now)

    def keep(verdict: str, credited: int = 0) -> None:
        _insert(
            Heartbeat(
                session=session,
                received_at=now,
                seq=beat.seq,
                position_ms=position_ms,
                state=beat.state,
                rate=Decimal(str(beat.rate)).quantize(Decimal("0.01")),
                credited_ms=credited,
                verdict=verdict,
            )
        )

    def answer(verdict: str, credited: int = 0, **extra: Any) -> HeartbeatResult:
        return HeartbeatResult(
            verdict,
            credited,
            verified_ms=progress.verified_ms,
            furthest_ms=progress.furthest_ms,
            completed=progress.completed_at is not None,
            **extra,
        )

    if judged.verdict in (Verdict.TAKEN_OVER, Verdict.ENDED):
        keep(judged.verdict)
        return answer(judged.verdict, stop=session.state)
    if judged.verdict == Verdict.REPLAY:
        keep(Verdict.REPLAY)
        return answer(Verdict.REPLAY)
    verdict, credited, furthest = judged.verdict, judged.credited_ms, judged.furthest_ms
    duration_ms = lesson.duration_seconds * 1000

    session_fields = ["last_seq", "last_heartbeat_at", "last_position_ms"]
    blocked = ""
    today = timezone.localdate(now).isoformat()
    if credited and session.rules.get("allowed_on") != today:
        # The year rules were checked when the session started; they change only with the
        # calendar (a year that stops being current), so they are checked again once a day.
        plan = YearPlan.objects.select_related("learner__district").get(
            plan_courses__pk=progress.plan_course_id
        )
        blocker = study_allowed(plan.learner, plan, today=timezone.localdate(now))
        if blocker is None:
            session.rules = {**session.rules, "allowed_on": today}
            session_fields.append("rules")
        else:
            verdict, credited, furthest = Verdict.BLOCKED, 0, progress.furthest_ms
            blocked = blocker_message(blocker)
            session.state = StudySession.State.ENDED
            session.ended_at = now
            session_fields += ["state", "ended_at"]
    session.last_seq = beat.seq
    session.last_heartbeat_at = now
    if lesson.is_video:
        session.last_position_ms = max(0, min(position_ms, duration_ms))
    if judged.ask_attention:
        question, expected = _attention_question()
        session.attention_asked_at = now
        session.attention_question = question
        session.attention_answer = expected
        session_fields += ["attention_asked_at", "attention_question", "attention_answer"]
    _update(session, session_fields)

    progress.verified_ms += credited
    progress.furthest_ms = furthest if lesson.is_video else progress.verified_ms
    progress.position_ms = session.last_position_ms
    if progress.completed_at is None and lesson_is_complete(
        progress, lesson, Rules.from_session(session).completion_percent
    ):
        _complete_lesson(actor=actor, progress=progress, lesson=lesson, now=now)
    progress.updated_at = now
    _update(progress, ["verified_ms", "furthest_ms", "position_ms", "completed_at", "updated_at"])
    keep(verdict, credited)
    if blocked:
        return answer(verdict, 0, stop=Verdict.BLOCKED, stop_message=blocked)
    question = session.attention_question if session.attention_asked_at else None
    return answer(verdict, credited, attention_question=question)


def stop_message(reason: str) -> str:
    if reason == StudySession.State.TAKEN_OVER:
        return _(
            "This lesson is now playing in another tab or on another device, so it stopped here."
        )
    return _("This study session has ended. Start the lesson again to go on.")


def heartbeat_answer(result: HeartbeatResult) -> dict[str, Any]:
    """The heartbeat's answer as the API sends it (the ninja endpoint and the fast path)."""
    return {
        "verdict": result.verdict,
        "credited_seconds": result.credited_ms / 1000,
        "verified_seconds": result.verified_ms / 1000,
        "furthest": result.furthest_ms / 1000,
        "completed": result.completed,
        "stop": {"reason": result.stop, "message": result.stop_message or stop_message(result.stop)}
        if result.stop
        else None,
        "attention": {"question": result.attention_question} if result.attention_question else None,
        "ticket": result.ticket,
    }


def attention_answer(
    *, actor: Actor, learner: Learner, session_id: Any, answer: str, now: datetime | None = None
) -> StudySession:
    """Answer the attention check: playing may go on, and the time it waited is not credited."""
    from cpe.learning.heartbeat_buffer import session_held  # builds on this module

    now = now or timezone.now()
    with session_held(session_id), transaction.atomic():
        session = (
            StudySession.objects.select_for_update().filter(pk=session_id, learner=learner).first()
        )
        if session is None:
            raise StudyRefused("not_found", _("There is no such study session."), status=404)
        if session.state != StudySession.State.ACTIVE:
            raise StudyRefused(
                "not_active", _("This session was stopped; start the lesson again."), status=409
            )
        if session.attention_asked_at is None:
            raise StudyRefused(
                "no_question", _("No attention check is waiting for an answer."), status=409
            )
        if answer.strip() != session.attention_answer:
            raise StudyRefused(
                "wrong_answer",
                _("That is not the answer. Please try again."),
                fields={"answer": [_("That is not the answer.")]},
            )
        rules = Rules.from_session(session)
        session.attention_asked_at = None
        session.attention_question = ""
        session.attention_answer = ""
        session.attention_due_at = _attention_due(now, rules.attention_minutes)
        # Credit starts again from the answer: the wait is not study time.
        session.last_heartbeat_at = now
        session.save(
            update_fields=[
                "attention_asked_at",
                "attention_question",
                "attention_answer",
                "attention_due_at",
                "last_heartbeat_at",
            ]
        )
    return session
