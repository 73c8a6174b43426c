"""A learner takes a course's exam in the browser: passes it and sees the course complete with
its credits; fails and tries again; uses up the attempts and is sent back to the lessons.

The demo learner (张晓梅) has already studied HB-GX-01 in the demo data, so its exam is open.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from cpe.catalog.models import Course
from cpe.core.services import Actor
from cpe.exams.models import Attempt, Option
from cpe.exams.services import exam_settings_update
from cpe.learning.models import PlanCourse
from tests.e2e.test_phone_layout import assert_fits_the_phone

pytestmark = pytest.mark.e2e

MOBILE = "13800000001"
CODE = "HB-GX-01"


def course_path() -> str:
    return f"/study/{timezone.localdate().year}/courses/{CODE}/"


def answer_every_question(page: Page, *, right: bool) -> None:
    """Tick the correct options of every question (or a wrong one), as a learner would."""
    correct = set(
        Option.objects.filter(question__course__code=CODE, is_correct=True).values_list(
            "pk", flat=True
        )
    )
    for question in page.locator("fieldset[data-position]").all():
        inputs = question.locator("input[type=radio], input[type=checkbox]")
        values = [int(value) for value in inputs.evaluate_all("all => all.map(i => i.value)")]
        wanted = (
            [v for v in values if v in correct]
            if right
            else [next(v for v in values if v not in correct)]
        )
        for value in wanted:
            question.locator(f"input[value='{value}']").check()
        # Each answer is saved by the page itself as it is chosen.
        expect(question.locator("[data-save-state]")).not_to_have_text("")
    expect(page.locator("[data-answered]")).to_have_text(
        str(page.locator("fieldset[data-position]").count())
    )


def wait_for_saves(page: Page) -> None:
    count = page.locator("fieldset[data-position]").count()
    expect(page.locator("fieldset[data-saved='1']")).to_have_count(count)


def start_exam(page: Page) -> None:
    page.goto(course_path())
    with page.expect_navigation():
        page.locator("[data-start-exam]").click()
    expect(page.locator("[data-exam]")).to_be_visible()


def submit(page: Page) -> None:
    with page.expect_navigation():
        page.locator("[data-submit-exam]").click()
    expect(page.locator(".exam-result")).to_be_visible()


def test_a_learner_passes_the_exam_and_sees_the_course_complete_with_its_credits(
    phone: Page, sign_in: Callable[..., None]
) -> None:
    sign_in(phone, "/login/", MOBILE)
    phone.goto(course_path())
    expect(phone.locator("#exam")).to_have_attribute("data-exam-state", "available")
    start_exam(phone)
    assert_fits_the_phone(phone, phone.url)
    answer_every_question(phone, right=True)
    wait_for_saves(phone)
    # A refresh (or the back button, or another tab) finds the same attempt and its answers.
    phone.reload()
    expect(phone.locator("[data-answered]")).to_have_text(
        str(phone.locator("fieldset[data-position]").count())
    )
    assert Attempt.objects.count() == 1
    submit(phone)
    expect(phone.locator("[data-score]")).to_have_text("100")
    expect(phone.locator(".exam-result")).to_have_attribute("data-passed", "1")
    credits = PlanCourse.objects.get(course__code=CODE).credits
    expect(phone.locator("[data-course-complete]")).to_contain_text(
        f"{credits:f}".rstrip("0").rstrip(".")
    )
    # The review shows each question with its explanation.
    expect(phone.locator(".exam-review .explanation").first).to_be_visible()
    assert_fits_the_phone(phone, phone.url)
    assert_fits_the_phone(phone, "/study/exams/")
    phone.goto(course_path())
    expect(phone.locator("[data-course-complete]")).to_be_visible()
    expect(phone.locator("#exam")).to_have_attribute("data-exam-state", "complete")
    phone.goto(f"/study/{timezone.localdate().year}/")
    expect(phone.locator(f"[data-course='{CODE}'] .year-complete")).to_be_visible()


def test_a_learner_fails_the_exam_and_passes_at_the_second_attempt(
    page: Page, sign_in: Callable[..., None]
) -> None:
    sign_in(page, "/login/", MOBILE)
    start_exam(page)
    answer_every_question(page, right=False)
    wait_for_saves(page)
    submit(page)
    expect(page.locator(".exam-result")).to_have_attribute("data-passed", "0")
    expect(page.locator("[data-score]")).to_have_text("0")
    with page.expect_navigation():
        page.locator("[data-start-exam]").click()
    expect(page.locator("[data-exam]")).to_be_visible()
    answer_every_question(page, right=True)
    wait_for_saves(page)
    submit(page)
    expect(page.locator(".exam-result")).to_have_attribute("data-passed", "1")
    assert list(Attempt.objects.order_by("number").values_list("number", "passed")) == [
        (1, False),
        (2, True),
    ]
    page.goto("/study/exams/")
    expect(page.locator("table.attempt-history tbody tr")).to_have_count(2)


def test_a_learner_who_uses_up_the_attempts_is_sent_back_to_the_lessons(
    page: Page, sign_in: Callable[..., None]
) -> None:
    exam_settings_update(
        actor=Actor.for_system("e2e"),
        course=Course.objects.get(code=CODE),
        exam_required=True,
        values={"attempts_per_year": 2},
    )
    sign_in(page, "/login/", MOBILE)
    for _attempt in range(2):
        start_exam(page)
        answer_every_question(page, right=False)
        wait_for_saves(page)
        submit(page)
        expect(page.locator(".exam-result")).to_have_attribute("data-passed", "0")
    expect(page.locator("[data-exam-locked]")).to_have_attribute(
        "data-exam-locked", "lessons_incomplete"
    )
    with page.expect_navigation():
        page.locator("[data-back-to-lessons]").click()
    expect(page.locator("#exam")).to_have_attribute("data-exam-state", "locked")
    expect(page.locator("[data-study-again]")).to_be_visible()
    expect(page.locator("[data-start-exam]")).to_have_count(0)
    # The lessons are to be studied again: none of them is complete now.
    expect(page.locator(".lesson-list .state-succeeded")).to_have_count(0)
    chosen = PlanCourse.objects.get(course__code=CODE)
    assert chosen.lessons_completed_at is None and chosen.completed_at is None
