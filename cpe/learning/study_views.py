"""Study pages: a course in a plan, the player, the lesson's file, study history, and the
staff page that shows a learner's verified progress with the heartbeat record."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from cpe.catalog.media import serve_course_file
from cpe.core.capabilities import Capability
from cpe.core.permissions import capability_required
from cpe.learning.panels import course_panels, staff_study_panels
from cpe.learning.selectors import (
    lesson_for_learner,
    plan_courses_with_progress,
    sessions_with_heartbeats,
    study_history,
)
from cpe.learning.study import StudyRefused, learner_for_user, plan_course_for_lesson
from cpe.learning.years import blocker_message, study_allowed
from cpe.public.markdown import render_markdown
from cpe.registry.models import Learner
from cpe.registry.selectors import learner_for_staff

learner_page = capability_required(Capability.STUDY, login_url_name="registry:signin")


def _learner(request: HttpRequest) -> Learner:
    try:
        return learner_for_user(request.user)
    except StudyRefused as refused:
        raise Http404 from refused


@learner_page
def plan_course(request: HttpRequest, year: int, code: str) -> HttpResponse:
    learner = _learner(request)
    states = plan_courses_with_progress(learner=learner, year=year, course_code=code)
    if not states:
        raise Http404
    state = states[0]
    blocker = study_allowed(learner, state.plan_course.plan)
    return render(
        request,
        "learning/plan_course.html",
        {
            "state": state,
            "course": state.plan_course.course,
            "year": year,
            "blocked": blocker_message(blocker) if blocker else "",
            "panels": course_panels(request, state.plan_course),
        },
    )


@learner_page
def lesson_play(request: HttpRequest, lesson_id: int) -> HttpResponse:
    learner = _learner(request)
    lesson = lesson_for_learner(learner=learner, lesson_id=lesson_id)
    if lesson is None:
        raise Http404
    plan_course_row = plan_course_for_lesson(learner, lesson)
    blocker = study_allowed(learner, plan_course_row.plan)
    lessons = list(lesson.course.lessons.order_by("position", "id"))
    index = next(i for i, item in enumerate(lessons) if item.pk == lesson.pk)
    following = lessons[index + 1] if index + 1 < len(lessons) else None
    return render(
        request,
        "learning/lesson_play.html",
        {
            "lesson": lesson,
            "course": lesson.course,
            "year": plan_course_row.plan.year,
            "blocked": blocker_message(blocker) if blocker else "",
            "next_lesson": following,
            "reading_html": mark_safe(render_markdown(lesson.reading_text))  # noqa: S308 (sanitised)
            if lesson.reading_text
            else "",
            "media_url": reverse("learning:lesson_media", args=[lesson.pk]),
            "api_base": "/api/v1/learner",
            "texts": {
                "verified": _("Verified study time: %(verified)s of %(length)s"),
                "seek_refused": _(
                    "You can go back, or forward only as far as you have already watched."
                ),
                "offline": _("The connection was lost; your time counts again once it is back."),
            },
        },
    )


@learner_page
def lesson_media(request: HttpRequest, lesson_id: int) -> HttpResponse:
    """The lesson's video or PDF, for a learner who has its course in a plan (404 otherwise)."""
    learner = _learner(request)
    lesson = lesson_for_learner(learner=learner, lesson_id=lesson_id)
    if lesson is None:
        raise Http404
    field_file = lesson.video if lesson.is_video else lesson.reading_file
    if not field_file:
        raise Http404
    response = serve_course_file(request, field_file)
    response["Cache-Control"] = "private, max-age=3600"
    return response


@learner_page
def history(request: HttpRequest) -> HttpResponse:
    learner = _learner(request)
    return render(
        request,
        "learning/history.html",
        {"sessions": study_history(learner=learner)[:200]},
    )


@capability_required(Capability.STUDY_PROGRESS_VIEW)
def staff_learner_study(request: HttpRequest, learner_id: int) -> HttpResponse:
    """A learner's progress per lesson and the heartbeat record with the server's verdicts,
    to answer "my video doesn't count"; only within the caller's region."""
    learner = learner_for_staff(user=request.user, learner_id=learner_id)
    return render(
        request,
        "learning/staff_learner_study.html",
        {
            "learner": learner,
            "courses": plan_courses_with_progress(learner=learner),
            "sessions": sessions_with_heartbeats(learner=learner),
            "panels": staff_study_panels(request, learner),
        },
    )
