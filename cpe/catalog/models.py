"""Courses and their lessons: what a learner can study, and the files that carry it."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.core.signals import setting_changed
from django.core.validators import MinValueValidator
from django.db import models
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty
from django.utils.translation import gettext_lazy as _

from cpe.registry.models import QualificationLevel

# Each qualification level is one bit of Course.target_levels; 0 means "every level".
LEVEL_BITS: dict[str, int] = {
    level: 1 << position for position, level in enumerate(QualificationLevel.values)
}


def levels_mask(levels: list[str] | tuple[str, ...] | set[str]) -> int:
    mask = 0
    for level in levels:
        mask |= LEVEL_BITS[level]
    return mask


class _CourseMediaStorage(LazyObject):
    """The `course_media` storage of STORAGES, looked up at first use rather than at import."""

    def _setup(self) -> None:
        self._wrapped = storages["course_media"]


_course_media = _CourseMediaStorage()


def course_media_storage() -> Storage:
    return _course_media  # type: ignore[return-value]


@receiver(setting_changed)
def _course_media_follows_settings(*, setting: str, **kwargs: object) -> None:
    if setting == "STORAGES":
        _course_media._wrapped = empty


def _cover_upload_to(instance: Course, filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"courses/covers/{uuid.uuid4().hex}.{suffix}"


def _lesson_upload_to(instance: Lesson, filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"lessons/{instance.course_id}/{uuid.uuid4().hex}.{suffix}"


class Course(models.Model):
    """A course of the catalog: class hours, the credits they give, and ordered lessons."""

    class Category(models.TextChoices):
        PUBLIC = "public", _("Public subject")
        PROFESSIONAL = "professional", _("Professional subject")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    # The province (or city) whose catalog this is; its rules turn class hours into credits.
    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="courses", verbose_name=_("region")
    )
    code = models.CharField(_("course code"), max_length=32, unique=True)
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("summary"), blank=True)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    class_hours = models.DecimalField(
        _("class hours"),
        max_digits=4,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0.5"))],
    )
    instructor = models.CharField(_("instructor"), max_length=100, blank=True)
    cover = models.FileField(_("cover image"), upload_to=_cover_upload_to, blank=True)
    target_levels = models.PositiveSmallIntegerField(
        _("qualification levels"), default=0, help_text=_("Empty: every level.")
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    # Whether the course ends with an exam (its questions and rules live in cpe.exams): without
    # one, completing the lessons completes the course. Learning reads it, so it lives here.
    exam_required = models.BooleanField(_("ends with an exam"), default=True)
    # Sum of the lessons' lengths, kept by the lesson services.
    total_seconds = models.PositiveIntegerField(default=0, editable=False)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        indexes = [
            models.Index(fields=["region", "status", "category"]),
            models.Index(fields=["status", "-published_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(class_hours__gt=0), name="course_class_hours_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def audit_region_path(self) -> str:
        return self.region.path

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def target_level_list(self) -> list[str]:
        return [level for level, bit in LEVEL_BITS.items() if self.target_levels & bit]

    def is_for_level(self, level: str) -> bool:
        return self.target_levels == 0 or bool(self.target_levels & LEVEL_BITS[level])


class CourseYear(models.Model):
    """A year in which a course is offered (it can count only toward a year it is offered in)."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="years")
    year = models.PositiveSmallIntegerField(_("year"))

    class Meta:
        ordering = ["year"]
        constraints = [
            models.UniqueConstraint(fields=["course", "year"], name="course_year_unique"),
        ]
        indexes = [models.Index(fields=["year", "course"])]

    def __str__(self) -> str:
        return f"{self.course.code} {self.year}"


class Lesson(models.Model):
    """One lesson: a video (length read from the file) or reading with a minimum study time."""

    class Kind(models.TextChoices):
        VIDEO = "video", _("Video")
        READING = "reading", _("Reading")

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="lessons")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    video = models.FileField(
        _("video file"),
        upload_to=_lesson_upload_to,
        storage=course_media_storage,
        blank=True,
        max_length=200,
    )
    reading_file = models.FileField(
        _("reading file (PDF)"),
        upload_to=_lesson_upload_to,
        storage=course_media_storage,
        blank=True,
        max_length=200,
    )
    reading_text = models.TextField(_("reading text (Markdown)"), blank=True)
    # A video's length as read from its file; for reading, the minimum study time.
    duration_seconds = models.PositiveIntegerField(_("length in seconds"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["course", "position", "id"]
        verbose_name = _("lesson")
        verbose_name_plural = _("lessons")
        indexes = [models.Index(fields=["course", "position"])]

    def __str__(self) -> str:
        return f"{self.course.code} #{self.position} {self.title}"

    @property
    def audit_region_path(self) -> str:
        return self.course.region.path

    @property
    def is_video(self) -> bool:
        return self.kind == self.Kind.VIDEO
