"""The course catalog (public): search with filters, and one course with its lessons."""

from decimal import Decimal
from typing import Literal

from django.core.paginator import Paginator
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from cpe.catalog.selectors import PolicyCache, course_credits, course_published, course_search
from cpe.regions.models import Region

router = Router(tags=["courses"])

Category = Literal["public", "professional"]
Level = Literal["none", "junior", "intermediate", "senior", "professor"]


class CourseFilters(Schema):
    q: str = Field("", max_length=100, description="Title, code (prefix) or instructor")
    category: Category | None = None
    year: int | None = Field(None, ge=2000, le=2100, description="Offered in this year")
    level: Level | None = Field(None, description="Open to this qualification level")
    region: str | None = Field(
        None,
        pattern=r"^\d{6}$",
        description="Courses that serve this region (its own and those of regions above it); "
        "a signed-in learner gets their district by default",
    )
    page: int = Field(1, ge=1)
    page_size: int = Field(24, ge=1, le=100)


class CourseOut(Schema):
    code: str
    title: str
    summary: str
    category: Category
    class_hours: Decimal
    credits: Decimal = Field(description="class_hours x the region's credits per class hour")
    credit_year: int = Field(description="The year whose rules gave `credits`")
    instructor: str
    target_levels: list[Level] = Field(description="Empty: every level")
    region_code: str
    cover_url: str | None


class CoursePage(Schema):
    count: int
    page: int
    pages: int
    items: list[CourseOut]


class LessonOut(Schema):
    id: int
    position: int
    title: str
    kind: Literal["video", "reading"]
    duration_seconds: int = Field(description="A video's length, or a reading's minimum time")


class CourseDetailOut(CourseOut):
    years: list[int]
    total_seconds: int
    lessons: list[LessonOut]


def _out(course, year: int, policies: PolicyCache) -> dict:  # type: ignore[no-untyped-def]
    return {
        "code": course.code,
        "title": course.title,
        "summary": course.summary,
        "category": course.category,
        "class_hours": course.class_hours,
        "credits": course_credits(course, year, policies),
        "credit_year": year,
        "instructor": course.instructor,
        "target_levels": course.target_level_list,
        "region_code": course.region.code,
        "cover_url": course.cover.url if course.cover else None,
    }


def _region(request: HttpRequest, code: str | None) -> Region | None:
    if code:
        region = Region.objects.filter(code=code).first()
        if region is None:
            raise HttpError(404, _("There is no region with this code."))
        return region
    user = request.user
    if user.is_authenticated and user.is_learner and user.region_id:
        return user.region
    return None


@router.get("", response=CoursePage, summary="Search the published courses")
def course_list(request: HttpRequest, filters: Query[CourseFilters]) -> dict:
    courses = course_search(
        region=_region(request, filters.region),
        query=filters.q,
        category=filters.category or "",
        year=filters.year,
        level=filters.level or "",
    )
    paginator = Paginator(courses, filters.page_size)
    page = paginator.get_page(filters.page)
    year = filters.year or timezone.localdate().year
    policies = PolicyCache()
    return {
        "count": paginator.count,
        "page": page.number,
        "pages": paginator.num_pages,
        "items": [_out(course, year, policies) for course in page.object_list],
    }


@router.get("/{code}", response=CourseDetailOut, summary="One published course with its lessons")
def course_get(request: HttpRequest, code: str) -> dict:
    course = course_published(code)
    years = [y.year for y in course.years.all()]
    current = timezone.localdate().year
    year = current if current in years or not years else years[-1]
    return {
        **_out(course, year, PolicyCache()),
        "years": years,
        "total_seconds": course.total_seconds,
        "lessons": [
            {
                "id": lesson.pk,
                "position": lesson.position,
                "title": lesson.title,
                "kind": lesson.kind,
                "duration_seconds": lesson.duration_seconds,
            }
            for lesson in course.lessons.all()
        ],
    }
