"""The learner's study calls: start a lesson, heartbeats, the attention check, progress.

The same services as the player page (cpe.learning.study); a mobile app plays a lesson
with exactly these calls: start a session, then send a heartbeat every
`heartbeat_seconds` and follow the `stop` and `attention` answers.
"""

from typing import Literal
from uuid import UUID

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.security import APIKeyHeader

from cpe.api.auth import require, session_auth
from cpe.api.errors import error_body
from cpe.core.capabilities import Capability
from cpe.core.services import Actor, client_ip
from cpe.learning.heartbeat_buffer import heartbeat_accept
from cpe.learning.selectors import plan_courses_with_progress
from cpe.learning.study import (
    HeartbeatIn,
    StudyRefused,
    attention_answer,
    heartbeat_answer,
    learner_for_user,
    study_session_start,
    study_token,
    study_token_session,
)

router = Router(tags=["study"], auth=session_auth)


class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]
    year: int | None = Field(None, description="For a blocked year: the year to finish first")


class SessionOut(Schema):
    session: UUID = Field(description="The session to send heartbeats to")
    token: str = Field(
        description="Send it as the X-Study-Token header of each heartbeat: it proves the "
        "session is yours, so heartbeats need no sign-in cookie or CSRF token"
    )
    lesson_id: int
    kind: Literal["video", "reading"]
    duration_seconds: int
    position: float = Field(description="Where to start playing, in seconds")
    furthest: float = Field(description="Seeking beyond this point (seconds) is not allowed")
    verified_seconds: float
    completed: bool
    heartbeat_seconds: int
    max_rate: float
    completion_percent: int
    media_url: str | None = Field(None, description="The video or PDF (Range requests work)")


class HeartbeatBody(Schema):
    seq: int = Field(description="Increases with each heartbeat of the session")
    position: float = Field(description="Seconds into the video (0 for reading)")
    state: Literal["playing", "paused", "ended"] = Field(
        description="What the player did since its last heartbeat"
    )
    rate: float = 1.0
    visible: bool = Field(True, description="Whether the page is visible (reading)")
    ticket: str | None = Field(
        None,
        description="The ticket of this session's previous answer, sent back unchanged "
        "(optional; it saves the server a read)",
    )


class StopOut(Schema):
    reason: str
    message: str


class AttentionOut(Schema):
    question: str


class HeartbeatOut(Schema):
    verdict: str
    credited_seconds: float
    verified_seconds: float
    furthest: float
    completed: bool
    stop: StopOut | None
    attention: AttentionOut | None
    ticket: str | None = Field(
        None, description="Send it back with the next heartbeat of this session (opaque)"
    )


class AttentionIn(Schema):
    answer: str = Field(max_length=16)


class AttentionResumed(Schema):
    status: Literal["resumed"] = "resumed"


class LessonProgressOut(Schema):
    id: int
    title: str
    kind: str
    duration_seconds: int
    verified_seconds: int
    furthest: int
    completed: bool


class CourseProgressOut(Schema):
    year: int
    code: str
    title: str
    category: str
    credits: float
    completed: bool
    lessons: list[LessonProgressOut]


class ProgressOut(Schema):
    courses: list[CourseProgressOut]


REFUSALS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _refused(refused: StudyRefused) -> Status:
    return Status(
        refused.status,
        {**error_body(refused.code, refused.message, refused.fields), "year": refused.year},
    )


@router.post("/lessons/{lesson_id}/sessions", response={200: SessionOut, **REFUSALS})
def session_start(request: HttpRequest, lesson_id: int) -> object:
    """Start playing a lesson of a course in one of your plans. A session playing in another
    tab or device stops (its next heartbeat is told why)."""
    require(request, Capability.STUDY)
    try:
        learner = learner_for_user(request.auth)
        started = study_session_start(
            actor=Actor.from_request(request),
            learner=learner,
            lesson_id=lesson_id,
            user_agent=request.headers.get("User-Agent", ""),
        )
    except StudyRefused as refused:
        return _refused(refused)
    lesson = started.session.lesson
    has_media = bool(lesson.video if lesson.is_video else lesson.reading_file)
    return {
        "session": started.session.pk,
        "token": study_token(started.session.pk),
        "lesson_id": lesson.pk,
        "kind": lesson.kind,
        "duration_seconds": lesson.duration_seconds,
        "position": started.resume_ms / 1000,
        "furthest": started.progress.furthest_ms / 1000,
        "verified_seconds": started.progress.verified_ms / 1000,
        "completed": started.progress.completed_at is not None,
        "heartbeat_seconds": started.rules["heartbeat_seconds"],
        "max_rate": float(started.rules["max_rate"]),
        "completion_percent": started.rules["completion_percent"],
        "media_url": reverse("learning:lesson_media", args=[lesson.pk]) if has_media else None,
    }


class StudyTokenAuth(APIKeyHeader):
    """The study session's token (from starting the session), as the X-Study-Token header."""

    param_name = "X-Study-Token"

    def authenticate(self, request: HttpRequest, key: str | None) -> UUID | None:
        return study_token_session(key) if key else None


@router.post(
    "/sessions/{session_id}/heartbeats",
    response={200: HeartbeatOut, **REFUSALS},
    auth=[StudyTokenAuth(), session_auth],
)
def heartbeat(request: HttpRequest, session_id: UUID, payload: HeartbeatBody) -> object:
    """Report what the player did; the server answers what it credited, and whether to stop
    (`stop.reason`: taken_over, ended, blocked) or to pause for an attention check.

    Send the session's token as X-Study-Token (the production server answers these before
    anything else), or call it signed in with the CSRF token like the other calls."""
    beat = HeartbeatIn(
        seq=payload.seq,
        position=payload.position,
        state=payload.state,
        rate=payload.rate,
        visible=payload.visible,
    )
    try:
        if isinstance(request.auth, UUID):
            if request.auth != session_id:
                raise StudyRefused(
                    "bad_token", _("This study session's token is not valid."), status=403
                )
            result = heartbeat_accept(
                actor=Actor(ip=client_ip(request)),
                session_id=session_id,
                beat=beat,
                ticket=payload.ticket,
            )
        else:
            require(request, Capability.STUDY)
            result = heartbeat_accept(
                actor=Actor.from_request(request),
                user_id=request.auth.pk,
                session_id=session_id,
                beat=beat,
                ticket=payload.ticket,
            )
    except StudyRefused as refused:
        return _refused(refused)
    return heartbeat_answer(result)


@router.post("/sessions/{session_id}/attention", response={200: AttentionResumed, **REFUSALS})
def attention(request: HttpRequest, session_id: UUID, payload: AttentionIn) -> object:
    """Answer the attention check; playing may go on (the time it waited is not credited)."""
    require(request, Capability.STUDY)
    try:
        learner = learner_for_user(request.auth)
        attention_answer(
            actor=Actor.from_request(request),
            learner=learner,
            session_id=session_id,
            answer=payload.answer,
        )
    except StudyRefused as refused:
        return _refused(refused)
    return {"status": "resumed"}


@router.get("/progress", response={200: ProgressOut, **REFUSALS})
def progress(request: HttpRequest, year: int | None = None) -> object:
    """Your chosen courses with each lesson's verified progress (optionally for one year)."""
    require(request, Capability.STUDY)
    try:
        learner = learner_for_user(request.auth)
    except StudyRefused as refused:
        return _refused(refused)
    courses = plan_courses_with_progress(learner=learner, year=year)
    return {
        "courses": [
            {
                "year": state.plan_course.plan.year,
                "code": state.plan_course.course.code,
                "title": state.plan_course.course.title,
                "category": state.plan_course.category,
                "credits": float(state.plan_course.credits),
                "completed": state.plan_course.completed_at is not None,
                "lessons": [
                    {
                        "id": lesson.lesson.pk,
                        "title": lesson.lesson.title,
                        "kind": lesson.lesson.kind,
                        "duration_seconds": lesson.lesson.duration_seconds,
                        "verified_seconds": lesson.verified_seconds,
                        "furthest": lesson.furthest_seconds,
                        "completed": lesson.completed,
                    }
                    for lesson in state.lessons
                ],
            }
            for state in courses
        ]
    }
