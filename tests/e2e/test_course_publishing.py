"""A course manager builds a course, publishes it, and plays its video in the preview."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from cpe.catalog.models import Course
from cpe.catalog.testing import DEMO_VIDEO

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _app_serves_course_files(settings) -> None:
    # The live server runs with DEBUG off; development (`make run`) streams the files itself.
    settings.COURSE_MEDIA_STREAM = True


def test_a_manager_publishes_a_course_and_its_video_plays_and_seeks_in_the_preview(
    page: Page, staff_sign_in: Callable[..., None]
) -> None:
    staff_sign_in(page, "courses")
    page.goto("/staff/courses/new/")
    form = page.locator("main form[method=post]")
    form.locator("[name=region]").select_option(label="湖北省")
    form.locator("[name=code]").fill("HB-ZY-90")
    form.locator("[name=title]").fill("会计信息化实务")
    form.locator("[name=category]").select_option("professional")
    form.locator("[name=class_hours]").fill("1")
    form.locator(f"[name=years][value='{timezone.localdate().year}']").check()
    form.locator("button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("会计信息化实务")

    page.get_by_role("link", name="添加课节").click()
    page.locator("[name=title]").fill("导学视频")
    page.locator("[name=kind][value=video]").check()
    page.locator("[name=video]").set_input_files(str(DEMO_VIDEO))
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".lesson-list")).to_contain_text("6 秒")
    # Not yet long enough for one class hour (45 minutes): the page says so.
    expect(page.locator(".problems")).to_contain_text("45")

    page.get_by_role("link", name="添加课节").click()
    page.locator("[name=title]").fill("讲义")
    page.locator("[name=kind][value=reading]").check()
    page.locator("[name=reading_text]").fill("## 要点\n\n- 电子凭证")
    page.locator("[name=minimum_minutes]").fill("45")
    page.locator("main form button[type=submit]").click()
    page.get_by_role("button", name="发布").click()
    expect(page.locator(".messages")).to_contain_text("课程已发布")
    assert Course.objects.get(code="HB-ZY-90").status == Course.Status.PUBLISHED

    page.get_by_role("link", name="预览").click()
    video = page.locator("video")
    expect(video).to_have_count(1)
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("document.querySelector('video').currentTime > 1")
    # Seeking asks the server for a byte range; it answers 206 and playback goes on there.
    video.evaluate("v => { v.currentTime = 4.5; }")
    page.wait_for_function("document.querySelector('video').currentTime >= 4.6")
    assert video.evaluate("v => v.error") is None

    page.goto("/courses/?q=HB-ZY-90")
    expect(page.locator(".course-card")).to_contain_text("会计信息化实务")
    expect(page.locator(".course-card")).to_contain_text("3学分")
