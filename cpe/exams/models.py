"""Course exams: question banks, each course's exam rules, and the attempts learners make."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from cpe.catalog.models import Course
from cpe.learning.models import PlanCourse
from cpe.registry.models import Learner


class Question(models.Model):
    """One question of a course's bank. Retired questions stay (inactive) for old papers."""

    class Kind(models.TextChoices):
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")
        TRUE_FALSE = "true_false", _("True or false")

    course = models.ForeignKey(
        Course, on_delete=models.PROTECT, related_name="questions", verbose_name=_("course")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    text = models.TextField(_("question"))
    explanation = models.TextField(_("explanation"), blank=True)
    # Only active questions are drawn into new papers.
    is_active = models.BooleanField(_("in use"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["course", "position", "id"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        indexes = [models.Index(fields=["course", "is_active", "kind"])]

    def __str__(self) -> str:
        return f"{self.course_id} #{self.pk} {self.text[:40]}"

    @property
    def audit_region_path(self) -> str:
        return self.course.region.path


class Option(models.Model):
    """One option of a question, in the order the course manager wrote them."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveSmallIntegerField(_("position"))
    text = models.CharField(_("option"), max_length=500)
    is_correct = models.BooleanField(_("correct"), default=False)

    class Meta:
        ordering = ["question", "position"]
        verbose_name = _("option")
        verbose_name_plural = _("options")
        constraints = [
            models.UniqueConstraint(fields=["question", "position"], name="option_position_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.question_id}.{self.position} {self.text[:30]}"


class ExamSettings(models.Model):
    """A course's own exam rules. An empty field takes the course region's rule for the year
    (RegionPolicy's exam_* fields, read through policy_for). Whether the course has an exam
    at all is Course.exam_required, since learning must know it too."""

    course = models.OneToOneField(Course, on_delete=models.CASCADE, related_name="exam_settings")
    single_count = models.PositiveSmallIntegerField(
        _("single-choice questions drawn"), null=True, blank=True
    )
    multiple_count = models.PositiveSmallIntegerField(
        _("multiple-choice questions drawn"), null=True, blank=True
    )
    true_false_count = models.PositiveSmallIntegerField(
        _("true/false questions drawn"), null=True, blank=True
    )
    shuffle_options = models.BooleanField(_("shuffle options"), null=True, blank=True)
    pass_mark = models.PositiveSmallIntegerField(
        _("pass mark (of 100)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    time_limit_minutes = models.PositiveSmallIntegerField(
        _("time limit (minutes)"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    attempts_per_year = models.PositiveSmallIntegerField(
        _("attempts per year"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    reset_on_exhaustion = models.BooleanField(
        _("study again when the attempts are used up"), null=True, blank=True
    )
    show_review = models.BooleanField(_("show answers after the exam"), null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("exam settings")
        verbose_name_plural = _("exam settings")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(pass_mark__isnull=True)
                | (models.Q(pass_mark__gte=1) & models.Q(pass_mark__lte=100)),
                name="exam_settings_pass_mark_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.course_id}"

    @property
    def audit_region_path(self) -> str:
        return self.course.region.path


class Attempt(models.Model):
    """One sitting of a course's exam by a learner, with the paper drawn for it."""

    class State(models.TextChoices):
        OPEN = "open", _("In progress")
        GRADED = "graded", _("Graded")

    class Closed(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        LATE = "late", _("Submitted after the time limit")
        EXPIRED = "expired", _("Closed when the time ran out")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    learner = models.ForeignKey(Learner, on_delete=models.PROTECT, related_name="+")
    plan_course = models.ForeignKey(
        PlanCourse, on_delete=models.PROTECT, related_name="exam_attempts"
    )
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="exam_attempts")
    # The plan's year, and the attempt's number within the plan course (1, 2, …, never reused).
    year = models.PositiveSmallIntegerField(_("year"))
    number = models.PositiveSmallIntegerField(_("attempt"))
    # Which round of attempts: 1, then one more after each reset of the course's progress.
    round = models.PositiveSmallIntegerField(default=1)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    started_at = models.DateTimeField(_("started"))
    deadline_at = models.DateTimeField(_("deadline"))
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    graded_at = models.DateTimeField(_("graded"), null=True, blank=True)
    closed_by = models.CharField(max_length=16, choices=Closed.choices, blank=True)
    # The rules in force when the attempt started; it is graded by them.
    pass_mark = models.PositiveSmallIntegerField(_("pass mark"))
    show_review = models.BooleanField(default=True)
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=1, null=True, blank=True)
    passed = models.BooleanField(_("passed"), null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["plan_course", "number"]
        verbose_name = _("exam attempt")
        verbose_name_plural = _("exam attempts")
        constraints = [
            # Refresh, back, two tabs or two devices find this one rather than making another.
            models.UniqueConstraint(
                fields=["learner", "course"],
                condition=models.Q(state="open"),
                name="exam_attempt_one_open_per_course",
            ),
            models.UniqueConstraint(
                fields=["plan_course", "number"], name="exam_attempt_number_unique"
            ),
        ]
        indexes = [
            # The periodic job's look-up of attempts left open past their deadline.
            models.Index(
                fields=["deadline_at"],
                condition=models.Q(state="open"),
                name="exam_attempt_open_deadline",
            ),
            models.Index(fields=["course", "state"]),
        ]

    def __str__(self) -> str:
        return f"{self.learner_id} {self.course_id} #{self.number} {self.state}"

    @property
    def audit_region_path(self) -> str:
        return self.learner.district.path

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OPEN


class AttemptQuestion(models.Model):
    """One question of an attempt's paper: the order shown, and the learner's saved answer."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="paper")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField()
    # Option ids in the order the learner sees them.
    option_order = models.JSONField(default=list)
    # The option ids chosen, as last saved (empty: not answered).
    chosen = models.JSONField(default=list)
    saved_at = models.DateTimeField(null=True, blank=True)
    correct = models.BooleanField(null=True, blank=True)
    points = models.DecimalField(max_digits=5, decimal_places=2, default=0)

    class Meta:
        ordering = ["attempt", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["attempt", "position"], name="attempt_question_position_unique"
            ),
            models.UniqueConstraint(
                fields=["attempt", "question"], name="attempt_question_once_per_paper"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.attempt_id} #{self.position}"


class ProgressReset(models.Model):
    """The attempts of a round were used up and the course's lessons must be studied again."""

    plan_course = models.ForeignKey(
        PlanCourse, on_delete=models.PROTECT, related_name="exam_resets"
    )
    # The round whose attempts were used up; the next attempts belong to round + 1.
    round = models.PositiveSmallIntegerField()
    attempts_used = models.PositiveSmallIntegerField()
    reset_at = models.DateTimeField()

    class Meta:
        ordering = ["plan_course", "round"]
        constraints = [
            models.UniqueConstraint(fields=["plan_course", "round"], name="exam_reset_once_a_round")
        ]

    def __str__(self) -> str:
        return f"{self.plan_course_id} round {self.round}"


class QuestionImport(models.Model):
    """An XLSX file of questions uploaded for a course's bank: its rows as read, checked on
    upload and again when the course manager confirms (cpe.exams.imports)."""

    class State(models.TextChoices):
        CHECKED = "checked", _("Checked, waiting for confirmation")
        APPLIED = "applied", _("Imported")
        ABANDONED = "abandoned", _("Abandoned")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="question_imports")
    file_name = models.CharField(_("file"), max_length=200)
    # [[row number as the spreadsheet shows it, {field: cell text}], ...]: small files only.
    rows = models.JSONField(default=list)
    state = models.CharField(max_length=16, choices=State.choices, default=State.CHECKED)
    total_rows = models.PositiveIntegerField(default=0)
    error_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("question import")
        verbose_name_plural = _("question imports")

    def __str__(self) -> str:
        return f"{self.course_id} {self.file_name}"

    @property
    def audit_region_path(self) -> str:
        return self.course.region.path
