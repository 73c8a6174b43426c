"""A learner opens the current year on a phone, finds a course and adds it to the plan.

The study part's browser test goes on from here: it plays a lesson of the course.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from cpe.accounts.demo import DEMO_PASSWORD
from cpe.accounts.roles import Role
from cpe.accounts.services import user_create
from cpe.catalog.models import Course, CourseYear, Lesson
from cpe.core.services import Actor
from cpe.regions.models import Region
from cpe.registry.services import learner_collect
from cpe.registry.testing import learner_details, make_id_number
from tests.e2e.test_phone_layout import assert_fits_the_phone

pytestmark = pytest.mark.e2e

SYSTEM = Actor.for_system("e2e")
MOBILE = "13912340001"


def _course(code: str, title: str, category: str, class_hours: int) -> Course:
    course = Course.objects.create(
        region=Region.objects.get(code="420000"),
        code=code,
        title=title,
        category=category,
        class_hours=Decimal(class_hours),
        status=Course.Status.PUBLISHED,
        published_at=timezone.now(),
    )
    CourseYear.objects.create(course=course, year=timezone.localdate().year)
    Lesson.objects.create(
        course=course, title="第一讲", kind=Lesson.Kind.READING, duration_seconds=60, position=1
    )
    return course


@pytest.fixture
def new_learner(site_url: str) -> None:
    """A learner whose first required year is this one, and two courses of this year."""
    district = Region.objects.get(code="420102")
    learner = learner_collect(
        actor=SYSTEM,
        district=district,
        details=learner_details(
            id_number=make_id_number(sequence=321),
            mobile=MOBILE,
            qualification_year=timezone.localdate().year - 1,
        ),
    )
    learner.user = user_create(
        actor=SYSTEM,
        username="e2e-plan-learner",
        password=DEMO_PASSWORD,
        role=Role.LEARNER,
        region=district,
    )
    learner.save(update_fields=["user"])
    _course("E2E-ZY-01", "企业所得税汇算清缴实务", "professional", 10)
    _course("E2E-GX-01", "会计职业道德", "public", 4)


def test_a_learner_opens_the_current_year_and_adds_a_course(
    phone: Page, new_learner: None, sign_in: Callable[..., None]
) -> None:
    year = timezone.localdate().year
    sign_in(phone, "/login/", MOBILE)
    phone.goto("/study/")
    current = phone.locator("#current-year")
    expect(current).to_contain_text(str(year))
    assert_fits_the_phone(phone, "/study/")

    with phone.expect_navigation():
        phone.locator("#current-year button[type=submit]").click()
    expect(phone).to_have_url(re.compile(rf"/study/{year}/choose/$"))

    # The demo catalog has tax courses too: search by the code, which is unique.
    phone.locator("#course-q").fill("E2E-ZY-01")
    with phone.expect_navigation():
        phone.locator("form.search button[type=submit]").click()
    courses = phone.locator("#courses li")
    expect(courses).to_have_count(1)
    with phone.expect_navigation():
        courses.first.locator("button[type=submit]").click()
    expect(phone.locator(".messages")).to_contain_text("企业所得税汇算清缴实务")
    expect(phone.locator("li[data-course='E2E-ZY-01']")).to_contain_text("已在本年度计划中")
    expect(phone.locator("#progress [data-warning=professional]")).to_contain_text("30")
    assert_fits_the_phone(phone, f"/study/{year}/choose/")

    phone.goto(f"/study/{year}/")
    chosen = phone.locator("#plan-courses li[data-course='E2E-ZY-01']")
    expect(chosen).to_contain_text("30学分")
    expect(chosen.locator("a.course-title")).to_have_attribute(
        "href", f"/study/{year}/courses/E2E-ZY-01/"
    )
    assert_fits_the_phone(phone, f"/study/{year}/")
    phone.goto("/study/")
    expect(phone.locator(f"#years li[data-year='{year}']")).to_have_attribute("data-state", "open")
