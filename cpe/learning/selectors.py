"""Reads of learning: a learner's years and their states, a plan's progress toward the
year's rules, where to continue, and the courses a plan can take; a learner's lessons with
their verified progress, and the heartbeat record support reads to answer "my video
doesn't count"."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Prefetch, QuerySet, Sum
from django.utils import timezone

from cpe.catalog.models import Course, Lesson
from cpe.catalog.selectors import PolicyCache, course_credits
from cpe.learning.models import Heartbeat, LessonProgress, PlanCourse, StudySession, YearPlan
from cpe.learning.study import VERDICT_LABELS
from cpe.learning.years import (
    Blocker,
    blocker_message,
    completed_years,
    required_years,
    study_allowed,
    year_blocker,
)
from cpe.regions.policy import Policy, policy_for
from cpe.registry.models import Learner


def learner_for_user(user: object) -> Learner | None:
    """The learner record behind a signed-in learner's account (None for anyone else)."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Learner.objects.select_related("district").filter(user=user).first()


# --- A plan's progress toward the year's rules --------------------------------------------


def _percent(part: Decimal, whole: int) -> int:
    if whole <= 0:
        return 100
    return min(100, int(part * 100 / whole))


@dataclass(frozen=True)
class RuleProgress:
    """One rule of the year (total, or professional credits): earned, chosen, required."""

    required: int
    earned: Decimal
    chosen: Decimal

    @property
    def met(self) -> bool:
        return self.earned >= self.required

    @property
    def reachable(self) -> bool:
        return self.chosen >= self.required

    @property
    def missing(self) -> Decimal:
        """Credits still to choose before the chosen courses can meet the rule."""
        return max(Decimal(0), self.required - self.chosen)

    @property
    def earned_percent(self) -> int:
        return _percent(self.earned, self.required)

    @property
    def chosen_percent(self) -> int:
        return _percent(self.chosen, self.required)


@dataclass(frozen=True)
class PlanProgress:
    plan: YearPlan
    policy: Policy
    total: RuleProgress
    professional: RuleProgress
    courses: list[PlanCourse] = field(default_factory=list)
    blocker: Blocker | None = None

    @property
    def blocker_message(self) -> str:
        return blocker_message(self.blocker) if self.blocker else ""

    @property
    def professional_out_of_reach(self) -> bool:
        """The chosen courses cannot reach the professional minimum, even all completed."""
        return not self.professional.reachable

    @property
    def total_out_of_reach(self) -> bool:
        return not self.total.reachable


def plan_progress(plan: YearPlan) -> PlanProgress:
    """The plan's courses and how far they take the learner toward the year's rules."""
    courses = list(
        PlanCourse.objects.filter(plan=plan).select_related("course").order_by("added_at", "id")
    )
    policy = policy_for(plan.learner.district, plan.year)
    earned = [c for c in courses if c.completed_at is not None]

    def credits(items: list[PlanCourse], professional: bool = False) -> Decimal:
        return sum(
            (c.credits for c in items if not professional or c.category == "professional"),
            Decimal(0),
        )

    return PlanProgress(
        plan=plan,
        policy=policy,
        total=RuleProgress(policy.annual_credits, credits(earned), credits(courses)),
        professional=RuleProgress(
            policy.professional_credits, credits(earned, True), credits(courses, True)
        ),
        courses=courses,
        blocker=study_allowed(plan.learner, plan),
    )


# --- The learner's years ------------------------------------------------------------------


@dataclass(frozen=True)
class YearState:
    """One year on the dashboard: its plan (if opened) and whether it can be studied now."""

    year: int
    plan: YearPlan | None
    blocker: Blocker | None

    @property
    def state(self) -> str:
        """complete, open, payment_pending, blocked or not_opened."""
        if self.plan is not None and self.plan.completed_at is not None:
            return "complete"
        if self.blocker is not None and self.blocker.rule != "payment_pending":
            return "blocked"
        if self.plan is not None:
            return "open" if self.plan.is_open_for_study else "payment_pending"
        return "not_opened"

    @property
    def blocker_message(self) -> str:
        return blocker_message(self.blocker) if self.blocker else ""

    @property
    def may_open(self) -> bool:
        return self.plan is None and self.blocker is None


def learner_years(learner: Learner, *, today: datetime.date | None = None) -> list[YearState]:
    """Every year the learner must do (or has a plan for), oldest first, with its state."""
    today = today or timezone.localdate()
    plans = {plan.year: plan for plan in YearPlan.objects.filter(learner=learner)}
    done = completed_years(learner)
    years = sorted(set(required_years(learner, today=today)) | set(plans))
    states = []
    for year in years:
        plan = plans.get(year)
        if plan is not None:
            blocker = study_allowed(learner, plan, today=today)
        else:
            blocker = year_blocker(learner, year, completed_years=done, today=today)
        states.append(YearState(year=year, plan=plan, blocker=blocker))
    return states


def year_state(learner: Learner, year: int) -> YearState:
    plan = YearPlan.objects.filter(learner=learner, year=year).first()
    if plan is not None:
        return YearState(year=year, plan=plan, blocker=study_allowed(learner, plan))
    blocker = year_blocker(learner, year, completed_years=completed_years(learner))
    return YearState(year=year, plan=None, blocker=blocker)


def continue_where_left_off(learner: Learner) -> LessonProgress | None:
    """The lesson most recently studied and not yet complete."""
    return (
        LessonProgress.objects.filter(learner=learner, completed_at__isnull=True)
        .select_related("lesson__course", "plan_course__plan")
        .order_by("-updated_at")
        .first()
    )


def plan_course_years(learner: Learner, courses: list[Course]) -> dict[int, int]:
    """For each of `courses` the learner has chosen: the year of the plan that holds it."""
    return dict(
        PlanCourse.objects.filter(learner=learner, course__in=courses).values_list(
            "course_id", "plan__year"
        )
    )


def courses_credits(courses: list[Course], year: int) -> dict[int, Decimal]:
    """What each course gives in `year`, by its own region's rules (one look-up per region)."""
    policies = PolicyCache()
    return {course.pk: course_credits(course, year, policies) for course in courses}


# --- Study: lessons with their verified progress, history, the heartbeat record -------


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
        heartbeat.verdict_label = VERDICT_LABELS.get(heartbeat.verdict, heartbeat.verdict)  # type: ignore[attr-defined]
        beats[heartbeat.session_id].append(heartbeat)
    for session in sessions:
        session.heartbeat_list = beats[session.pk]  # type: ignore[attr-defined]
    return sessions
