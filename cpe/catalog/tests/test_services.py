"""Course managers draft, edit, publish and withdraw courses and lessons through the services."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from cpe.catalog.models import Course, Lesson, levels_mask
from cpe.catalog.services import (
    course_create,
    course_publish,
    course_update,
    course_withdraw,
    lesson_add,
    lesson_delete,
    lesson_move,
    lesson_update,
    lessons_reorder,
)
from cpe.catalog.testing import course_details, demo_video_upload, make_course, pdf_upload
from cpe.core.models import AuditEntry
from cpe.core.services import Actor
from cpe.learning.models import PlanCourse, YearPlan
from cpe.regions.services import region_policy_save
from cpe.registry.services import learner_collect
from cpe.registry.testing import learner_details

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x9a\xa0\xa0"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def _errors(excinfo: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    error = excinfo.value
    return error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}


def test_a_new_course_is_a_draft_with_its_years_and_levels_and_is_audited(actor, hubei):
    course = course_create(
        actor=actor,
        region=hubei,
        details=course_details(
            code=" t-zy-01 ", target_levels=("junior", "intermediate"), years=(2026, 2025)
        ),
    )
    assert course.code == "T-ZY-01"
    assert course.status == Course.Status.DRAFT
    assert course.target_levels == levels_mask(["junior", "intermediate"])
    assert list(course.years.values_list("year", flat=True)) == [2025, 2026]
    entry = AuditEntry.objects.get(action="course.create")
    assert entry.actor_label == actor.user.username
    assert entry.region_path == hubei.path
    assert entry.changes["after"]["years"] == [2025, 2026]


def test_a_course_code_is_used_once_and_the_refusal_names_the_course_holding_it(actor, hubei):
    course_create(actor=actor, region=hubei, details=course_details(title="第一门"))
    with pytest.raises(ValidationError) as excinfo:
        course_create(actor=actor, region=hubei, details=course_details(title="第二门"))
    assert "第一门" in _errors(excinfo)["code"][0]


def test_every_field_error_is_reported_at_once(actor, hubei):
    with pytest.raises(ValidationError) as excinfo:
        course_create(
            actor=actor,
            region=hubei,
            details=course_details(
                code="x", title=" ", category="other", class_hours="0.3", years=(1999,)
            ),
        )
    assert set(_errors(excinfo)) == {"code", "title", "category", "class_hours", "years"}


@pytest.mark.parametrize("hours", ["0", "-1", "1.25", "101", "NaN", "abc"])
def test_class_hours_must_be_half_hours_from_half_to_a_hundred(actor, hubei, hours):
    with pytest.raises(ValidationError) as excinfo:
        course_create(actor=actor, region=hubei, details=course_details(class_hours=hours))
    assert "class_hours" in _errors(excinfo)


def test_only_course_managers_in_scope_may_create_courses(make_user, regions):
    officer = Actor(user=make_user("district_officer", "420102"))
    with pytest.raises(PermissionDenied):
        course_create(actor=officer, region=regions["420000"], details=course_details())
    yichang_manager = Actor(user=make_user("course_manager", "420500"))
    with pytest.raises(PermissionDenied):
        course_create(actor=yichang_manager, region=regions["420000"], details=course_details())
    assert (
        course_create(
            actor=yichang_manager, region=regions["420500"], details=course_details()
        ).region
        == regions["420500"]
    )


def test_a_video_lessons_length_is_read_from_the_file(actor, hubei):
    course = course_create(actor=actor, region=hubei, details=course_details())
    lesson = lesson_add(
        actor=actor, course=course, title="导学", kind="video", video=demo_video_upload()
    )
    course.refresh_from_db()
    assert lesson.duration_seconds == 6
    assert course.total_seconds == 6
    assert lesson.video.name.startswith(f"lessons/{course.pk}/")
    assert lesson.video.storage.exists(lesson.video.name)


def test_a_file_that_is_not_an_mp4_video_is_refused_and_nothing_is_stored(actor, hubei):
    course = course_create(actor=actor, region=hubei, details=course_details())
    fake = SimpleUploadedFile("lesson.mp4", b"%PDF-1.4 this is a PDF renamed")
    with pytest.raises(ValidationError) as excinfo:
        lesson_add(actor=actor, course=course, title="导学", kind="video", video=fake)
    assert "video" in _errors(excinfo)
    assert not Lesson.objects.exists()


def test_reading_needs_text_or_a_pdf_and_a_minimum_time(actor, hubei):
    course = course_create(actor=actor, region=hubei, details=course_details())
    with pytest.raises(ValidationError) as excinfo:
        lesson_add(actor=actor, course=course, title="讲义", kind="reading", minimum_minutes=30)
    assert "reading_text" in _errors(excinfo)
    for minutes in (None, 0, 601):
        with pytest.raises(ValidationError) as excinfo:
            lesson_add(
                actor=actor,
                course=course,
                title="讲义",
                kind="reading",
                reading_text="正文",
                minimum_minutes=minutes,
            )
        assert "minimum_minutes" in _errors(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        lesson_add(
            actor=actor,
            course=course,
            title="讲义",
            kind="reading",
            reading_file=SimpleUploadedFile("x.pdf", b"%PDF-1.4 cut short"),
            minimum_minutes=30,
        )
    assert "reading_file" in _errors(excinfo)
    lesson = lesson_add(
        actor=actor,
        course=course,
        title="讲义",
        kind="reading",
        reading_file=pdf_upload(),
        minimum_minutes=30,
    )
    assert lesson.duration_seconds == 1800
    assert lesson.reading_file.storage.exists(lesson.reading_file.name)


def test_publishing_refuses_lessons_shorter_than_the_class_hours_need(actor, hubei):
    course = make_course(actor, hubei, reading_minutes=80)  # 2 class hours need 90 minutes
    with pytest.raises(ValidationError) as excinfo:
        course_publish(actor=actor, course=course)
    message = " ".join(excinfo.value.messages)
    assert "90" in message and "80.1" in message
    lesson_add(
        actor=actor,
        course=course,
        title="补充讲义",
        kind="reading",
        reading_text="正文",
        minimum_minutes=10,
    )
    published = course_publish(actor=actor, course=course)
    assert published.status == Course.Status.PUBLISHED
    assert published.published_at is not None
    assert AuditEntry.objects.filter(action="course.publish").count() == 1


def test_publishing_uses_the_regions_minutes_per_class_hour_for_every_year_offered(
    actor, hubei, system_actor
):
    # From 2026 the province counts 50 minutes per class hour: 2 class hours need 100.
    region_policy_save(actor=system_actor, region=hubei, effective_from=2018)
    region_policy_save(
        actor=system_actor, region=hubei, effective_from=2026, minutes_per_class_hour=50
    )
    course = make_course(actor, hubei, reading_minutes=90, years=(2024, 2025))
    assert course_publish(actor=actor, course=course).is_published
    later = make_course(actor, hubei, code="T-ZY-02", reading_minutes=90, years=(2025, 2026))
    with pytest.raises(ValidationError) as excinfo:
        course_publish(actor=actor, course=later)
    assert "2026" in excinfo.value.messages[0]
    assert "100" in excinfo.value.messages[0]


def test_a_course_without_lessons_or_years_cannot_be_published(actor, hubei):
    course = course_create(actor=actor, region=hubei, details=course_details(years=()))
    with pytest.raises(ValidationError) as excinfo:
        course_publish(actor=actor, course=course)
    assert len(excinfo.value.messages) == 2


def test_a_published_course_keeps_its_lessons_hours_and_code_but_its_texts_can_change(actor, hubei):
    course = make_course(actor, hubei, publish=True)
    video = course.lessons.get(kind="video")
    with pytest.raises(ValidationError):
        lesson_add(
            actor=actor,
            course=course,
            title="新",
            kind="reading",
            reading_text="x",
            minimum_minutes=5,
        )
    with pytest.raises(ValidationError):
        lesson_delete(actor=actor, lesson=video)
    with pytest.raises(ValidationError):
        lesson_update(actor=actor, lesson=video, title="导学", video=demo_video_upload())
    with pytest.raises(ValidationError):
        lessons_reorder(actor=actor, course=course, lesson_ids=[video.pk])
    with pytest.raises(ValidationError) as excinfo:
        course_update(actor=actor, course=course, details=course_details(class_hours="3"))
    assert "class_hours" in _errors(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        course_update(actor=actor, course=course, details=course_details(code="T-ZY-99"))
    assert "code" in _errors(excinfo)
    renamed = course_update(
        actor=actor, course=course, details=course_details(title="收入准则（2025 版）")
    )
    assert renamed.title == "收入准则（2025 版）"
    assert lesson_update(actor=actor, lesson=video, title="课程导学").title == "课程导学"


def test_withdrawing_needs_a_reason_and_the_course_can_be_published_again(actor, hubei):
    course = make_course(actor, hubei, publish=True)
    with pytest.raises(ValidationError):
        course_withdraw(actor=actor, course=course, reason="  ")
    withdrawn = course_withdraw(actor=actor, course=course, reason="政策已废止")
    assert withdrawn.status == Course.Status.WITHDRAWN
    assert AuditEntry.objects.get(action="course.withdraw").reason == "政策已废止"
    assert course_publish(actor=actor, course=withdrawn).is_published


def test_a_course_learners_have_chosen_keeps_its_lessons_even_when_withdrawn(actor, hubei, regions):
    course = make_course(actor, hubei, publish=True)
    learner = learner_collect(
        actor=Actor.for_system("tests"), district=regions["420102"], details=learner_details()
    )
    plan = YearPlan.objects.create(learner=learner, year=2026)
    PlanCourse.objects.create(
        plan=plan, learner=learner, course=course, category=course.category, credits=6
    )
    course_withdraw(actor=actor, course=course, reason="更新内容")
    with pytest.raises(ValidationError) as excinfo:
        lesson_add(
            actor=actor,
            course=course,
            title="新",
            kind="reading",
            reading_text="x",
            minimum_minutes=5,
        )
    assert excinfo.value.code == "locked"
    with pytest.raises(ValidationError):
        course_update(actor=actor, course=course, details=course_details(category="public"))


def test_replacing_and_deleting_lessons_keep_the_total_and_the_order(actor, hubei):
    course = make_course(actor, hubei)
    reading = course.lessons.get(kind="reading")
    lesson_update(actor=actor, lesson=reading, title="讲义", minimum_minutes=100)
    course.refresh_from_db()
    assert course.total_seconds == 6 + 6000
    extra = lesson_add(
        actor=actor,
        course=course,
        title="附录",
        kind="reading",
        reading_text="x",
        minimum_minutes=5,
    )
    assert [lesson.title for lesson in course.lessons.all()] == ["导学视频", "讲义", "附录"]
    lesson_move(actor=actor, lesson=extra, offset=-1)
    assert [lesson.title for lesson in course.lessons.all()] == ["导学视频", "附录", "讲义"]
    lesson_delete(actor=actor, lesson=course.lessons.get(title="导学视频"))
    course.refresh_from_db()
    assert course.total_seconds == 300 + 6000
    assert list(course.lessons.values_list("position", flat=True)) == [0, 1]
    assert AuditEntry.objects.filter(action="lesson.delete").exists()


def test_reordering_needs_every_lesson_once(actor, hubei):
    course = make_course(actor, hubei)
    ids = list(course.lessons.values_list("pk", flat=True))
    with pytest.raises(ValidationError):
        lessons_reorder(actor=actor, course=course, lesson_ids=[ids[0], ids[0]])
    lessons_reorder(actor=actor, course=course, lesson_ids=list(reversed(ids)))
    assert list(course.lessons.values_list("pk", flat=True)) == list(reversed(ids))


def test_a_cover_must_be_a_real_image(actor, hubei):
    with pytest.raises(ValidationError) as excinfo:
        course_create(
            actor=actor,
            region=hubei,
            details=course_details(),
            cover=SimpleUploadedFile("cover.png", b"<svg onload=alert(1)>"),
        )
    assert "cover" in _errors(excinfo)
    course = course_create(
        actor=actor,
        region=hubei,
        details=course_details(),
        cover=SimpleUploadedFile("cover.png", PNG),
    )
    assert course.cover.name.endswith(".png")
    course = course_update(actor=actor, course=course, details=course_details(), remove_cover=True)
    assert not course.cover


def test_class_hours_keep_their_half_hours(actor, hubei):
    course = course_create(actor=actor, region=hubei, details=course_details(class_hours="1.5"))
    course.refresh_from_db()
    assert course.class_hours == Decimal("1.5")
