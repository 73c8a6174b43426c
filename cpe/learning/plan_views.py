"""The learner's study pages: the dashboard of years, a year's plan with its progress,
opening a year, and choosing courses into it. The player and the course pages are in
views.py."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpe.catalog.models import Course
from cpe.catalog.selectors import course_search
from cpe.core.capabilities import Capability
from cpe.core.permissions import capability_required
from cpe.core.services import Actor
from cpe.learning.models import PlanCourse, YearPlan
from cpe.learning.panels import dashboard_panels
from cpe.learning.payments import payment_backend
from cpe.learning.selectors import (
    continue_where_left_off,
    courses_credits,
    learner_for_user,
    learner_years,
    plan_course_years,
    plan_progress,
    year_state,
)
from cpe.learning.services import (
    StudyRefused,
    plan_course_add,
    plan_course_remove,
    year_plan_open,
)
from cpe.registry.models import Learner

learner_required = capability_required(Capability.STUDY, login_url_name="registry:signin")

COURSES_PER_PAGE = 20


def _learner(request: HttpRequest) -> Learner:
    learner = learner_for_user(request.user)
    if learner is None:
        raise Http404
    return learner


def _plan(learner: Learner, year: int) -> YearPlan:
    return get_object_or_404(
        YearPlan.objects.select_related("learner__district"), learner=learner, year=year
    )


@learner_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The current year's status, where to continue, and every required year's state."""
    learner = _learner(request)
    years = learner_years(learner)
    current_year = timezone.localdate().year
    current = next((state for state in years if state.year == current_year), None)
    current_progress = (
        plan_progress(current.plan) if current is not None and current.plan is not None else None
    )
    return render(
        request,
        "learning/dashboard.html",
        {
            "learner": learner,
            "years": list(reversed(years)),
            "current": current,
            "current_year": current_year,
            "current_progress": current_progress,
            "resume": continue_where_left_off(learner),
            "panels": dashboard_panels(request, learner),
        },
    )


@learner_required
def year_plan(request: HttpRequest, year: int) -> HttpResponse:
    """A year: its plan and progress when opened; otherwise whether and how it can be."""
    learner = _learner(request)
    state = year_state(learner, year)
    context: dict[str, object] = {"learner": learner, "year": year, "state": state}
    if state.plan is not None:
        context["progress"] = plan_progress(state.plan)
        context["payment_available"] = payment_backend().available
    return render(request, "learning/year_plan.html", context)


@require_POST
@learner_required
def year_plan_open_view(request: HttpRequest, year: int) -> HttpResponse:
    learner = _learner(request)
    try:
        plan = year_plan_open(actor=Actor.from_request(request), learner=learner, year=year)
    except StudyRefused as refused:
        messages.error(request, refused.message)
        return redirect("learning:year_plan", year=year)
    if plan.is_open_for_study:
        messages.success(
            request, _("Your plan for %(year)s is open. Choose its courses.") % {"year": year}
        )
        return redirect("learning:course_choose", year=year)
    return redirect("learning:year_plan", year=year)


@learner_required
def course_choose(request: HttpRequest, year: int) -> HttpResponse:
    """The catalog for this plan: the year's courses for the learner's region and level."""
    learner = _learner(request)
    plan = _plan(learner, year)
    query = request.GET.get("q", "").strip()[:100]
    category = request.GET.get("category", "")
    if category not in Course.Category.values:
        category = ""
    courses = course_search(
        region=learner.district,
        query=query,
        category=category,
        year=year,
        level=learner.qualification_level,
    )
    page = Paginator(courses, COURSES_PER_PAGE).get_page(request.GET.get("page"))
    page_courses = list(page.object_list)
    held = plan_course_years(learner, page_courses)
    credits = courses_credits(page_courses, year)
    rows = [
        {"course": course, "credits": credits[course.pk], "held_year": held.get(course.pk)}
        for course in page_courses
    ]
    return render(
        request,
        "learning/course_choose.html",
        {
            "learner": learner,
            "year": year,
            "plan": plan,
            "progress": plan_progress(plan),
            "rows": rows,
            "page": page,
            "q": query,
            "category": category,
            "categories": Course.Category.choices,
            "query_string": urlencode(
                {k: v for k, v in (("q", query), ("category", category)) if v}
            ),
        },
    )


@require_POST
@learner_required
def plan_course_add_view(request: HttpRequest, year: int) -> HttpResponse:
    learner = _learner(request)
    plan = _plan(learner, year)
    course = (
        Course.objects.select_related("region").filter(code=request.POST.get("course", "")).first()
    )
    if course is None:
        messages.error(request, _("There is no such course."))
    else:
        try:
            plan_course_add(actor=Actor.from_request(request), plan=plan, course=course)
        except StudyRefused as refused:
            messages.error(request, refused.message)
        else:
            messages.success(
                request,
                _("“%(title)s” is in your plan for %(year)s.")
                % {"title": course.title, "year": year},
            )
    if request.POST.get("next") == "plan":
        return redirect("learning:year_plan", year=year)
    # Back to the same search and page of the selection.
    kept = {k: request.POST.get(k, "")[:100] for k in ("q", "category", "page")}
    query = urlencode({k: v for k, v in kept.items() if v})
    return redirect(reverse("learning:course_choose", args=[year]) + (f"?{query}" if query else ""))


@require_POST
@learner_required
def plan_course_remove_view(request: HttpRequest, year: int, code: str) -> HttpResponse:
    learner = _learner(request)
    plan = _plan(learner, year)
    chosen = get_object_or_404(
        PlanCourse.objects.select_related("course"), plan=plan, course__code=code
    )
    try:
        plan_course_remove(actor=Actor.from_request(request), plan_course=chosen)
    except StudyRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(
            request, _("“%(title)s” was taken out of the plan.") % {"title": chosen.course.title}
        )
    return redirect("learning:year_plan", year=year)
