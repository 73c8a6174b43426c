"""Catalog pages: the public catalog and course page, and the course manager's staff pages."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpe.catalog.forms import CatalogFilterForm, CourseForm, LessonForm, ReasonForm
from cpe.catalog.media import serve_course_file
from cpe.catalog.models import Course, Lesson
from cpe.catalog.panels import staff_course_panels
from cpe.catalog.selectors import (
    PolicyCache,
    course_credits,
    course_for_staff,
    course_published,
    course_search,
    courses_for_staff,
)
from cpe.catalog.services import (
    course_create,
    course_publish,
    course_update,
    course_withdraw,
    lesson_add,
    lesson_delete,
    lesson_move,
    lesson_update,
    publish_problems,
    required_seconds,
)
from cpe.core.capabilities import Capability
from cpe.core.forms import apply_validation_error
from cpe.core.permissions import capability_required, user_scope_path
from cpe.core.services import Actor
from cpe.regions.models import Region

CATALOG_PAGE_SIZE = 24


def _catalog_region(request: HttpRequest) -> Region | None:
    """A signed-in learner sees their own region's catalog; everyone else sees every course."""
    user = request.user
    if user.is_authenticated and user.is_learner and user.region_id:
        return user.region
    return None


def _with_credits(courses: Any, year: int) -> list[Course]:
    policies = PolicyCache()
    listed = list(courses)
    for course in listed:
        course.credits = course_credits(course, year, policies)
    return listed


def catalog(request: HttpRequest) -> HttpResponse:
    """The course catalog anyone can browse: search, category, year and qualification level."""
    form = CatalogFilterForm(request.GET or None)
    filters = form.filters()
    courses = course_search(region=_catalog_region(request), **filters)
    page = Paginator(courses, CATALOG_PAGE_SIZE).get_page(request.GET.get("page"))
    year = filters["year"] or timezone.localdate().year
    page.object_list = _with_credits(page.object_list, year)
    query = urlencode({k: v for k, v in request.GET.items() if k != "page" and v})
    return render(
        request,
        "catalog/catalog.html",
        {"form": form, "page": page, "query": query, "credit_year": year},
    )


def course_detail(request: HttpRequest, code: str) -> HttpResponse:
    """A published course as the catalog shows it: class hours, credits, years and lessons."""
    course = course_published(code)
    return render(request, "catalog/course_detail.html", _course_context(course))


def _course_context(course: Course, *, preview: bool = False) -> dict[str, Any]:
    year = timezone.localdate().year
    years = [y.year for y in course.years.all()]
    credit_year = year if year in years or not years else years[-1]
    return {
        "course": course,
        "lessons": list(course.lessons.all()),
        "years": years,
        "credit_year": credit_year,
        "credits": course_credits(course, credit_year),
        "preview": preview,
    }


# --- The course manager's pages.


def _manageable_regions(request: HttpRequest) -> Any:
    scope = user_scope_path(request.user) or ""
    return Region.objects.within(scope).exclude(level=Region.Level.DISTRICT).order_by("code")


@capability_required(Capability.COURSES_MANAGE)
def staff_course_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()[:100]
    status = request.GET.get("status", "")
    courses = courses_for_staff(user=request.user, query=search, status=status)
    page = Paginator(courses, 50).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in (("q", search), ("status", status)) if v})
    return render(
        request,
        "catalog/staff_course_list.html",
        {
            "page": page,
            "q": search,
            "status": status,
            "statuses": Course.Status.choices,
            "query": query,
        },
    )


@capability_required(Capability.COURSES_MANAGE)
def staff_course_create(request: HttpRequest) -> HttpResponse:
    form = CourseForm(
        request.POST or None, request.FILES or None, regions=_manageable_regions(request)
    )
    if request.method == "POST" and form.is_valid():
        try:
            course = course_create(
                actor=Actor.from_request(request),
                region=form.cleaned_data["region"],
                details=form.details(),
                cover=form.cleaned_data.get("cover"),
            )
        except ValidationError as error:
            apply_validation_error(form, error, default_field="code")
        else:
            messages.success(request, _("The course is saved as a draft. Now add its lessons."))
            return redirect("catalog:staff_course_detail", course_id=course.pk)
    return render(request, "catalog/staff_course_form.html", {"form": form, "course": None})


@capability_required(Capability.COURSES_MANAGE)
def staff_course_detail(request: HttpRequest, course_id: int) -> HttpResponse:
    course = course_for_staff(user=request.user, course_id=course_id)
    needed = required_seconds(course)
    return render(
        request,
        "catalog/staff_course_detail.html",
        {
            "course": course,
            "lessons": list(course.lessons.all()),
            "years": [y.year for y in course.years.all()],
            "needed_minutes": max(needed.values()) // 60 if needed else None,
            "total_minutes": course.total_seconds // 60,
            "problems": publish_problems(course) if not course.is_published else [],
            "withdraw_form": ReasonForm(),
            "panels": staff_course_panels(request, course),
        },
    )


@capability_required(Capability.COURSES_MANAGE)
def staff_course_edit(request: HttpRequest, course_id: int) -> HttpResponse:
    course = course_for_staff(user=request.user, course_id=course_id)
    form = CourseForm(
        request.POST or None,
        request.FILES or None,
        regions=_manageable_regions(request),
        course=course,
    )
    if request.method == "POST" and form.is_valid():
        try:
            course_update(
                actor=Actor.from_request(request),
                course=course,
                details=form.details(),
                cover=form.cleaned_data.get("cover"),
                remove_cover=form.cleaned_data.get("remove_cover", False),
            )
        except ValidationError as error:
            apply_validation_error(form, error, default_field="code")
        else:
            messages.success(request, _("The course is saved."))
            return redirect("catalog:staff_course_detail", course_id=course.pk)
    return render(request, "catalog/staff_course_form.html", {"form": form, "course": course})


def _show_errors(request: HttpRequest, error: ValidationError) -> None:
    for text in error.messages:
        messages.error(request, text)


@require_POST
@capability_required(Capability.COURSES_MANAGE)
def staff_course_publish(request: HttpRequest, course_id: int) -> HttpResponse:
    course = course_for_staff(user=request.user, course_id=course_id)
    try:
        course_publish(actor=Actor.from_request(request), course=course)
    except ValidationError as error:
        _show_errors(request, error)
    else:
        messages.success(request, _("The course is published: learners can choose it now."))
    return redirect("catalog:staff_course_detail", course_id=course.pk)


@require_POST
@capability_required(Capability.COURSES_MANAGE)
def staff_course_withdraw(request: HttpRequest, course_id: int) -> HttpResponse:
    course = course_for_staff(user=request.user, course_id=course_id)
    form = ReasonForm(request.POST)
    try:
        course_withdraw(
            actor=Actor.from_request(request),
            course=course,
            reason=form.data.get("reason", ""),
        )
    except ValidationError as error:
        _show_errors(request, error)
    else:
        messages.success(
            request, _("The course is withdrawn. Learners who chose it can still finish it.")
        )
    return redirect("catalog:staff_course_detail", course_id=course.pk)


@capability_required(Capability.COURSES_MANAGE)
def staff_course_preview(request: HttpRequest, course_id: int) -> HttpResponse:
    """The course as a learner sees it, drafts included, with its videos playable."""
    course = course_for_staff(user=request.user, course_id=course_id)
    return render(request, "catalog/course_detail.html", _course_context(course, preview=True))


def _lesson_for_staff(request: HttpRequest, course_id: int, lesson_id: int) -> Lesson:
    course = course_for_staff(user=request.user, course_id=course_id)
    for lesson in course.lessons.all():
        if lesson.pk == lesson_id:
            lesson.course = course
            return lesson
    raise Http404


@capability_required(Capability.COURSES_MANAGE)
def staff_lesson_media(request: HttpRequest, course_id: int, lesson_id: int) -> HttpResponse:
    """A lesson's video or PDF for the manager's preview (learners have their own view)."""
    lesson = _lesson_for_staff(request, course_id, lesson_id)
    if lesson.is_video:
        return serve_course_file(request, lesson.video, content_type="video/mp4")
    return serve_course_file(request, lesson.reading_file, content_type="application/pdf")


@capability_required(Capability.COURSES_MANAGE)
def staff_lesson_create(request: HttpRequest, course_id: int) -> HttpResponse:
    course = course_for_staff(user=request.user, course_id=course_id)
    form = LessonForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            lesson_add(
                actor=Actor.from_request(request),
                course=course,
                title=data["title"],
                kind=data["kind"],
                video=data.get("video"),
                reading_file=data.get("reading_file"),
                reading_text=data.get("reading_text") or "",
                minimum_minutes=data.get("minimum_minutes"),
            )
        except ValidationError as error:
            apply_validation_error(form, error, default_field="title")
        else:
            messages.success(request, _("The lesson is added."))
            return redirect("catalog:staff_course_detail", course_id=course.pk)
    return render(
        request, "catalog/staff_lesson_form.html", {"form": form, "course": course, "lesson": None}
    )


@capability_required(Capability.COURSES_MANAGE)
def staff_lesson_edit(request: HttpRequest, course_id: int, lesson_id: int) -> HttpResponse:
    lesson = _lesson_for_staff(request, course_id, lesson_id)
    form = LessonForm(request.POST or None, request.FILES or None, lesson=lesson)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            lesson_update(
                actor=Actor.from_request(request),
                lesson=lesson,
                title=data["title"],
                reading_text=data.get("reading_text"),
                video=data.get("video"),
                reading_file=data.get("reading_file"),
                remove_reading_file=data.get("remove_reading_file", False),
                minimum_minutes=data.get("minimum_minutes"),
            )
        except ValidationError as error:
            apply_validation_error(form, error, default_field="title")
        else:
            messages.success(request, _("The lesson is saved."))
            return redirect("catalog:staff_course_detail", course_id=course_id)
    return render(
        request,
        "catalog/staff_lesson_form.html",
        {"form": form, "course": lesson.course, "lesson": lesson},
    )


@require_POST
@capability_required(Capability.COURSES_MANAGE)
def staff_lesson_delete(request: HttpRequest, course_id: int, lesson_id: int) -> HttpResponse:
    lesson = _lesson_for_staff(request, course_id, lesson_id)
    try:
        lesson_delete(actor=Actor.from_request(request), lesson=lesson)
    except ValidationError as error:
        _show_errors(request, error)
    else:
        messages.success(request, _("The lesson is deleted."))
    return redirect("catalog:staff_course_detail", course_id=course_id)


@require_POST
@capability_required(Capability.COURSES_MANAGE)
def staff_lesson_move(request: HttpRequest, course_id: int, lesson_id: int) -> HttpResponse:
    lesson = _lesson_for_staff(request, course_id, lesson_id)
    offset = -1 if request.POST.get("direction") == "up" else 1
    try:
        lesson_move(actor=Actor.from_request(request), lesson=lesson, offset=offset)
    except ValidationError as error:
        _show_errors(request, error)
    return redirect("catalog:staff_course_detail", course_id=course_id)
