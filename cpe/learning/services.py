"""Writes owned by learning: year plans, course choice, verified study time."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from cpe.catalog.models import Course, CourseYear
from cpe.core.services import Actor, audit_record
from cpe.learning.hooks import completion_recorded
from cpe.learning.models import CourseCompletion, LessonProgress, PlanCourse, YearPlan
from cpe.learning.payments import payment_backend
from cpe.learning.years import (
    Blocker,
    blocker_message,
    completed_years,
    study_allowed,
    year_blocker,
)
from cpe.regions.policy import policy_for
from cpe.registry.models import Learner


class StudyRefused(Exception):
    """A year plan or a course choice the rules forbid: `code` names the rule, `message`
    says it to the learner, `year` is the year it points to (to finish first, or that
    already holds the course)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        year: int | None = None,
        status: int = 400,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.year = year
        # For the study calls (cpe.learning.study): the HTTP status and field errors.
        self.status = status
        self.fields = fields or {}

    @classmethod
    def from_blocker(cls, blocker: Blocker) -> StudyRefused:
        return cls(blocker.rule, blocker_message(blocker), year=blocker.year)


def plan_credits(plan: YearPlan) -> tuple[Decimal, Decimal]:
    """Credits of the courses completed in the plan: (total, professional)."""
    totals = PlanCourse.objects.filter(plan=plan, completed_at__isnull=False).aggregate(
        total=Sum("credits"),
        professional=Sum("credits", filter=Q(category="professional")),
    )
    return totals["total"] or Decimal(0), totals["professional"] or Decimal(0)


@transaction.atomic
def year_plan_refresh_completion(*, actor: Actor, plan: YearPlan) -> bool:
    """Mark the plan complete once its completed courses meet the year's rules.

    Called whenever a course in the plan completes. Returns whether the plan is complete.
    The plan counts only its own completed courses and gates study of later years; the
    credit ledger (cpe.credits) keeps the yearly status over credits of every source, with
    the same rule from the region's data. A completion reaches both in one transaction, so
    a plan complete from its courses is complete in the ledger too; the ledger can also be
    complete from other credits while the plan is not.
    """
    plan = YearPlan.objects.select_for_update().select_related("learner__district").get(pk=plan.pk)
    if plan.completed_at is not None:
        return True
    policy = policy_for(plan.learner.district, plan.year)
    total, professional = plan_credits(plan)
    if total >= policy.annual_credits and professional >= policy.professional_credits:
        plan.completed_at = timezone.now()
        plan.save(update_fields=["completed_at"])
        audit_record(
            actor=actor,
            action="year_plan.complete",
            target=plan,
            after={"year": plan.year, "credits": total, "professional_credits": professional},
        )
        return True
    return False


# --- Year plans -----------------------------------------------------------------------


def year_plan_open(*, actor: Actor, learner: Learner, year: int) -> YearPlan:
    """Open the learner's plan for `year`, or return the one already open.

    The year must be allowed by the region's rules (years.year_blocker); a refusal names
    the rule and, under sequencing, the year to finish first. Where the region charges a
    fee the payment backend is asked to start a payment and the plan waits for it.
    """
    existing = YearPlan.objects.filter(learner=learner, year=year).first()
    if existing is not None:
        return existing
    blocker = year_blocker(learner, year, completed_years=completed_years(learner))
    if blocker is not None:
        raise StudyRefused.from_blocker(blocker)
    policy = policy_for(learner.district, year)
    payment = YearPlan.Payment.FREE if policy.is_free else YearPlan.Payment.PENDING
    try:
        with transaction.atomic():
            plan = YearPlan.objects.create(learner=learner, year=year, payment=payment)
            audit_record(
                actor=actor,
                action="year_plan.open",
                target=plan,
                after={"year": year, "payment": payment, "fee": policy.plan_fee},
            )
    except IntegrityError:
        # Two tabs opened the same year at once: the other one won, and that is the plan.
        return YearPlan.objects.get(learner=learner, year=year)
    if payment == YearPlan.Payment.PENDING:
        payment_backend().start(plan=plan, amount=policy.plan_fee)
    return plan


@transaction.atomic
def year_plan_payment_confirm(*, actor: Actor, plan: YearPlan) -> YearPlan:
    """The payment of a plan has arrived (called by a payment backend's callback)."""
    plan = YearPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.payment != YearPlan.Payment.PENDING:
        return plan
    plan.payment = YearPlan.Payment.PAID
    plan.save(update_fields=["payment"])
    audit_record(
        actor=actor,
        action="year_plan.paid",
        target=plan,
        before={"payment": YearPlan.Payment.PENDING},
        after={"payment": plan.payment},
    )
    return plan


# --- Course choice --------------------------------------------------------------------


def course_choice_blocker(learner: Learner, plan: YearPlan, course: Course) -> StudyRefused | None:
    """Why `course` cannot be chosen into `plan` (None: it can). Also used by the
    selection page to explain each course that it cannot offer."""
    if not course.is_published:
        return StudyRefused("course_not_published", _("This course is not open for study."))
    if not learner.district.path.startswith(course.region.path):
        return StudyRefused(
            "course_other_region", _("This course belongs to another region's catalog.")
        )
    if not CourseYear.objects.filter(course=course, year=plan.year).exists():
        return StudyRefused(
            "course_not_offered",
            _("This course is not offered for %(year)s.") % {"year": plan.year},
        )
    if not course.is_for_level(learner.qualification_level):
        return StudyRefused(
            "course_other_level", _("This course is not meant for your qualification level.")
        )
    holder = (
        PlanCourse.objects.filter(learner=learner, course=course).select_related("plan").first()
    )
    if holder is not None:
        return _course_held(holder.plan.year, plan.year)
    return None


def _course_held(holder_year: int, year: int) -> StudyRefused:
    if holder_year == year:
        return StudyRefused(
            "course_already_chosen", _("This course is already in this plan."), year=year
        )
    return StudyRefused(
        "course_in_other_year",
        _("This course is already in your plan for %(year)s: a course counts toward one year only.")
        % {"year": holder_year},
        year=holder_year,
    )


def plan_course_add(*, actor: Actor, plan: YearPlan, course: Course) -> PlanCourse:
    """Choose a course into a plan, fixing the credits it gives there."""
    learner = plan.learner
    blocker = study_allowed(learner, plan)
    if blocker is not None:
        raise StudyRefused.from_blocker(blocker)
    refused = course_choice_blocker(learner, plan, course)
    if refused is not None:
        raise refused
    credits = policy_for(course.region, plan.year).credits_for(course.class_hours)
    try:
        with transaction.atomic():
            chosen = PlanCourse.objects.create(
                plan=plan, learner=learner, course=course, category=course.category, credits=credits
            )
            audit_record(
                actor=actor,
                action="plan_course.add",
                target=chosen,
                after={"year": plan.year, "course": course.code, "credits": credits},
            )
    except IntegrityError:
        # Chosen at the same moment into another year (or twice): the database kept one.
        holder = PlanCourse.objects.select_related("plan").get(learner=learner, course=course)
        raise _course_held(holder.plan.year, plan.year) from None
    return chosen


def plan_course_remove(*, actor: Actor, plan_course: PlanCourse) -> None:
    """Take a course out of a plan, only while no study time has been credited on it."""
    # Time credited in the heartbeat buffer is written first, and no heartbeat changes
    # the learner's progress until this has committed.
    from cpe.learning.heartbeat_buffer import learner_sessions_held  # builds on this module

    with learner_sessions_held(plan_course.learner_id), transaction.atomic():
        _plan_course_remove(actor=actor, plan_course=plan_course)


def _plan_course_remove(*, actor: Actor, plan_course: PlanCourse) -> None:
    plan_course = (
        PlanCourse.objects.select_for_update()
        .select_related("plan__learner__district", "course")
        .get(pk=plan_course.pk)
    )
    # Locking the progress rows makes a heartbeat crediting this course right now wait.
    progress = LessonProgress.objects.select_for_update().filter(plan_course=plan_course)
    studied = plan_course.completed_at is not None or any(p.verified_ms > 0 for p in progress)
    if studied:
        raise StudyRefused(
            "course_studied",
            _("Study time has already been credited on this course, so it stays in the plan."),
            year=plan_course.plan.year,
        )
    audit_record(
        actor=actor,
        action="plan_course.remove",
        target=plan_course,
        before={
            "year": plan_course.plan.year,
            "course": plan_course.course.code,
            "credits": plan_course.credits,
        },
    )
    try:
        plan_course.delete()
    except ProtectedError:
        # Records of later parts rest on it (exam attempts, after a reset of its lessons).
        raise StudyRefused(
            "course_studied",
            _("Study time has already been credited on this course, so it stays in the plan."),
            year=plan_course.plan.year,
        ) from None


# --- Course completion ----------------------------------------------------------------


class PassedAttempt(Protocol):
    """What completion needs of a passed exam attempt (cpe.exams.models.Attempt)."""

    pk: Any
    score: Decimal | None
    passed: bool | None


def plan_course_lessons_complete(
    *, actor: Actor, plan_course: PlanCourse, now: datetime | None = None
) -> bool:
    """Every lesson of the course is complete in this plan: mark it, and complete the course
    when it has no exam (with an exam, a passed attempt completes it). Returns whether this
    call made the mark. Runs inside the caller's transaction (the heartbeat's)."""
    now = now or timezone.now()
    with transaction.atomic():
        marked = PlanCourse.objects.filter(
            pk=plan_course.pk, lessons_completed_at__isnull=True
        ).update(lessons_completed_at=now)
        if not marked:
            return False
        chosen = PlanCourse.objects.select_related("course", "plan").get(pk=plan_course.pk)
        audit_record(
            actor=actor,
            action="plan_course.lessons_complete",
            target=chosen,
            after={"course": chosen.course.code, "year": chosen.plan.year},
        )
        if not chosen.course.exam_required:
            plan_course_complete(actor=actor, plan_course=chosen, now=now)
    return True


def plan_course_complete(
    *,
    actor: Actor,
    plan_course: PlanCourse,
    attempt: PassedAttempt | None = None,
    now: datetime | None = None,
) -> CourseCompletion:
    """Complete a course in a plan and award its credits, exactly once.

    The lessons must be complete, and, for a course with an exam, `attempt` is the passed
    attempt. The credits are those fixed on the plan course when it was chosen (class hours
    × the course region's credits per class hour for the plan's year). A second call, even
    at the same moment from another thread or server, returns the record the first made:
    the plan course's row lock orders the callers and the one-to-one constraint would
    refuse a second record in any case. The plan's year is then checked for completion.
    """
    now = now or timezone.now()
    with transaction.atomic():
        chosen = (
            PlanCourse.objects.select_for_update()
            .select_related("plan", "course", "learner__district")
            .get(pk=plan_course.pk)
        )
        existing = CourseCompletion.objects.filter(plan_course=chosen).first()
        if existing is not None:
            return existing
        if chosen.lessons_completed_at is None:
            raise StudyRefused(
                "lessons_incomplete",
                _("Complete every lesson of the course first."),
                status=409,
            )
        if chosen.course.exam_required and (attempt is None or not attempt.passed):
            raise StudyRefused(
                "exam_not_passed", _("The course's exam has not been passed yet."), status=409
            )
        try:
            with transaction.atomic():
                completion = CourseCompletion.objects.create(
                    plan_course=chosen,
                    learner=chosen.learner,
                    course=chosen.course,
                    year=chosen.plan.year,
                    category=chosen.category,
                    credits=chosen.credits,
                    basis=CourseCompletion.Basis.EXAM
                    if attempt is not None
                    else CourseCompletion.Basis.LESSONS,
                    attempt_id=_uuid_or_none(attempt.pk) if attempt is not None else None,
                    score=attempt.score if attempt is not None else None,
                    completed_at=now,
                )
        except IntegrityError:
            return CourseCompletion.objects.get(plan_course=chosen)
        chosen.completed_at = now
        chosen.save(update_fields=["completed_at"])
        audit_record(
            actor=actor,
            action="plan_course.complete",
            target=chosen,
            after={
                "course": chosen.course.code,
                "year": chosen.plan.year,
                "credits": chosen.credits,
                "basis": completion.basis,
                "attempt": completion.attempt_id,
                "score": completion.score,
            },
        )
        # The credit ledger records the completion in this same transaction.
        completion_recorded(actor=actor, completion=completion)
        year_plan_refresh_completion(actor=actor, plan=chosen.plan)
    return completion


def _uuid_or_none(value: Any) -> UUID | None:
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError:
        return None


def plan_course_study_again(
    *, actor: Actor, plan_course: PlanCourse, reason: str, now: datetime | None = None
) -> int:
    """Clear the course's lesson progress in this plan so that it must be studied again
    (its exam attempts were used up). A completed course is never reset. Returns how many
    lessons lost their progress."""
    # As for removing a course: the buffer's time first, no heartbeat until committed.
    from cpe.learning.heartbeat_buffer import learner_sessions_held  # builds on this module

    with learner_sessions_held(plan_course.learner_id), transaction.atomic():
        chosen = (
            PlanCourse.objects.select_for_update()
            .select_related("plan", "course", "learner__district")
            .get(pk=plan_course.pk)
        )
        if chosen.completed_at is not None:
            raise StudyRefused(
                "course_complete", _("A completed course is not studied again."), status=409
            )
        progress = LessonProgress.objects.select_for_update().filter(plan_course=chosen)
        completed = sum(1 for row in progress if row.completed_at is not None)
        cleared = progress.update(
            verified_ms=0,
            furthest_ms=0,
            position_ms=0,
            completed_at=None,
            updated_at=now or timezone.now(),
        )
        before = chosen.lessons_completed_at
        chosen.lessons_completed_at = None
        chosen.save(update_fields=["lessons_completed_at"])
        audit_record(
            actor=actor,
            action="plan_course.study_again",
            target=chosen,
            before={"lessons_completed_at": before, "lessons_completed": completed},
            after={"lessons_completed_at": None, "lessons_completed": 0},
            reason=reason,
        )
    return cleared
