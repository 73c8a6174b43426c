"""Writes owned by the catalog: drafting, editing, publishing and withdrawing courses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Sum
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from cpe.catalog.media import MediaError, video_duration_seconds
from cpe.catalog.models import LEVEL_BITS, Course, CourseYear, Lesson, levels_mask
from cpe.core.capabilities import Capability
from cpe.core.services import Actor, audit_record, snapshot
from cpe.regions.models import Region
from cpe.regions.policy import policy_for

COURSE_AUDIT_FIELDS = [
    "code",
    "title",
    "summary",
    "category",
    "class_hours",
    "instructor",
    "target_levels",
    "status",
    "region",
]
LESSON_AUDIT_FIELDS = ["title", "kind", "position", "duration_seconds", "video", "reading_file"]

COVER_MAX_BYTES = 2 * 1024 * 1024
READING_FILE_MAX_BYTES = 50 * 1024 * 1024
VIDEO_MAX_BYTES = 4 * 1024 * 1024 * 1024
MAX_CLASS_HOURS = Decimal("100")
MAX_READING_MINUTES = 600
FIRST_YEAR = 2000
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")


@dataclass(frozen=True)
class CourseDetails:
    """What a course manager types in; `_clean_details` checks and normalises every field."""

    code: str
    title: str
    category: str
    class_hours: Decimal | str | int
    summary: str = ""
    instructor: str = ""
    target_levels: tuple[str, ...] = ()
    years: tuple[int, ...] = field(default_factory=tuple)


def _require_manager(actor: Actor, region: Region) -> None:
    if actor.user is not None and not actor.user.has_capability(Capability.COURSES_MANAGE):
        raise PermissionDenied
    if not actor.may_act_in(region.path):
        raise PermissionDenied


def _clean_details(details: CourseDetails) -> dict[str, Any]:
    """Every field error at once, keyed by field, so the form shows them all."""
    errors: dict[str, list[str]] = {}
    code = details.code.strip().upper()
    if not _CODE.match(code):
        errors.setdefault("code", []).append(
            _("Use 2 to 32 capital letters, digits and hyphens, e.g. HB-ZY-01.")
        )
    title = " ".join(details.title.split())
    if not title:
        errors.setdefault("title", []).append(_("Give the course a title."))
    if details.category not in Course.Category.values:
        errors.setdefault("category", []).append(_("Choose public or professional."))
    try:
        class_hours = Decimal(str(details.class_hours).strip())
    except InvalidOperation:
        class_hours = Decimal("-1")
    if (
        not class_hours.is_finite()
        or class_hours < Decimal("0.5")
        or class_hours > MAX_CLASS_HOURS
        or (class_hours * 2) % 1 != 0
    ):
        errors.setdefault("class_hours", []).append(
            _("Class hours run from 0.5 to 100, in steps of 0.5.")
        )
    unknown = [level for level in details.target_levels if level not in LEVEL_BITS]
    if unknown:
        errors.setdefault("target_levels", []).append(_("Choose levels from the list."))
    last_year = timezone.localdate().year + 1
    years = sorted(set(details.years))
    if any(not FIRST_YEAR <= year <= last_year for year in years):
        errors.setdefault("years", []).append(
            _("Years run from %(first)s to %(last)s.") % {"first": FIRST_YEAR, "last": last_year}
        )
    if errors:
        raise ValidationError(errors)
    return {
        "code": code,
        "title": title[:200],
        "summary": details.summary.strip(),
        "category": details.category,
        "class_hours": class_hours,
        "instructor": " ".join(details.instructor.split())[:100],
        "target_levels": levels_mask(details.target_levels),
        "years": years,
    }


def _course_snapshot(course: Course) -> dict[str, Any]:
    values = snapshot(course, COURSE_AUDIT_FIELDS)
    values["years"] = list(course.years.values_list("year", flat=True))
    return values


def _image_type(content: bytes) -> str | None:
    if content.startswith(b"\xff\xd8\xff") and content.rstrip(b"\0").endswith(b"\xff\xd9"):
        return "jpg"
    if content.startswith(b"\x89PNG\r\n\x1a\n") and content.endswith(b"IEND\xaeB`\x82"):
        return "png"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "webp"
    return None


def _set_cover(course: Course, cover: File) -> None:
    if not cover.size or cover.size > COVER_MAX_BYTES:
        raise ValidationError({"cover": _("A cover image is at most 2 MB.")})
    cover.seek(0)
    content = cover.read()
    suffix = _image_type(content)
    if suffix is None:
        raise ValidationError(
            {"cover": _("Use a JPEG, PNG or WebP image. This file is none of those.")}
        )
    if course.cover:
        course.cover.delete(save=False)
    course.cover.save(f"cover.{suffix}", ContentFile(content), save=False)


def _structure_locked_reason(course: Course) -> str | None:
    """Why class hours, category and lessons cannot change now; None when they can."""
    if course.status == Course.Status.PUBLISHED:
        return _("Withdraw the course before changing its class hours, category or lessons.")
    if course.plan_courses.exists():
        return _(
            "Learners have chosen this course, so its class hours, category and lessons can "
            "no longer change. Create a new course instead."
        )
    return None


def _require_structure_editable(course: Course) -> None:
    reason = _structure_locked_reason(course)
    if reason:
        raise ValidationError(reason, code="locked")


def _code_taken(code: str, course: Course | None = None) -> ValidationError | None:
    others = Course.objects.filter(code=code)
    if course is not None:
        others = others.exclude(pk=course.pk)
    holder = others.first()
    if holder is None:
        return None
    return ValidationError(
        {
            "code": _("The code %(code)s is already used by “%(title)s”.")
            % {
                "code": code,
                "title": holder.title,
            }
        }
    )


def _set_years(course: Course, years: list[int]) -> None:
    CourseYear.objects.filter(course=course).exclude(year__in=years).delete()
    have = set(course.years.values_list("year", flat=True))
    CourseYear.objects.bulk_create(
        [CourseYear(course=course, year=year) for year in years if year not in have]
    )


def _locked_course(course: Course) -> Course:
    return Course.objects.select_for_update().select_related("region").get(pk=course.pk)


@transaction.atomic
def course_create(
    *, actor: Actor, region: Region, details: CourseDetails, cover: File | None = None
) -> Course:
    """A new course, as a draft that learners cannot see until it is published."""
    _require_manager(actor, region)
    values = _clean_details(details)
    taken = _code_taken(values["code"])
    if taken:
        raise taken
    years = values.pop("years")
    course = Course(region=region, created_by=actor.user, **values)
    if cover is not None:
        _set_cover(course, cover)
    course.save()
    _set_years(course, years)
    audit_record(actor=actor, action="course.create", target=course, after=_course_snapshot(course))
    return course


@transaction.atomic
def course_update(
    *,
    actor: Actor,
    course: Course,
    details: CourseDetails,
    cover: File | None = None,
    remove_cover: bool = False,
) -> Course:
    """Change a course. What learners' credits rest on (code, class hours, category) is locked
    once the course is published or chosen; titles, texts, years and levels stay editable."""
    course = _locked_course(course)
    _require_manager(actor, course.region)
    values = _clean_details(details)
    before = _course_snapshot(course)
    if values["code"] != course.code:
        if course.published_at is not None or course.plan_courses.exists():
            raise ValidationError({"code": _("A course that has been published keeps its code.")})
        taken = _code_taken(values["code"], course)
        if taken:
            raise taken
    structural = (
        values["class_hours"] != course.class_hours or values["category"] != course.category
    )
    if structural:
        reason = _structure_locked_reason(course)
        if reason:
            raise ValidationError({"class_hours": reason})
    years = values.pop("years")
    for name, value in values.items():
        setattr(course, name, value)
    if remove_cover and course.cover:
        course.cover.delete(save=False)
        course.cover = ""
    if cover is not None:
        _set_cover(course, cover)
    course.save()
    _set_years(course, years)
    audit_record(
        actor=actor,
        action="course.update",
        target=course,
        before=before,
        after=_course_snapshot(course),
    )
    return course


def required_seconds(course: Course) -> dict[int, int]:
    """For each year the course is offered: the least total length its lessons must have."""
    return {
        year: policy_for(course.region, year).seconds_for(course.class_hours)
        for year in course.years.values_list("year", flat=True)
    }


def publish_problems(course: Course) -> list[str]:
    """Everything that stops the course from being published, in words for the manager."""
    problems: list[str] = []
    lessons = list(course.lessons.all())
    if not lessons:
        problems.append(_("Add at least one lesson."))
    for lesson in lessons:
        if lesson.is_video and (not lesson.video or not lesson.duration_seconds):
            problems.append(_("Lesson “%(title)s” has no video.") % {"title": lesson.title})
        if not lesson.is_video and not (lesson.reading_file or lesson.reading_text.strip()):
            problems.append(_("Lesson “%(title)s” has nothing to read.") % {"title": lesson.title})
    needed = required_seconds(course)
    if not needed:
        problems.append(_("Choose at least one year in which the course is offered."))
    total = sum(lesson.duration_seconds for lesson in lessons)
    for year, seconds in sorted(needed.items()):
        if total < seconds:
            problems.append(
                _(
                    "For %(year)s, %(hours)s class hours need lessons of at least "
                    "%(needed)s minutes in all; these lessons have %(have)s."
                )
                % {
                    "year": year,
                    "hours": plain_number(course.class_hours),
                    "needed": _minutes(seconds),
                    "have": _minutes(total),
                }
            )
            break  # the same shortfall for every year says nothing new
    return problems


def plain_number(value: Decimal | int) -> str:
    """A number without trailing zeros or exponent: 2, 1.5, 10 (Decimal.normalize gives 1E+1)."""
    return format(Decimal(value).normalize(), "f")


def _minutes(seconds: int) -> str:
    return plain_number((Decimal(seconds) / 60).quantize(Decimal("0.1")))


@transaction.atomic
def course_publish(*, actor: Actor, course: Course) -> Course:
    """Put a course in the catalog, once its lessons are long enough for its class hours
    under the rules of every year it is offered in."""
    course = _locked_course(course)
    _require_manager(actor, course.region)
    if course.status == Course.Status.PUBLISHED:
        raise ValidationError(_("This course is already published."), code="status")
    problems = publish_problems(course)
    if problems:
        raise ValidationError(problems, code="not_ready")
    before = _course_snapshot(course)
    course.status = Course.Status.PUBLISHED
    course.published_at = timezone.now()
    course.save(update_fields=["status", "published_at", "updated_at"])
    audit_record(
        actor=actor,
        action="course.publish",
        target=course,
        before=before,
        after=_course_snapshot(course),
    )
    return course


@transaction.atomic
def course_withdraw(*, actor: Actor, course: Course, reason: str) -> Course:
    """Take a course out of the catalog. Learners who chose it keep it and can finish it."""
    course = _locked_course(course)
    _require_manager(actor, course.region)
    if course.status != Course.Status.PUBLISHED:
        raise ValidationError(_("Only a published course can be withdrawn."), code="status")
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationError({"reason": _("Say why the course is withdrawn.")})
    course.status = Course.Status.WITHDRAWN
    course.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="course.withdraw",
        target=course,
        before={"status": Course.Status.PUBLISHED},
        after={"status": course.status},
        reason=reason,
    )
    return course


# --- Lessons.


def _refresh_total(course: Course) -> None:
    total = course.lessons.aggregate(total=Sum("duration_seconds"))["total"] or 0
    Course.objects.filter(pk=course.pk).update(total_seconds=total)
    course.total_seconds = total


def _video_length(video: File) -> int:
    if not video.size:
        raise ValidationError({"video": _("The file is empty.")})
    if video.size > VIDEO_MAX_BYTES:
        raise ValidationError(
            {
                "video": _("The video is %(size)s; the most allowed is 4 GB.")
                % {"size": filesizeformat(video.size)}
            }
        )
    try:
        video.seek(0)
        seconds = video_duration_seconds(video)
    except MediaError as error:
        raise ValidationError({"video": str(error)}) from error
    video.seek(0)
    return seconds


def _check_pdf(reading_file: File) -> None:
    if not reading_file.size or reading_file.size > READING_FILE_MAX_BYTES:
        raise ValidationError({"reading_file": _("A PDF file is at most 50 MB.")})
    reading_file.seek(0)
    head = reading_file.read(5)
    reading_file.seek(max(0, reading_file.size - 1024))
    tail = reading_file.read()
    reading_file.seek(0)
    if head != b"%PDF-" or b"%%EOF" not in tail:
        raise ValidationError(
            {"reading_file": _("Attach a whole PDF file. This file is not one, or is cut short.")}
        )


def _minimum_seconds(minimum_minutes: int | None) -> int:
    if minimum_minutes is None or not 1 <= minimum_minutes <= MAX_READING_MINUTES:
        raise ValidationError(
            {"minimum_minutes": _("Give a minimum study time from 1 to 600 minutes.")}
        )
    return minimum_minutes * 60


def _clean_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise ValidationError({"title": _("Give the lesson a title.")})
    return title[:200]


def _upload_name(upload: File, default: str) -> str:
    return Path(upload.name or default).name[-100:]


@transaction.atomic
def lesson_add(
    *,
    actor: Actor,
    course: Course,
    title: str,
    kind: str,
    video: File | None = None,
    reading_file: File | None = None,
    reading_text: str = "",
    minimum_minutes: int | None = None,
) -> Lesson:
    """A lesson at the end of the course: a video whose length is read from the file, or
    reading material (PDF and/or Markdown text) with a minimum study time."""
    course = _locked_course(course)
    _require_manager(actor, course.region)
    _require_structure_editable(course)
    lesson = Lesson(course=course, title=_clean_title(title), kind=kind)
    if kind == Lesson.Kind.VIDEO:
        if video is None:
            raise ValidationError({"video": _("Choose the video file (MP4).")})
        lesson.duration_seconds = _video_length(video)
    elif kind == Lesson.Kind.READING:
        lesson.duration_seconds = _minimum_seconds(minimum_minutes)
        lesson.reading_text = reading_text.strip()
        if reading_file is not None:
            _check_pdf(reading_file)
        elif not lesson.reading_text:
            raise ValidationError(
                {"reading_text": _("Write the text, or attach a PDF file, or both.")}
            )
    else:
        raise ValidationError({"kind": _("Choose video or reading.")})
    last = course.lessons.order_by("-position").values_list("position", flat=True).first()
    lesson.position = 0 if last is None else last + 1
    # Saved first so that the file's name can carry the course and the lesson is complete
    # before the (possibly large) file is copied.
    if video is not None and kind == Lesson.Kind.VIDEO:
        lesson.video.save(_upload_name(video, "video.mp4"), video, save=False)
    if reading_file is not None and kind == Lesson.Kind.READING:
        lesson.reading_file.save(
            _upload_name(reading_file, "reading.pdf"), reading_file, save=False
        )
    try:
        lesson.save()
        _refresh_total(course)
        audit_record(
            actor=actor,
            action="lesson.add",
            target=lesson,
            after=snapshot(lesson, LESSON_AUDIT_FIELDS),
        )
    except Exception:
        _delete_files(lesson)
        raise
    return lesson


def _delete_files(lesson: Lesson) -> None:
    for file in (lesson.video, lesson.reading_file):
        if file:
            file.delete(save=False)


def _locked_lesson(lesson: Lesson) -> Lesson:
    return Lesson.objects.select_for_update().select_related("course__region").get(pk=lesson.pk)


@transaction.atomic
def lesson_update(
    *,
    actor: Actor,
    lesson: Lesson,
    title: str,
    reading_text: str | None = None,
    video: File | None = None,
    reading_file: File | None = None,
    remove_reading_file: bool = False,
    minimum_minutes: int | None = None,
) -> Lesson:
    """Change a lesson. Titles and reading text can always be corrected; a new file or a new
    length only while the course's lessons may change (not published, not chosen)."""
    lesson = _locked_lesson(lesson)
    course = lesson.course
    _require_manager(actor, course.region)
    before = snapshot(lesson, LESSON_AUDIT_FIELDS)
    lesson.title = _clean_title(title)
    old_files = []
    if lesson.is_video:
        if video is not None:
            _require_structure_editable(course)
            lesson.duration_seconds = _video_length(video)
            old_files.append(lesson.video.name)
            lesson.video.save(_upload_name(video, "video.mp4"), video, save=False)
    else:
        if minimum_minutes is not None and minimum_minutes * 60 != lesson.duration_seconds:
            _require_structure_editable(course)
            lesson.duration_seconds = _minimum_seconds(minimum_minutes)
        if reading_text is not None:
            lesson.reading_text = reading_text.strip()
        if reading_file is not None:
            _check_pdf(reading_file)
            if lesson.reading_file:
                old_files.append(lesson.reading_file.name)
            lesson.reading_file.save(
                _upload_name(reading_file, "reading.pdf"), reading_file, save=False
            )
        elif remove_reading_file and lesson.reading_file:
            old_files.append(lesson.reading_file.name)
            lesson.reading_file = ""
        if not lesson.reading_file and not lesson.reading_text:
            raise ValidationError(
                {"reading_text": _("Write the text, or attach a PDF file, or both.")}
            )
    lesson.save()
    _refresh_total(course)
    audit_record(
        actor=actor,
        action="lesson.update",
        target=lesson,
        before=before,
        after=snapshot(lesson, LESSON_AUDIT_FIELDS),
    )
    storage = Lesson._meta.get_field("video").storage
    for name in old_files:
        if name:
            transaction.on_commit(lambda name=name: storage.delete(name))
    return lesson


@transaction.atomic
def lesson_delete(*, actor: Actor, lesson: Lesson) -> None:
    """Remove a lesson (and its files) from a course whose lessons may still change."""
    lesson = _locked_lesson(lesson)
    course = lesson.course
    _require_manager(actor, course.region)
    _require_structure_editable(course)
    if lesson.progress.exists():
        raise ValidationError(
            _("Someone has studied this lesson, so it cannot be deleted."), code="studied"
        )
    before = snapshot(lesson, LESSON_AUDIT_FIELDS)
    names = [f.name for f in (lesson.video, lesson.reading_file) if f]
    storage = Lesson._meta.get_field("video").storage
    lesson.delete()
    _renumber(course, list(course.lessons.values_list("pk", flat=True)))
    _refresh_total(course)
    audit_record(
        actor=actor,
        action="lesson.delete",
        target=course,
        before={"lesson": before},
        after={},
    )
    for name in names:
        transaction.on_commit(lambda name=name: storage.delete(name))


def _renumber(course: Course, order: list[int]) -> None:
    lessons = {lesson.pk: lesson for lesson in course.lessons.all()}
    changed = []
    for position, pk in enumerate(order):
        lesson = lessons[pk]
        if lesson.position != position:
            lesson.position = position
            changed.append(lesson)
    Lesson.objects.bulk_update(changed, ["position"])


@transaction.atomic
def lessons_reorder(*, actor: Actor, course: Course, lesson_ids: list[int]) -> list[Lesson]:
    """Put the course's lessons in the given order (every lesson, each once)."""
    course = _locked_course(course)
    _require_manager(actor, course.region)
    if course.status == Course.Status.PUBLISHED:
        raise ValidationError(
            _("Withdraw the course before changing its class hours, category or lessons."),
            code="locked",
        )
    current = list(course.lessons.values_list("pk", flat=True))
    if sorted(current) != sorted(lesson_ids):
        raise ValidationError({"lessons": _("Give every lesson of the course, each once.")})
    before = {"order": current}
    _renumber(course, lesson_ids)
    audit_record(
        actor=actor,
        action="lesson.reorder",
        target=course,
        before=before,
        after={"order": lesson_ids},
    )
    return list(course.lessons.all())


def lesson_move(*, actor: Actor, lesson: Lesson, offset: int) -> list[Lesson]:
    """Move a lesson up (-1) or down (+1) among its course's lessons."""
    order = list(lesson.course.lessons.values_list("pk", flat=True))
    index = order.index(lesson.pk)
    target = max(0, min(len(order) - 1, index + offset))
    order.insert(target, order.pop(index))
    return lessons_reorder(actor=actor, course=lesson.course, lesson_ids=order)
