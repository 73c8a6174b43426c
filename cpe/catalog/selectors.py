"""Reads of the catalog: the searchable course list, one course with its lessons, credits."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404

from cpe.catalog.models import LEVEL_BITS, Course, CourseYear, Lesson
from cpe.core.permissions import user_scope_path
from cpe.regions.models import Region
from cpe.regions.policy import Policy, policy_for


def _ancestor_codes(region: Region) -> list[str]:
    return [code for code in region.path.split("/") if code]


def course_search(
    *,
    region: Region | None = None,
    query: str = "",
    category: str = "",
    year: int | None = None,
    level: str = "",
    published_only: bool = True,
) -> QuerySet[Course]:
    """Courses matching the catalog's search box and filters, in code order.

    `region` is where the learner is (a district, say): the courses of that region and of
    every region above it count, since a province's catalog serves all its districts.
    Each filter is a plain indexed condition (status, category, the (year, course) index),
    so the page stays one count and one fetch however large the catalog grows.
    """
    courses = Course.objects.select_related("region")
    if published_only:
        courses = courses.filter(status=Course.Status.PUBLISHED)
    if region is not None:
        courses = courses.filter(region__code__in=_ancestor_codes(region))
    if category in Course.Category.values:
        courses = courses.filter(category=category)
    if year is not None:
        courses = courses.filter(
            Exists(CourseYear.objects.filter(course=OuterRef("pk"), year=year))
        )
    if level in LEVEL_BITS:
        courses = courses.annotate(level_bit=F("target_levels").bitand(LEVEL_BITS[level])).filter(
            Q(target_levels=0) | Q(level_bit__gt=0)
        )
    query = " ".join(query.split())[:100]
    if query:
        courses = courses.filter(
            Q(code__istartswith=query) | Q(title__icontains=query) | Q(instructor__icontains=query)
        )
    return courses.order_by("code")


def courses_for_staff(*, user: Any, query: str = "", status: str = "") -> QuerySet[Course]:
    """Every course (any status) of the regions in a course manager's scope."""
    scope = user_scope_path(user)
    if scope is None:
        return Course.objects.none()
    courses = course_search(query=query, published_only=False)
    if scope:
        courses = courses.filter(region__path__startswith=scope)
    if status in Course.Status.values:
        courses = courses.filter(status=status)
    return courses


def course_published(code: str) -> Course:
    """A published course with its lessons and years, or 404."""
    course = (
        Course.objects.select_related("region")
        .prefetch_related(
            Prefetch("lessons", queryset=Lesson.objects.order_by("position", "id")), "years"
        )
        .filter(code=code, status=Course.Status.PUBLISHED)
        .first()
    )
    if course is None:
        raise Http404
    return course


def course_for_staff(*, user: Any, course_id: int) -> Course:
    """A course of any status in the caller's scope, with its lessons; 404 otherwise."""
    course = (
        Course.objects.select_related("region", "created_by")
        .prefetch_related(
            Prefetch("lessons", queryset=Lesson.objects.order_by("position", "id")), "years"
        )
        .filter(pk=course_id)
        .first()
    )
    scope = user_scope_path(user)
    if course is None or scope is None or not course.region.path.startswith(scope):
        raise Http404
    return course


class PolicyCache:
    """policy_for() once per (region, year) while a page lists many courses."""

    def __init__(self) -> None:
        self._policies: dict[tuple[int, int], Policy] = {}

    def get(self, region: Region, year: int) -> Policy:
        key = (region.pk, year)
        if key not in self._policies:
            self._policies[key] = policy_for(region, year)
        return self._policies[key]


def course_credits(course: Course, year: int, policies: PolicyCache | None = None) -> Decimal:
    """What the course gives toward `year`: class hours x the course region's credits per hour."""
    policy = (policies or PolicyCache()).get(course.region, year)
    return policy.credits_for(course.class_hours)
