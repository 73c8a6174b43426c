"""The credit ledger (append-only, hash-chained per learner) and each learner's yearly status."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cpe.catalog.models import Course
from cpe.core.models import AppendOnlyError
from cpe.learning.models import CourseCompletion
from cpe.registry.models import Learner


class LedgerQuerySet(models.QuerySet):
    """Ledger rows are written once: corrections are reversing entries, never edits."""

    def update(self, **kwargs: object) -> int:
        raise AppendOnlyError("Ledger entries cannot be changed; record a reversing entry.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Ledger entries cannot be deleted; record a reversing entry.")


class CreditEntry(models.Model):
    """Credits a learner earned (or a reversal of such credits) for one year and category.

    Rows are never updated or deleted: the model and its querysets refuse, and on
    PostgreSQL a trigger refuses too. Each row stores the SHA-256 of its own fields and the
    previous row's hash for the same learner, so `verify_ledger` finds edits made behind
    the application's back.
    """

    Category = Course.Category

    class Source(models.TextChoices):
        PLATFORM_COURSE = "platform_course", _("Course on this platform")
        EXAM = "exam", _("Examination passed")
        DEGREE_COURSE = "degree_course", _("Degree course")
        PROFESSIONAL_MEETING = "professional_meeting", _("Professional meeting")
        RESEARCH_PROJECT = "research_project", _("Research project")
        PAPER = "paper", _("Published paper")
        BOOK = "book", _("Published book")
        FACE_TO_FACE = "face_to_face", _("Face-to-face training")
        OTHER = "other", _("Other")

    learner = models.ForeignKey(
        Learner, on_delete=models.PROTECT, related_name="credit_entries", verbose_name=_("learner")
    )
    year = models.PositiveSmallIntegerField(_("year"))
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    credits = models.DecimalField(_("credits"), max_digits=6, decimal_places=1)
    source = models.CharField(_("source"), max_length=32, choices=Source.choices)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    # The course completion this entry records: the database keeps it to one entry each.
    completion = models.OneToOneField(
        CourseCompletion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_entry",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    recorded_by_label = models.CharField(_("recorded by"), max_length=150)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("approved by"),
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    # One reversal at most per entry, and never of a reversal (the service checks that).
    reverses = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
        verbose_name=_("reverses"),
    )
    previous_hash = models.CharField(max_length=64, blank=True)
    entry_hash = models.CharField(max_length=64)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["learner", "id"]
        verbose_name = _("credit entry")
        verbose_name_plural = _("credit ledger")
        indexes = [models.Index(fields=["learner", "year"])]
        constraints = [
            # Credits are positive; only a reversing entry carries a negative amount.
            models.CheckConstraint(
                condition=Q(reverses__isnull=True, credits__gt=0)
                | Q(reverses__isnull=False, credits__lt=0),
                name="credit_entry_sign_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.learner_id} {self.year} {self.category} {self.credits}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise AppendOnlyError("Ledger entries cannot be changed; record a reversing entry.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Ledger entries cannot be deleted; record a reversing entry.")

    @property
    def audit_region_path(self) -> str:
        return self.learner.district.path


class YearStatus(models.Model):
    """Where a learner stands in a year, as the status engine last computed it from the ledger.

    Learning's YearPlan.completed_at is a separate, narrower fact: the plan's own courses met
    the rules (it gates the study of later years). See year_plan_refresh_completion.
    """

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", _("Not started")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETE = "complete", _("Complete")
        REVOKED = "revoked", _("Revoked")

    learner = models.ForeignKey(
        Learner, on_delete=models.PROTECT, related_name="year_statuses", verbose_name=_("learner")
    )
    year = models.PositiveSmallIntegerField(_("year"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.NOT_STARTED
    )
    total_credits = models.DecimalField(_("credits"), max_digits=7, decimal_places=1, default=0)
    professional_credits = models.DecimalField(
        _("professional credits"), max_digits=7, decimal_places=1, default=0
    )
    public_credits = models.DecimalField(
        _("public credits"), max_digits=7, decimal_places=1, default=0
    )
    # When the year's rules were first met (kept when a reversal revokes the year).
    met_at = models.DateTimeField(_("rules first met"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["learner", "year"]
        verbose_name = _("yearly status")
        verbose_name_plural = _("yearly statuses")
        constraints = [
            models.UniqueConstraint(fields=["learner", "year"], name="year_status_one_per_year"),
        ]

    def __str__(self) -> str:
        return f"{self.learner_id} {self.year} {self.status}"


class YearStatusChange(models.Model):
    """One change of a learner's yearly status, kept for the province's records (append-only)."""

    learner = models.ForeignKey(Learner, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    from_status = models.CharField(max_length=16, choices=YearStatus.Status.choices)
    to_status = models.CharField(max_length=16, choices=YearStatus.Status.choices)
    # The entry whose arrival changed it (empty when a recomputation did).
    entry = models.ForeignKey(
        CreditEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(_("time"), default=timezone.now)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["learner", "year", "id"]
        verbose_name = _("yearly status change")
        verbose_name_plural = _("yearly status changes")
        indexes = [models.Index(fields=["learner", "year"])]

    def __str__(self) -> str:
        return f"{self.learner_id} {self.year} {self.from_status}->{self.to_status}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise AppendOnlyError("Status changes cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Status changes cannot be deleted.")
