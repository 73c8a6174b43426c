"""The catalog anyone browses: search and filters, course pages with credits, and its speed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cpe.catalog.models import Course, CourseYear, levels_mask
from cpe.catalog.selectors import course_search
from cpe.catalog.services import course_withdraw
from cpe.catalog.testing import make_course
from cpe.regions.services import region_policy_save


@pytest.fixture
def catalog(actor, regions):
    hubei, yichang = regions["420000"], regions["420500"]
    return {
        "revenue": make_course(
            actor,
            hubei,
            publish=True,
            code="HB-ZY-01",
            title="收入准则实务",
            instructor="李明",
            target_levels=("intermediate", "senior"),
            years=(2024, 2025),
        ),
        "ethics": make_course(
            actor,
            hubei,
            publish=True,
            code="HB-GX-01",
            title="会计职业道德",
            category="public",
            instructor="周立群",
            years=(2025, 2026),
        ),
        "yichang": make_course(
            actor, yichang, publish=True, code="YC-ZY-01", title="宜昌税收实务", years=(2025,)
        ),
        "draft": make_course(actor, hubei, code="HB-ZY-09", title="草稿课程"),
    }


def codes(courses) -> list[str]:
    return [course.code for course in courses]


def test_the_search_matches_title_code_prefix_and_instructor(catalog):
    assert codes(course_search(query="收入")) == ["HB-ZY-01"]
    assert codes(course_search(query="hb-zy")) == ["HB-ZY-01"]
    assert codes(course_search(query="周立群")) == ["HB-GX-01"]
    assert codes(course_search(query="没有这门课")) == []


def test_drafts_and_withdrawn_courses_are_not_in_the_catalog(catalog, actor):
    assert "HB-ZY-09" not in codes(course_search())
    assert "HB-ZY-09" in codes(course_search(published_only=False))
    course_withdraw(actor=actor, course=catalog["ethics"], reason="更新")
    assert codes(course_search()) == ["HB-ZY-01", "YC-ZY-01"]


def test_filters_by_category_year_and_qualification_level(catalog):
    assert codes(course_search(category="public")) == ["HB-GX-01"]
    assert codes(course_search(year=2024)) == ["HB-ZY-01"]
    assert codes(course_search(year=2025)) == ["HB-GX-01", "HB-ZY-01", "YC-ZY-01"]
    # A course for no particular level is open to every level.
    assert codes(course_search(level="junior")) == ["HB-GX-01", "YC-ZY-01"]
    assert codes(course_search(level="senior")) == ["HB-GX-01", "HB-ZY-01", "YC-ZY-01"]
    assert codes(course_search(category="professional", year=2025, level="intermediate")) == [
        "HB-ZY-01",
        "YC-ZY-01",
    ]


def test_a_region_sees_its_own_courses_and_those_of_the_regions_above_it(catalog, regions):
    assert codes(course_search(region=regions["420102"])) == ["HB-GX-01", "HB-ZY-01"]
    assert codes(course_search(region=regions["420502"])) == ["HB-GX-01", "HB-ZY-01", "YC-ZY-01"]


def test_the_catalog_page_lists_courses_with_their_credits(catalog, client):
    response = client.get("/courses/", {"category": "professional", "year": "2025"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "收入准则实务" in page and "宜昌税收实务" in page
    assert "会计职业道德" not in page
    # 2 class hours x 3 credits per class hour (the default rule).
    assert "6学分" in page


def test_the_catalog_ignores_a_filter_it_does_not_understand(catalog, client):
    response = client.get("/courses/", {"year": "next", "category": "x", "level": "?"})
    assert response.status_code == 200
    assert "会计职业道德" in response.content.decode()


def test_a_signed_in_learner_sees_their_regions_catalog(catalog, users, client_for):
    page = client_for(users["learner"]).get("/courses/").content.decode()
    assert "收入准则实务" in page
    assert "宜昌税收实务" not in page


def test_the_course_page_shows_class_hours_credits_years_and_lessons(
    catalog, client, regions, system_actor
):
    # The province's own rule, 2 credits per class hour, decides the course's credits.
    region_policy_save(
        actor=system_actor, region=regions["420000"], effective_from=2018, credits_per_class_hour=2
    )
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    response = client.get("/courses/HB-GX-01/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "2 class hours" in page
    assert "4 credits" in page
    assert "2025, 2026" in page
    assert "导学视频" in page and "讲义" in page
    assert "<video" not in page  # learners watch through their study plan, not here


def test_a_draft_has_no_public_course_page(catalog, client):
    assert client.get("/courses/HB-ZY-09/").status_code == 404
    assert client.get("/courses/NO-SUCH/").status_code == 404


def _bulk_catalog(region, count: int) -> None:
    """Published courses straight into the tables (the services are tested elsewhere)."""
    levels = [0, levels_mask(["junior"]), levels_mask(["intermediate", "senior"])]
    courses = Course.objects.bulk_create(
        Course(
            region=region,
            code=f"BULK-{n:05d}",
            title=f"批量课程 {n}",
            category="professional" if n % 3 else "public",
            class_hours=Decimal(1 + n % 4),
            target_levels=levels[n % 3],
            status=Course.Status.PUBLISHED,
            total_seconds=3 * 2700,
        )
        for n in range(count)
    )
    CourseYear.objects.bulk_create(
        CourseYear(course=course, year=year)
        for course in courses
        for year in (2024, 2025, 2026)
        if course.pk % 2 or year == 2026
    )


def _queries(client, params) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/courses/", params)
    assert response.status_code == 200
    return len(queries), response.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": "课程 12"},
        {"category": "public", "year": "2025", "level": "junior"},
        {"page": "40"},
    ],
)
def test_the_catalog_page_costs_the_same_few_queries_at_three_thousand_courses(
    regions, client, params
):
    _bulk_catalog(regions["420000"], 30)
    small, _ = _queries(client, params)
    Course.objects.all().delete()
    _bulk_catalog(regions["420000"], 3000)
    large, page = _queries(client, params)
    assert large == small
    assert large <= 6  # session-free page: count, page of courses, the region's rules
    assert "批量课程" in page


def test_the_catalog_filters_use_indexes(regions):
    # The indexes the search relies on exist (their use at scale is PostgreSQL's choice).
    indexed = {tuple(index.fields) for index in Course._meta.indexes}
    assert ("region", "status", "category") in indexed
    assert ("year", "course") in {tuple(index.fields) for index in CourseYear._meta.indexes}
