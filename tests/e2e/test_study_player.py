"""The player in Chromium: a learner opens this year, adds a course and plays a short demo
lesson to its end at normal speed; a forward seek is refused and a second tab takes over.

The videos are the catalog's demo videos (H.264/AAC, a few seconds each). Playback starts
muted, as a script may start a video only without sound; the server sees the same
heartbeats either way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.core.files import File
from django.utils import timezone
from playwright.sync_api import Page, expect

from cpe.accounts.demo import DEMO_PASSWORD
from cpe.accounts.roles import Role
from cpe.accounts.services import user_create
from cpe.catalog.media import video_duration_seconds
from cpe.catalog.models import Course, CourseYear, Lesson
from cpe.core.services import Actor
from cpe.learning.models import LessonProgress, StudySession
from cpe.learning.testing import enrol
from cpe.learning.tests.conftest import heartbeat_buffer  # noqa: F401 (a fixture used here)
from cpe.regions.models import Region
from cpe.registry.models import Learner
from cpe.registry.services import learner_collect
from cpe.registry.testing import learner_details, make_id_number
from tests.e2e.test_phone_layout import assert_fits_the_phone

pytestmark = pytest.mark.e2e

SYSTEM = Actor.for_system("e2e")
MOBILE = "13912340002"
DEMO_VIDEO = Path(__file__).resolve().parents[2] / "cpe/catalog/demo_media/hb-zy-01.mp4"
CODE = "E2E-ZY-PLAY"
# A six-second video ends well inside this; the first heartbeat after it says "complete".
PLAY_TIMEOUT_MS = 30_000


@pytest.fixture
def learner(site_url: str, settings: LazySettings) -> Learner:
    """A learner whose first required year is this one, and a course with a real video."""
    settings.COURSE_MEDIA_STREAM = True  # the live server streams with Range, as `make run`
    district = Region.objects.get(code="420102")
    learner = learner_collect(
        actor=SYSTEM,
        district=district,
        details=learner_details(
            id_number=make_id_number(sequence=654),
            mobile=MOBILE,
            qualification_year=timezone.localdate().year - 1,
        ),
    )
    learner.user = user_create(
        actor=SYSTEM,
        username="e2e-player",
        password=DEMO_PASSWORD,
        role=Role.LEARNER,
        region=district,
    )
    learner.save(update_fields=["user"])
    course = Course.objects.create(
        region=Region.objects.get(code="420000"),
        code=CODE,
        title="增值税纳税申报实务（播放测试）",
        category=Course.Category.PROFESSIONAL,
        class_hours=Decimal(1),
        status=Course.Status.PUBLISHED,
        published_at=timezone.now(),
    )
    CourseYear.objects.create(course=course, year=timezone.localdate().year)
    with DEMO_VIDEO.open("rb") as handle:
        seconds = video_duration_seconds(handle)
        handle.seek(0)
        lesson = Lesson(
            course=course, title="第一讲 视频", kind=Lesson.Kind.VIDEO, duration_seconds=seconds
        )
        lesson.video.save("play.mp4", File(handle), save=True)
    return learner


def test_a_learner_adds_a_course_and_plays_its_lesson_to_the_end_at_normal_speed(
    phone: Page, learner: Learner, sign_in: Callable[..., None]
) -> None:
    year = timezone.localdate().year
    sign_in(phone, "/login/", MOBILE)
    phone.goto("/study/")
    with phone.expect_navigation():
        phone.locator("#current-year button[type=submit]").click()
    expect(phone).to_have_url(re.compile(rf"/study/{year}/choose/$"))
    with phone.expect_navigation():
        phone.locator(f"li[data-course='{CODE}'] button[type=submit]").click()

    phone.goto(f"/study/{year}/")
    with phone.expect_navigation():
        phone.locator(f"#plan-courses li[data-course='{CODE}'] a.course-title").click()
    expect(phone).to_have_url(re.compile(rf"/study/{year}/courses/{CODE}/$"))
    with phone.expect_navigation():
        phone.locator("main a.button").first.click()
    expect(phone).to_have_url(re.compile(r"/study/lessons/\d+/$"))

    player = phone.locator("[data-study-player]")
    expect(player).to_have_attribute("data-session", re.compile(".+"))
    video = phone.locator("video")
    expect(video).to_have_attribute("playsinline", "")
    phone.evaluate("() => { const v = document.querySelector('video'); v.muted = true; v.play(); }")
    phone.wait_for_function(
        "() => document.querySelector('video').currentTime > 1", timeout=PLAY_TIMEOUT_MS
    )
    assert phone.evaluate("() => document.querySelector('video').playbackRate") == 1
    expect(phone.locator("[data-complete]")).to_be_visible(timeout=PLAY_TIMEOUT_MS)
    expect(phone.locator("[data-complete]")).to_contain_text("本课时已完成")

    progress = LessonProgress.objects.get(learner=learner)
    assert progress.completed_at is not None
    assert progress.verified_ms <= progress.lesson.duration_seconds * 1000
    phone.goto(f"/study/{year}/courses/{CODE}/")
    expect(phone.locator(f"#lesson-{progress.lesson_id}")).to_contain_text("已完成")
    assert_fits_the_phone(phone, f"/study/{year}/courses/{CODE}/")
    assert_fits_the_phone(phone, f"/study/lessons/{progress.lesson_id}/")
    assert_fits_the_phone(phone, "/study/history/")


def test_a_forward_seek_is_refused_and_a_second_tab_takes_over(
    new_page: Callable[..., Page], learner: Learner, sign_in: Callable[..., None]
) -> None:
    enrol(learner, Course.objects.get(code=CODE))
    lesson = Lesson.objects.get(course__code=CODE)
    first = new_page()
    sign_in(first, "/login/", MOBILE)
    first.goto(f"/study/lessons/{lesson.pk}/")
    player = first.locator("[data-study-player]")
    expect(player).to_have_attribute("data-session", re.compile(".+"))
    first.wait_for_function("() => document.querySelector('video').readyState >= 1")

    # Nothing is verified yet: a jump to 4 s goes back to the start, and the learner is told.
    first.evaluate("() => { document.querySelector('video').currentTime = 4; }")
    expect(player).to_have_attribute("data-seek-refused", "1")
    expect(first.locator("[data-notice]")).to_contain_text("快进只能到已经看过的位置")
    first.wait_for_function("() => document.querySelector('video').currentTime < 1")

    # The same lesson opened in a second tab of the same browser takes over.
    second = first.context.new_page()
    second.goto(f"/study/lessons/{lesson.pk}/")
    expect(second.locator("[data-study-player]")).to_have_attribute(
        "data-session", re.compile(".+")
    )
    # The first tab learns it at its next heartbeat (playing, then pausing, sends one now).
    first.evaluate("() => { const v = document.querySelector('video'); v.muted = true; v.play(); }")
    first.wait_for_timeout(500)
    first.evaluate("() => document.querySelector('video').pause()")
    expect(player).to_have_attribute("data-stopped", "1")
    expect(first.locator("[data-notice]")).to_contain_text("另一个标签页")
    assert first.evaluate("() => document.querySelector('video').paused")
    sessions = StudySession.objects.filter(learner=learner)
    assert sessions.filter(state=StudySession.State.TAKEN_OVER).count() == 1
    assert sessions.filter(state=StudySession.State.ACTIVE).count() == 1


@pytest.mark.usefixtures("heartbeat_buffer")
def test_with_the_heartbeat_buffer_the_player_sends_each_answers_ticket_back(
    new_page: Callable[..., Page], learner: Learner, sign_in: Callable[..., None]
) -> None:
    enrol(learner, Course.objects.get(code=CODE))
    lesson = Lesson.objects.get(course__code=CODE)
    page = new_page()
    sent: list[dict] = []
    answers: list[dict] = []
    page.on(
        "request",
        lambda request: (
            sent.append(json.loads(request.post_data or "{}"))
            if request.url.endswith("/heartbeats")
            else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            answers.append(response.json()) if response.url.endswith("/heartbeats") else None
        ),
    )
    sign_in(page, "/login/", MOBILE)
    page.goto(f"/study/lessons/{lesson.pk}/")
    player = page.locator("[data-study-player]")
    expect(player).to_have_attribute("data-session", re.compile(".+"))

    # Play a little and pause (a heartbeat kept in Redis), then play on to the end.
    page.evaluate("() => { const v = document.querySelector('video'); v.muted = true; v.play(); }")
    page.wait_for_function("() => document.querySelector('video').currentTime > 2")
    page.evaluate("() => document.querySelector('video').pause()")
    expect(player).to_have_attribute("data-beats", "1")
    page.evaluate("() => document.querySelector('video').play()")
    expect(page.locator("[data-complete]")).to_be_visible(timeout=PLAY_TIMEOUT_MS)

    expect(player).to_have_attribute("data-beats", str(len(sent)))
    # Each heartbeat sends back the ticket of the answer before it (none after the answer
    # that completed the lesson in the database).
    assert len(sent) >= 2 and "ticket" not in sent[0] and answers[0]["ticket"]
    assert [beat.get("ticket") for beat in sent[1:]] == [
        answer["ticket"] for answer in answers[: len(sent) - 1]
    ]
    progress = LessonProgress.objects.get(learner=learner)
    assert progress.completed_at is not None
    assert progress.verified_ms <= progress.lesson.duration_seconds * 1000
