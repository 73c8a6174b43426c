"""Test data for courses (imported by tests, never by the application)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from cpe.catalog.models import Course, Lesson
from cpe.catalog.services import CourseDetails, course_create, course_publish, lesson_add
from cpe.core.services import Actor
from cpe.regions.models import Region
from cpe.registry.testing import PDF_BYTES

DEMO_VIDEO = Path(__file__).resolve().parent / "demo_media" / "hb-zy-01.mp4"


def demo_video_upload(name: str = "lesson.mp4") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, DEMO_VIDEO.read_bytes(), content_type="video/mp4")


def pdf_upload(name: str = "handout.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def course_details(**changes: Any) -> CourseDetails:
    values: dict[str, Any] = {
        "code": "T-ZY-01",
        "title": "收入准则实务",
        "category": "professional",
        "class_hours": Decimal("2"),
        "instructor": "李明",
        "summary": "五步法模型。",
        "target_levels": (),
        "years": (2024, 2025, 2026),
    }
    values.update(changes)
    return CourseDetails(**values)


def make_course(
    actor: Actor,
    region: Region,
    *,
    publish: bool = False,
    reading_minutes: int | None = None,
    **changes: Any,
) -> Course:
    """A course with one demo video and, by default, reading long enough for its class hours."""
    course = course_create(actor=actor, region=region, details=course_details(**changes))
    lesson_add(
        actor=actor,
        course=course,
        title="导学视频",
        kind=Lesson.Kind.VIDEO,
        video=demo_video_upload(),
    )
    minutes = reading_minutes if reading_minutes is not None else int(course.class_hours * 45)
    if minutes:
        lesson_add(
            actor=actor,
            course=course,
            title="讲义",
            kind=Lesson.Kind.READING,
            reading_text="## 讲义\n\n要点。",
            minimum_minutes=minutes,
        )
    if publish:
        course = course_publish(actor=actor, course=course)
    course.refresh_from_db()
    return course
