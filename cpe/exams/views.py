"""The learner's exam pages: the exam panel on a course's page, starting an attempt, the
paper (autosaved by exams.js through the API; a plain form without JavaScript), the result
with its review, and the attempt history."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpe.core.capabilities import Capability
from cpe.core.permissions import capability_required
from cpe.core.services import Actor
from cpe.exams.models import Attempt
from cpe.exams.selectors import (
    attempt_for_learner,
    attempt_history,
    attempt_paper,
    attempt_result,
    exam_status,
    plan_course_for_learner,
)
from cpe.exams.services import (
    ExamRefused,
    attempt_answer_save,
    attempt_close_expired,
    attempt_start,
    attempt_submit,
)
from cpe.learning.models import PlanCourse
from cpe.learning.study import StudyRefused, learner_for_user
from cpe.registry.models import Learner

learner_page = capability_required(Capability.STUDY, login_url_name="registry:signin")


def _learner(request: HttpRequest) -> Learner:
    try:
        return learner_for_user(request.user)
    except StudyRefused as refused:
        raise Http404 from refused


def _attempt(request: HttpRequest, attempt_id: Any) -> tuple[Learner, Attempt]:
    learner = _learner(request)
    attempt = attempt_for_learner(learner, attempt_id)
    if attempt is None:
        raise Http404
    return learner, attempt


def exam_panel(request: HttpRequest, plan_course: PlanCourse) -> SafeString | str:
    """The exam block of a course's page (registered with cpe.learning.panels)."""
    if not plan_course.course.exam_required:
        return ""
    status = exam_status(plan_course)
    history = list(attempt_history(plan_course.learner, plan_course=plan_course)[:5])
    return render_to_string(
        "exams/includes/exam_panel.html",
        {"status": status, "history": history, "plan_course": plan_course},
        request=request,
    )


def _answers_from_form(request: HttpRequest) -> dict[int, list[str]]:
    """The form's answers: every question shown (listed in "positions") gets its ticked
    options, so unticking every box of a question clears it."""
    answers: dict[int, list[str]] = {}
    for value in request.POST.getlist("positions"):
        if value.isdigit():
            position = int(value)
            answers[position] = request.POST.getlist(f"q{position}")
    return answers


@require_POST
@learner_page
def exam_start(request: HttpRequest, year: int, code: str) -> HttpResponse:
    learner = _learner(request)
    plan_course = plan_course_for_learner(learner, year=year, code=code)
    if plan_course is None:
        raise Http404
    try:
        attempt = attempt_start(
            actor=Actor.from_request(request),
            learner=learner,
            plan_course=plan_course,
            user_agent=request.headers.get("User-Agent", ""),
        )
    except ExamRefused as refused:
        messages.error(request, refused.message)
        return redirect("learning:plan_course", year=year, code=code)
    return redirect("exams:attempt", attempt_id=attempt.pk)


@learner_page
def attempt_page(request: HttpRequest, attempt_id: Any) -> HttpResponse:
    """The paper of an open attempt. A closed one shows its result; one whose time ran out
    is graded now on what was saved (as the periodic job would a moment later)."""
    _learner_record, attempt = _attempt(request, attempt_id)
    if attempt.is_open and attempt.deadline_at < timezone.now():
        attempt_close_expired(attempt=attempt)
        messages.error(
            request, _("The time ran out. The attempt was graded on the answers saved by then.")
        )
        attempt.refresh_from_db()
    if not attempt.is_open:
        return redirect("exams:result", attempt_id=attempt.pk)
    paper = attempt_paper(attempt)
    return render(
        request,
        "exams/attempt.html",
        {
            "attempt": attempt,
            "paper": paper,
            "course": attempt.course,
            "year": attempt.year,
            "api_base": "/api/v1/learner",
            "texts": {
                "saving": _("Saving…"),
                "saved": _("Saved at %(time)s"),
                "not_saved": _("Not saved"),
                "offline": _("Not saved: no connection. Choose again when you are back online."),
                "confirm": _("%(count)s questions are not answered. Submit the exam anyway?"),
                "time_up": _("The time is up. Submitting your answers…"),
            },
        },
    )


@require_POST
@learner_page
def attempt_save(request: HttpRequest, attempt_id: Any) -> HttpResponse:
    """Save every answer of the form (the page without JavaScript)."""
    learner, attempt = _attempt(request, attempt_id)
    try:
        attempt_answer_save(
            actor=Actor.from_request(request),
            learner=learner,
            attempt_id=attempt.pk,
            answers=_answers_from_form(request),
        )
    except ExamRefused as refused:
        messages.error(request, refused.message)
        if refused.code in ("deadline_passed", "attempt_closed"):
            return redirect("exams:result", attempt_id=attempt.pk)
    else:
        messages.success(request, _("Your answers are saved."))
    return redirect("exams:attempt", attempt_id=attempt.pk)


@require_POST
@learner_page
def attempt_submit_view(request: HttpRequest, attempt_id: Any) -> HttpResponse:
    learner, attempt = _attempt(request, attempt_id)
    try:
        attempt_submit(
            actor=Actor.from_request(request),
            learner=learner,
            attempt_id=attempt.pk,
            answers=_answers_from_form(request),
        )
    except ExamRefused as refused:
        messages.error(request, refused.message)
        if refused.code not in ("deadline_passed", "attempt_closed"):
            return redirect("exams:attempt", attempt_id=attempt.pk)
    return redirect("exams:result", attempt_id=attempt.pk)


@learner_page
def result(request: HttpRequest, attempt_id: Any) -> HttpResponse:
    _learner_record, attempt = _attempt(request, attempt_id)
    if attempt.is_open:
        return redirect("exams:attempt", attempt_id=attempt.pk)
    plan_course = (
        PlanCourse.objects.select_related("plan__learner__district", "course__region", "learner")
        .filter(pk=attempt.plan_course_id)
        .first()
    )
    return render(
        request,
        "exams/result.html",
        {
            "attempt": attempt,
            "outcome": attempt_result(attempt),
            "status": exam_status(plan_course) if plan_course else None,
            "course": attempt.course,
            "year": attempt.year,
        },
    )


@learner_page
def history(request: HttpRequest) -> HttpResponse:
    learner = _learner(request)
    return render(request, "exams/history.html", {"attempts": list(attempt_history(learner)[:200])})
