"""The course manager's pages: create, add lessons, preview with playable video, publish."""

from __future__ import annotations

import pytest

from cpe.catalog.models import Course
from cpe.catalog.testing import demo_video_upload, make_course, pdf_upload


@pytest.fixture
def browser(manager, client_for):
    return client_for(manager)


def test_a_manager_drafts_a_course_adds_lessons_and_publishes_it(browser, regions):
    response = browser.post(
        "/staff/courses/new/",
        {
            "region": regions["420000"].pk,
            "code": "hb-zy-20",
            "title": "租赁准则",
            "category": "professional",
            "class_hours": "1",
            "instructor": "黄蓉",
            "target_levels": ["intermediate"],
            "years": ["2025", "2026"],
        },
    )
    course = Course.objects.get(code="HB-ZY-20")
    assert response.status_code == 302
    assert response["Location"] == f"/staff/courses/{course.pk}/"
    detail = browser.get(f"/staff/courses/{course.pk}/").content.decode()
    assert "45" in detail  # the minutes 1 class hour needs
    response = browser.post(
        f"/staff/courses/{course.pk}/lessons/new/",
        {"title": "导学", "kind": "video", "video": demo_video_upload()},
    )
    assert response.status_code == 302
    browser.post(
        f"/staff/courses/{course.pk}/lessons/new/",
        {"title": "讲义", "kind": "reading", "reading_file": pdf_upload(), "minimum_minutes": "45"},
    )
    response = browser.post(f"/staff/courses/{course.pk}/publish/")
    assert response.status_code == 302
    course.refresh_from_db()
    assert course.status == Course.Status.PUBLISHED
    assert course.total_seconds == 6 + 45 * 60


def test_form_errors_come_back_beside_their_fields(browser, regions):
    response = browser.post(
        "/staff/courses/new/",
        {
            "region": regions["420000"].pk,
            "code": "?",
            "title": "x",
            "category": "public",
            "class_hours": "1.3",
            "years": ["2025"],
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "has-error" in page
    assert not Course.objects.exists()


def test_a_too_short_course_is_not_published_and_the_page_says_why(browser, actor, hubei):
    course = make_course(actor, hubei, reading_minutes=10)
    response = browser.post(f"/staff/courses/{course.pk}/publish/", follow=True)
    course.refresh_from_db()
    assert course.status == Course.Status.DRAFT
    assert "90" in response.content.decode()


def test_the_preview_shows_a_draft_as_learners_see_it_with_playable_videos(
    browser, actor, hubei, settings
):
    settings.COURSE_MEDIA_STREAM = True
    course = make_course(actor, hubei)
    video = course.lessons.get(kind="video")
    page = browser.get(f"/staff/courses/{course.pk}/preview/").content.decode()
    media_url = f"/staff/courses/{course.pk}/lessons/{video.pk}/media/"
    assert f'src="{media_url}"' in page
    response = browser.get(media_url, HTTP_RANGE="bytes=0-99")
    assert response.status_code == 206
    assert response["Content-Type"] == "video/mp4"
    assert len(b"".join(response.streaming_content)) == 100


def test_the_preview_media_of_another_course_is_not_found(browser, actor, hubei):
    first = make_course(actor, hubei)
    second = make_course(actor, hubei, code="T-ZY-02")
    lesson = first.lessons.first()
    assert browser.get(f"/staff/courses/{second.pk}/lessons/{lesson.pk}/media/").status_code == 404


def test_a_manager_outside_the_courses_region_does_not_find_it(actor, hubei, make_user, client_for):
    course = make_course(actor, hubei)
    yichang = client_for(make_user("course_manager", "420500"))
    assert yichang.get(f"/staff/courses/{course.pk}/").status_code == 404
    assert "T-ZY-01" not in yichang.get("/staff/courses/").content.decode()


def test_withdrawing_takes_the_course_out_of_the_catalog(browser, actor, hubei, client):
    course = make_course(actor, hubei, publish=True)
    assert client.get(f"/courses/{course.code}/").status_code == 200
    browser.post(f"/staff/courses/{course.pk}/withdraw/", {"reason": "内容过时"})
    course.refresh_from_db()
    assert course.status == Course.Status.WITHDRAWN
    assert client.get(f"/courses/{course.code}/").status_code == 404


def test_lessons_move_and_are_deleted_from_the_course_page(browser, actor, hubei):
    course = make_course(actor, hubei)
    video, reading = course.lessons.all()
    browser.post(f"/staff/courses/{course.pk}/lessons/{reading.pk}/move/", {"direction": "up"})
    assert list(course.lessons.values_list("pk", flat=True)) == [reading.pk, video.pk]
    browser.post(f"/staff/courses/{course.pk}/lessons/{video.pk}/delete/")
    assert list(course.lessons.values_list("pk", flat=True)) == [reading.pk]


def test_a_lesson_is_edited_with_the_fields_of_its_kind(browser, actor, hubei):
    course = make_course(actor, hubei)
    reading = course.lessons.get(kind="reading")
    page = browser.get(f"/staff/courses/{course.pk}/lessons/{reading.pk}/edit/").content.decode()
    assert 'name="minimum_minutes"' in page and 'name="video"' not in page
    browser.post(
        f"/staff/courses/{course.pk}/lessons/{reading.pk}/edit/",
        {"title": "讲义（修订）", "reading_text": "新的正文", "minimum_minutes": "95"},
    )
    reading.refresh_from_db()
    assert (reading.title, reading.reading_text, reading.duration_seconds) == (
        "讲义（修订）",
        "新的正文",
        95 * 60,
    )


def test_the_staff_console_offers_courses_to_course_managers_only(browser, users, client_for):
    assert "/staff/courses/" in browser.get("/staff/").content.decode()
    officer = client_for(users["district_officer"])
    assert "/staff/courses/" not in officer.get("/staff/").content.decode()
