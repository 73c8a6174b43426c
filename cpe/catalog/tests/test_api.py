"""The catalog API: the same search and course page as the site, in the OpenAPI document."""

from __future__ import annotations

import pytest

from cpe.catalog.testing import make_course


@pytest.fixture
def courses(actor, regions):
    make_course(
        actor,
        regions["420000"],
        publish=True,
        code="HB-ZY-01",
        title="收入准则实务",
        target_levels=("intermediate",),
        years=(2025, 2026),
    )
    make_course(
        actor,
        regions["420000"],
        publish=True,
        code="HB-GX-01",
        category="public",
        title="职业道德",
        years=(2026,),
    )
    make_course(actor, regions["420500"], publish=True, code="YC-ZY-01", title="宜昌课程")
    make_course(actor, regions["420000"], code="HB-ZY-09", title="草稿")


def test_anyone_can_search_the_catalog_with_filters(courses, client):
    body = client.get(
        "/api/v1/courses", {"category": "professional", "year": 2025, "region": "420102"}
    ).json()
    assert body["count"] == 1
    course = body["items"][0]
    assert course["code"] == "HB-ZY-01"
    assert course["class_hours"] == "2.0" or float(course["class_hours"]) == 2
    assert float(course["credits"]) == 6
    assert course["credit_year"] == 2025
    assert course["target_levels"] == ["intermediate"]


def test_the_list_pages_and_leaves_out_drafts(courses, client):
    body = client.get("/api/v1/courses", {"page_size": 2}).json()
    assert (body["count"], body["pages"], len(body["items"])) == (3, 2, 2)
    body = client.get("/api/v1/courses", {"page_size": 2, "page": 2}).json()
    assert [c["code"] for c in body["items"]] == ["YC-ZY-01"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"category": "other"}, "category"),
        ({"level": "expert"}, "level"),
        ({"year": "soon"}, "year"),
        ({"page_size": 1000}, "page_size"),
        ({"region": "42"}, "region"),
    ],
)
def test_a_bad_filter_gets_422_naming_the_field(courses, client, params, field):
    response = client.get("/api/v1/courses", params)
    assert response.status_code == 422
    assert field in response.json()["fields"]


def test_an_unknown_region_is_not_found(courses, client):
    assert client.get("/api/v1/courses", {"region": "429999"}).status_code == 404


def test_one_course_comes_with_its_lessons_and_years(courses, client):
    body = client.get("/api/v1/courses/HB-ZY-01").json()
    assert body["years"] == [2025, 2026]
    assert [(lesson["kind"], lesson["duration_seconds"]) for lesson in body["lessons"]] == [
        ("video", 6),
        ("reading", 90 * 60),
    ]
    assert body["total_seconds"] == 6 + 90 * 60


def test_a_draft_course_is_not_found_through_the_api(courses, client):
    assert client.get("/api/v1/courses/HB-ZY-09").status_code == 404


def test_the_catalog_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/courses" in paths
    assert "/api/v1/courses/{code}" in paths
