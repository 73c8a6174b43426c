"""Test data for study (imported by tests, never by the application).

Courses are written directly: the tests here are about study, not about the catalog's
publishing rules, and must not depend on them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from cpe.catalog.models import Course, CourseYear, Lesson
from cpe.core.services import Actor
from cpe.learning.models import PlanCourse, StudySession, YearPlan
from cpe.regions.models import Region
from cpe.registry.models import Learner
from cpe.registry.services import learner_collect
from cpe.registry.testing import learner_details, make_id_number

_codes = itertools.count(1)


@dataclass
class Enrolment:
    learner: Learner
    plan: YearPlan
    course: Course
    plan_course: PlanCourse
    lessons: list[Lesson]

    @property
    def lesson(self) -> Lesson:
        return self.lessons[0]


def study_course(
    *,
    region: Region,
    lessons: list[tuple[str, int]] | None = None,
    category: str = Course.Category.PROFESSIONAL,
    class_hours: Decimal | int = 1,
    years: list[int] | None = None,
    video_name: str = "",
    exam_required: bool = False,
) -> Course:
    """A published course with lessons given as (kind, seconds); without an exam unless told
    (completing the lessons completes it)."""
    number = next(_codes)
    course = Course.objects.create(
        region=region,
        code=f"T{number:05d}",
        title=f"测试课程 {number}",
        category=category,
        class_hours=Decimal(class_hours),
        status=Course.Status.PUBLISHED,
        published_at=timezone.now(),
        exam_required=exam_required,
    )
    for year in years or [timezone.localdate().year]:
        CourseYear.objects.create(course=course, year=year)
    total = 0
    for position, (kind, seconds) in enumerate(lessons or [("video", 300)]):
        Lesson.objects.create(
            course=course,
            position=position,
            title=f"第{position + 1}讲",
            kind=kind,
            duration_seconds=seconds,
            video=video_name if kind == "video" else "",
            reading_text="" if kind == "video" else "# 阅读材料\n\n请认真阅读。",
        )
        total += seconds
    course.total_seconds = total
    course.save(update_fields=["total_seconds"])
    return course


def collected_learner(
    *, district: Region, sequence: int = 1, qualification_year: int | None = None, user=None
) -> Learner:
    """A learner whose first required year is the current one unless told otherwise."""
    year = qualification_year or timezone.localdate().year - 1
    learner = learner_collect(
        actor=Actor.for_system("tests"),
        district=district,
        details=learner_details(
            id_number=make_id_number(district.code, sequence=sequence),
            mobile=f"1380013{sequence:04d}",
            qualification_year=year,
        ),
    )
    if user is not None:
        learner.user = user
        learner.save(update_fields=["user"])
    return learner


def enrol(learner: Learner, course: Course, *, year: int | None = None) -> PlanCourse:
    """The course in the learner's plan for `year` (opened if needed), as the plan page would."""
    year = year or timezone.localdate().year
    plan, _created = YearPlan.objects.get_or_create(learner=learner, year=year)
    credits = Decimal(course.class_hours) * 3
    return PlanCourse.objects.create(
        plan=plan, learner=learner, course=course, category=course.category, credits=credits
    )


def enrolment(
    *,
    district: Region,
    lessons: list[tuple[str, int]] | None = None,
    sequence: int = 1,
    user=None,
    class_hours: Decimal | int = 1,
    video_name: str = "",
    exam_required: bool = False,
) -> Enrolment:
    province = Region.objects.get(code=district.path.strip("/").split("/")[0])
    learner = collected_learner(district=district, sequence=sequence, user=user)
    course = study_course(
        region=province,
        lessons=lessons,
        class_hours=class_hours,
        video_name=video_name,
        exam_required=exam_required,
    )
    plan_course = enrol(learner, course)
    return Enrolment(
        learner=learner,
        plan=plan_course.plan,
        course=course,
        plan_course=plan_course,
        lessons=list(course.lessons.all()),
    )


def playing_session(regions: dict[str, Region]) -> tuple[Enrolment, StudySession]:
    """A learner of Jiang'an playing a ten-minute video lesson, its session started 15 s ago,
    with attention checks off (the fast path's tests)."""
    from cpe.learning.study import study_session_start
    from cpe.regions.services import region_policy_save

    actor = Actor.for_system("tests")
    region_policy_save(
        actor=actor,
        region=regions["420000"],
        effective_from=2018,
        makeup_from=2019,
        attention_check_minutes=0,
    )
    study = enrolment(district=regions["420102"], lessons=[("video", 600)])
    started = study_session_start(
        actor=actor,
        learner=study.learner,
        lesson_id=study.lesson.pk,
        now=timezone.now() - timedelta(seconds=15),
    )
    return study, started.session


def complete_lessons(plan_course: PlanCourse, *, now=None) -> PlanCourse:
    """Every lesson of the course complete in this plan, as if watched through (the exam
    tests and browser journeys need finished lessons, not the player)."""
    from cpe.learning.models import LessonProgress
    from cpe.learning.services import plan_course_lessons_complete

    now = now or timezone.now()
    for lesson in plan_course.course.lessons.all():
        length_ms = lesson.duration_seconds * 1000
        LessonProgress.objects.update_or_create(
            learner=plan_course.learner,
            lesson=lesson,
            defaults={
                "plan_course": plan_course,
                "verified_ms": length_ms,
                "furthest_ms": length_ms,
                "position_ms": length_ms,
                "completed_at": now,
            },
        )
    plan_course_lessons_complete(actor=Actor.for_system("tests"), plan_course=plan_course, now=now)
    plan_course.refresh_from_db()
    return plan_course
