"""Reads owned by learning: a learner's lessons with their verified progress, and the
heartbeat record support reads to answer "my video doesn't count"."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Prefetch, QuerySet, Sum

from cpe.catalog.models import Lesson
from cpe.learning.models import Heartbeat, LessonProgress, PlanCourse, StudySession
from cpe.registry.models import Learner


@dataclass(frozen=True)
class LessonState:
    lesson: Lesson
    progress: LessonProgress | None

    @property
    def verified_seconds(self) -> int:
        return self.progress.verified_ms // 1000 if self.progress else 0

    @property
    def furthest_seconds(self) -> int:
        return self.progress.furthest_ms // 1000 if self.progress else 0

    @property
    def completed(self) -> bool:
        return bool(self.progress and self.progress.completed_at)

    @property
    def percent(self) -> int:
        """How much of the lesson is verified (for the progress bar), at most 100."""
        if not self.progress or not self.lesson.duration_seconds:
            return 100 if self.completed else 0
        reach = self.progress.verified_ms
        if self.lesson.is_video:
            reach = min(reach, self.progress.furthest_ms)
        return min(100, reach * 100 // (self.lesson.duration_seconds * 1000))


@dataclass(frozen=True)
class CourseState:
    plan_course: PlanCourse
    lessons: list[LessonState]

    @property
    def lessons_completed(self) -> int:
        return sum(1 for state in self.lessons if state.completed)

    @property
    def next_lesson(self) -> LessonState | None:
        """The first lesson not complete yet (where "continue" leads)."""
        return next((state for state in self.lessons if not state.completed), None)


def plan_courses_with_progress(
    *, learner: Learner, year: int | None = None, course_code: str | None = None
) -> list[CourseState]:
    """The learner's chosen courses (newest year first), each with its lessons' progress."""
    plan_courses = (
        PlanCourse.objects.filter(learner=learner)
        .select_related("plan", "course")
        .prefetch_related(
            Prefetch("course__lessons", queryset=Lesson.objects.order_by("position", "id"))
        )
        .order_by("-plan__year", "added_at", "id")
    )
    if year is not None:
        plan_courses = plan_courses.filter(plan__year=year)
    if course_code is not None:
        plan_courses = plan_courses.filter(course__code=course_code)
    plan_courses = list(plan_courses)
    progress = {
        row.lesson_id: row
        for row in LessonProgress.objects.filter(
            learner=learner, plan_course__in=[pc.pk for pc in plan_courses]
        )
    }
    return [
        CourseState(
            plan_course=pc,
            lessons=[
                LessonState(lesson=lesson, progress=progress.get(lesson.pk))
                for lesson in pc.course.lessons.all()
            ],
        )
        for pc in plan_courses
    ]


def lesson_for_learner(*, learner: Learner, lesson_id: int) -> Lesson | None:
    """A lesson whose course is in one of the learner's plans (None otherwise)."""
    return (
        Lesson.objects.select_related("course")
        .filter(pk=lesson_id, course__plan_courses__learner=learner)
        .first()
    )


def study_history(*, learner: Learner) -> QuerySet[StudySession]:
    """The learner's study sessions, newest first, with what each one earned."""
    return (
        StudySession.objects.filter(learner=learner)
        .select_related("lesson__course", "progress")
        .annotate(credited_ms=Sum("heartbeats__credited_ms"), heartbeat_count=Count("heartbeats"))
        .order_by("-started_at")
    )


def heartbeats_of(*, session: StudySession, limit: int = 500) -> list[Heartbeat]:
    return list(session.heartbeats.order_by("received_at", "id")[:limit])


def sessions_with_heartbeats(*, learner: Learner, limit: int = 20) -> list[StudySession]:
    """The learner's latest sessions with their heartbeats, for the staff study page."""
    sessions = list(
        StudySession.objects.filter(learner=learner)
        .select_related("lesson__course")
        .order_by("-started_at")[:limit]
    )
    beats: dict[object, list[Heartbeat]] = {session.pk: [] for session in sessions}
    for heartbeat in Heartbeat.objects.filter(session__in=list(beats)).order_by(
        "received_at", "id"
    ):
        beats[heartbeat.session_id].append(heartbeat)
    for session in sessions:
        session.heartbeat_list = beats[session.pk]  # type: ignore[attr-defined]
    return sessions
