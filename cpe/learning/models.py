"""A learner's study: year plans, the courses chosen into them, and verified study time."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from cpe.catalog.models import Course, Lesson
from cpe.registry.models import Learner


class YearPlan(models.Model):
    """A learner's study for one calendar year (the current year, or an earlier one made up)."""

    class Payment(models.TextChoices):
        FREE = "free", _("Free")
        PENDING = "pending", _("Waiting for payment")
        PAID = "paid", _("Paid")

    learner = models.ForeignKey(Learner, on_delete=models.PROTECT, related_name="year_plans")
    year = models.PositiveSmallIntegerField(_("year"))
    payment = models.CharField(
        _("payment"), max_length=16, choices=Payment.choices, default=Payment.FREE
    )
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    # Set once the year's rules are met by the courses completed in it.
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        ordering = ["learner", "year"]
        verbose_name = _("year plan")
        verbose_name_plural = _("year plans")
        constraints = [
            models.UniqueConstraint(fields=["learner", "year"], name="year_plan_one_per_year"),
        ]

    def __str__(self) -> str:
        return f"{self.learner_id} {self.year}"

    @property
    def audit_region_path(self) -> str:
        return self.learner.district.path

    @property
    def is_open_for_study(self) -> bool:
        return self.payment != self.Payment.PENDING


class PlanCourse(models.Model):
    """A course chosen into a year plan. A course counts toward one year only, per learner."""

    plan = models.ForeignKey(YearPlan, on_delete=models.CASCADE, related_name="plan_courses")
    # Repeated from the plan so that the database itself keeps "one year per course".
    learner = models.ForeignKey(Learner, on_delete=models.PROTECT, related_name="+")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="plan_courses")
    # What the course gives in this plan, fixed when it was chosen.
    category = models.CharField(max_length=16, choices=Course.Category.choices)
    credits = models.DecimalField(_("credits"), max_digits=5, decimal_places=1)
    added_at = models.DateTimeField(_("added"), auto_now_add=True)
    # Every lesson complete; cleared when the exam's attempts are used up and the course must
    # be studied again.
    lessons_completed_at = models.DateTimeField(_("lessons completed"), null=True, blank=True)
    # The course complete: its lessons, and its exam passed when it has one. Set only by
    # services.plan_course_complete, together with the CourseCompletion record.
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        ordering = ["plan", "added_at", "id"]
        verbose_name = _("course in a plan")
        verbose_name_plural = _("courses in plans")
        constraints = [
            models.UniqueConstraint(
                fields=["learner", "course"], name="plan_course_one_year_per_course"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} {self.course_id}"

    @property
    def audit_region_path(self) -> str:
        return self.plan.learner.district.path


class CourseCompletion(models.Model):
    """A course completed in a year plan and the credits it awards: at most one per plan course.

    The credit ledger (a later issue) consumes these records; until then the plan's totals are
    read from them through PlanCourse.completed_at.
    """

    class Basis(models.TextChoices):
        LESSONS = "lessons", _("Lessons completed (the course has no exam)")
        EXAM = "exam", _("Lessons completed and exam passed")

    # One-to-one: the database itself keeps "credits awarded once per course in a plan".
    plan_course = models.OneToOneField(
        PlanCourse, on_delete=models.PROTECT, related_name="completion"
    )
    learner = models.ForeignKey(Learner, on_delete=models.PROTECT, related_name="+")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    category = models.CharField(max_length=16, choices=Course.Category.choices)
    credits = models.DecimalField(_("credits"), max_digits=5, decimal_places=1)
    basis = models.CharField(max_length=16, choices=Basis.choices)
    # The passed exam attempt (cpe.exams.Attempt), by id: learning does not import exams.
    attempt_id = models.UUIDField(null=True, blank=True)
    score = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"))
    # When the credit ledger took the record over (empty until then).
    consumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-completed_at"]
        verbose_name = _("course completion")
        verbose_name_plural = _("course completions")
        indexes = [models.Index(fields=["learner", "year"])]

    def __str__(self) -> str:
        return f"{self.learner_id} {self.course_id} {self.year} {self.credits}"

    @property
    def audit_region_path(self) -> str:
        return self.learner.district.path


class LessonProgress(models.Model):
    """How much of a lesson the server has verified, and where to resume."""

    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="+")
    lesson = models.ForeignKey(Lesson, on_delete=models.PROTECT, related_name="progress")
    plan_course = models.ForeignKey(
        PlanCourse, on_delete=models.CASCADE, related_name="lesson_progress"
    )
    verified_ms = models.PositiveBigIntegerField(default=0)
    # The furthest point reached by verified play; seeking beyond it is not allowed.
    furthest_ms = models.PositiveBigIntegerField(default=0)
    # Where the learner was last (to resume).
    position_ms = models.PositiveBigIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("lesson progress")
        verbose_name_plural = _("lesson progress")
        constraints = [
            models.UniqueConstraint(fields=["learner", "lesson"], name="lesson_progress_unique"),
        ]
        indexes = [models.Index(fields=["learner", "-updated_at"])]

    def __str__(self) -> str:
        return f"{self.learner_id} {self.lesson_id} {self.verified_ms} ms"


class StudySession(models.Model):
    """One playing of one lesson in one tab; a learner has at most one active at a time."""

    class State(models.TextChoices):
        ACTIVE = "active", _("Playing")
        TAKEN_OVER = "taken_over", _("Taken over by another tab or device")
        ENDED = "ended", _("Ended")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="+")
    lesson = models.ForeignKey(Lesson, on_delete=models.PROTECT, related_name="+")
    progress = models.ForeignKey(LessonProgress, on_delete=models.CASCADE, related_name="sessions")
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    started_at = models.DateTimeField(auto_now_add=True)
    # Server time of the last accepted heartbeat, and what it said.
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    last_seq = models.BigIntegerField(default=-1)
    last_position_ms = models.PositiveBigIntegerField(default=0)
    # The region's study rules when the session started (interval, rate, checks, completion):
    # one lesson's playing is judged by one set of rules, and no policy lookup per heartbeat.
    rules = models.JSONField(default=dict)
    # An attention check: when it falls due, and when it was put to the learner.
    attention_due_at = models.DateTimeField(null=True, blank=True)
    attention_asked_at = models.DateTimeField(null=True, blank=True)
    attention_question = models.CharField(max_length=16, blank=True)
    attention_answer = models.CharField(max_length=8, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("study session")
        verbose_name_plural = _("study sessions")
        constraints = [
            models.UniqueConstraint(
                fields=["learner"],
                condition=models.Q(state="active"),
                name="study_session_one_active_per_learner",
            ),
        ]
        indexes = [models.Index(fields=["learner", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.learner_id} {self.lesson_id} {self.state}"


class Heartbeat(models.Model):
    """What the player reported and what the server credited for it: support reads these."""

    # No index of its own: the (session, received_at) index below serves every look-up by
    # session, and each heartbeat written costs one index fewer.
    session = models.ForeignKey(
        StudySession, on_delete=models.CASCADE, related_name="heartbeats", db_index=False
    )
    received_at = models.DateTimeField()
    seq = models.BigIntegerField()
    # As reported by the browser (never trusted; kept to explain the verdict).
    position_ms = models.BigIntegerField()
    state = models.CharField(max_length=16)
    rate = models.DecimalField(max_digits=5, decimal_places=2)
    # What the server decided.
    credited_ms = models.PositiveIntegerField(default=0)
    verdict = models.CharField(max_length=32)

    class Meta:
        ordering = ["session", "received_at", "id"]
        indexes = [models.Index(fields=["session", "received_at"])]

    def __str__(self) -> str:
        return f"{self.session_id} #{self.seq} {self.verdict}"
