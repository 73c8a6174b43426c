"""Demo study: the activated demo learner (张晓梅) with this year's plan open and a few
demo courses in it, so a newcomer signs in and finds something to watch; the lessons of one
of them are already studied, so its exam can be taken at once.

Runs after the catalog's demo; when its courses are missing it does nothing.
"""

from __future__ import annotations

from django.utils import timezone

from cpe.catalog.models import Course
from cpe.core.services import Actor
from cpe.learning.models import LessonProgress, PlanCourse, YearPlan
from cpe.learning.services import (
    StudyRefused,
    plan_course_add,
    plan_course_lessons_complete,
    year_plan_open,
)
from cpe.learning.years import required_years
from cpe.registry.demo import ACTIVATED
from cpe.registry.services import learner_find_by_id_number

# Two professional courses and a public one of the catalog's demo.
DEMO_PLAN_COURSES = ("HB-ZY-01", "HB-ZY-02", "HB-GX-01")
# Studied already: every lesson complete, so the course's exam is open in the demo.
DEMO_STUDIED = ("HB-GX-01",)


def seed(actor: Actor, *, course_codes: tuple[str, ...] = DEMO_PLAN_COURSES) -> YearPlan | None:
    """Open the demo learner's current year with the demo courses; None when there are none."""
    learner = learner_find_by_id_number(ACTIVATED[0])
    if learner is None:
        return None
    courses = [Course.objects.filter(code__iexact=code).first() for code in course_codes]
    present = [course for course in courses if course is not None]
    if not present:
        return None
    current = timezone.localdate().year
    # Her earlier required years were completed before this platform (the credit ledger of a
    # later issue will hold their records); under sequencing they must be complete for the
    # current year to open.
    for year in required_years(learner):
        if year < current:
            YearPlan.objects.get_or_create(
                learner=learner, year=year, defaults={"completed_at": timezone.now()}
            )
    plan = year_plan_open(actor=actor, learner=learner, year=current)
    for course in present:
        if PlanCourse.objects.filter(learner=learner, course=course).exists():
            continue
        try:
            plan_course_add(actor=actor, plan=plan, course=course)
        except StudyRefused:
            continue  # not offered this year or not for her level: the demo goes on without it
    for chosen in PlanCourse.objects.filter(
        plan=plan, course__code__in=DEMO_STUDIED, lessons_completed_at__isnull=True
    ).select_related("course"):
        _studied(actor, chosen)
    return plan


def _studied(actor: Actor, chosen: PlanCourse) -> None:
    """Every lesson of the course complete, as if watched and read through."""
    now = timezone.now()
    for lesson in chosen.course.lessons.all():
        length_ms = lesson.duration_seconds * 1000
        LessonProgress.objects.update_or_create(
            learner=chosen.learner,
            lesson=lesson,
            defaults={
                "plan_course": chosen,
                "verified_ms": length_ms,
                "furthest_ms": length_ms,
                "position_ms": length_ms,
                "completed_at": now,
            },
        )
    plan_course_lessons_complete(actor=actor, plan_course=chosen, now=now)
