"""The credit ledger (append-only, hash-chained per learner), each learner's yearly status, and
credit registration: the conversion table per region and year, applications, officers' imports."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cpe.catalog.models import Course
from cpe.core.models import AppendOnlyError, Job
from cpe.learning.models import CourseCompletion
from cpe.regions.models import Region
from cpe.registry.models import Learner, private_storage

# Ledger key ids are kept beside every entry and head they sealed (cpe/credits/chain.py).
LEDGER_KEY_ID_LENGTH = 16
EVIDENCE_MAX_LENGTH = 200


class LedgerQuerySet(models.QuerySet):
    """Ledger rows are written once: corrections are reversing entries, never edits."""

    def update(self, **kwargs: object) -> int:
        raise AppendOnlyError("Ledger entries cannot be changed; record a reversing entry.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Ledger entries cannot be deleted; record a reversing entry.")


class CreditEntry(models.Model):
    """Credits a learner earned (or a reversal of such credits) for one year and category.

    Rows are never updated or deleted: the model and its querysets refuse, and on
    PostgreSQL a trigger refuses too. Each row stores an HMAC-SHA256 of its own fields and
    the previous row's hash for the same learner, keyed with the ledger key named by
    `key_id`, and the learner's `LedgerHead` counts the chain and seals its last hash, so
    `verify_ledger` finds edits, removals and rehashing made behind the application's back
    (cpe/credits/chain.py).
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

    # Indexed by `credit_entry_recorded_order`, which starts with it.
    learner = models.ForeignKey(
        Learner,
        on_delete=models.PROTECT,
        related_name="credit_entries",
        verbose_name=_("learner"),
        db_index=False,
    )
    year = models.PositiveSmallIntegerField(_("year"))
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    credits = models.DecimalField(_("credits"), max_digits=6, decimal_places=1)
    source = models.CharField(_("source"), max_length=32, choices=Source.choices)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    # What the credits rest on: "sha256:<hex>" of an application's evidence file, or the
    # document an officer names; blank for a course on the platform (its completion is the
    # evidence). The database default lets bulk SQL loads leave it out.
    evidence = models.CharField(
        _("evidence"), max_length=EVIDENCE_MAX_LENGTH, blank=True, default="", db_default=""
    )
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
    # The year's credits as recorded up to and including this entry, in the order entries
    # were recorded (time, then id), as whole tenths: all of them and the professional ones.
    # Written once on append, under the learner's lock; left empty for an entry recorded
    # with a time before the year's latest, since the sums of the entries after it would
    # then leave it out. Derived data, not sealed: `verify_ledger` checks them against the
    # credits, and the recomputation reads them only for a year where none is empty.
    running_total = models.IntegerField(null=True, blank=True, editable=False)
    running_professional = models.IntegerField(null=True, blank=True, editable=False)
    previous_hash = models.CharField(max_length=64, blank=True)
    entry_hash = models.CharField(max_length=64)
    # Which of LEDGER_KEYS sealed `entry_hash` (the first at the time), so keys can rotate.
    key_id = models.CharField(
        max_length=LEDGER_KEY_ID_LENGTH, blank=True, default="", db_default=""
    )

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["learner", "id"]
        verbose_name = _("credit entry")
        verbose_name_plural = _("credit ledger")
        indexes = [
            # A learner's entries year by year in the order they were recorded, with what
            # the yearly status counts: the recomputation reads the whole ledger from this
            # index alone, in order, without a sort. (Key columns rather than INCLUDE, which
            # SQLite lacks; `id` is unique, so the columns after it never decide an order.)
            models.Index(
                fields=[
                    "learner",
                    "year",
                    "created_at",
                    "id",
                    "category",
                    "source",
                    "credits",
                    "running_total",
                    "running_professional",
                ],
                name="credit_entry_recorded_order",
            )
        ]
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


class LedgerHead(models.Model):
    """Where a learner's chain of entries ends, sealed with the ledger key.

    Written in the same transaction as each entry, under the learner's lock. The entries
    alone cannot show that their newest ones were deleted (what remains is a whole chain);
    the head still counts them and names the last. Never deleted (on PostgreSQL a trigger
    refuses).
    """

    learner = models.OneToOneField(
        Learner,
        primary_key=True,
        on_delete=models.PROTECT,
        related_name="ledger_head",
        verbose_name=_("learner"),
    )
    entry_count = models.PositiveIntegerField()
    last_entry = models.ForeignKey(CreditEntry, on_delete=models.PROTECT, related_name="+")
    last_hash = models.CharField(max_length=64)
    key_id = models.CharField(max_length=LEDGER_KEY_ID_LENGTH)
    head_hash = models.CharField(max_length=64)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("ledger head")
        verbose_name_plural = _("ledger heads")

    def __str__(self) -> str:
        return f"{self.learner_id} {self.entry_count} {self.last_entry_id}"


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

    # Indexed by `year_status_one_per_year`, which starts with it.
    learner = models.ForeignKey(
        Learner,
        on_delete=models.PROTECT,
        related_name="year_statuses",
        verbose_name=_("learner"),
        db_index=False,
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
            # On PostgreSQL its index also covers the rest of the row (migration 0008), so
            # that the recomputation reads every stored row from it alone, in order.
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


# --- Credit registration ------------------------------------------------------------------


class ConversionRule(models.Model):
    """One line of a region's conversion table from one year on: how an activity outside the
    platform converts to credits, and what an application for it must carry.

    The table that applies to a region in a year is that of the nearest region up the tree
    with rows, taking its latest `effective_from` not after the year (cpe.credits.conversion);
    without any rows the national values of 财会〔2018〕10号 apply.
    """

    class Unit(models.TextChoices):
        ITEM = "item", _("per item")
        DAY = "day", _("per day")

    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="conversion_rules", verbose_name=_("region")
    )
    effective_from = models.PositiveSmallIntegerField(_("applies from year"))
    kind = models.CharField(_("kind of activity"), max_length=32)
    source = models.CharField(_("source"), max_length=32, choices=CreditEntry.Source.choices)
    # Empty: the learner (or the officer) chooses public or professional.
    category = models.CharField(
        _("category"), max_length=16, blank=True, choices=CreditEntry.Category.choices
    )
    credits_per_unit = models.DecimalField(_("credits per unit"), max_digits=6, decimal_places=1)
    unit = models.CharField(_("unit"), max_length=8, choices=Unit.choices, default=Unit.ITEM)
    min_credits = models.DecimalField(_("lowest credits granted"), max_digits=6, decimal_places=1)
    max_credits = models.DecimalField(_("highest credits granted"), max_digits=6, decimal_places=1)
    evidence_required = models.BooleanField(_("evidence required"), default=True)
    detail_fields = models.JSONField(_("details asked for"), default=list)
    is_active = models.BooleanField(_("open for applications"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["region", "-effective_from", "id"]
        verbose_name = _("conversion rule")
        verbose_name_plural = _("conversion table")
        constraints = [
            models.UniqueConstraint(
                fields=["region", "effective_from", "kind"], name="conversion_rule_one_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.region_id} {self.effective_from} {self.kind}"

    @property
    def audit_region_path(self) -> str:
        return self.region.path


def application_evidence_upload_to(instance: CreditApplication, filename: str) -> str:
    # A random name: a scan's file name often carries the person's name or ID number.
    suffix = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
    return (
        f"credit-evidence/{instance.learner_id}/{uuid.uuid4().hex}"
        f"{suffix.get(instance.evidence_type, '')}"
    )


class CreditApplication(models.Model):
    """A learner's application to have credits earned outside the platform recognised.

    The district officer approves it (one ledger entry, in the same transaction) or rejects
    it with a reason; the learner may withdraw it while it waits.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for the district bureau")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    learner = models.ForeignKey(
        Learner,
        on_delete=models.PROTECT,
        related_name="credit_applications",
        verbose_name=_("learner"),
    )
    year = models.PositiveSmallIntegerField(_("year"))
    kind = models.CharField(_("kind of activity"), max_length=32)
    # The table's line as it was when the learner applied: a later edit does not move it.
    source = models.CharField(_("source"), max_length=32, choices=CreditEntry.Source.choices)
    category = models.CharField(_("category"), max_length=16, choices=CreditEntry.Category.choices)
    units = models.DecimalField(_("units"), max_digits=6, decimal_places=1, default=1)
    credits_claimed = models.DecimalField(
        _("credits from the table"), max_digits=6, decimal_places=1
    )
    min_credits = models.DecimalField(max_digits=6, decimal_places=1)
    max_credits = models.DecimalField(max_digits=6, decimal_places=1)
    details = models.JSONField(_("details"), default=dict)
    reference = models.CharField(_("reference"), max_length=100)
    evidence = models.FileField(
        upload_to=application_evidence_upload_to,
        storage=private_storage,
        max_length=200,
        blank=True,
    )
    evidence_name = models.CharField(_("file name"), max_length=200, blank=True)
    evidence_type = models.CharField(max_length=40, blank=True)
    evidence_size = models.PositiveIntegerField(default=0)
    evidence_sha256 = models.CharField(max_length=64, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.PENDING
    )
    created_at = models.DateTimeField(_("applied"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("decided by"),
    )
    credits_granted = models.DecimalField(
        _("credits granted"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    decision_reason = models.CharField(_("reason"), max_length=500, blank=True)
    entry = models.OneToOneField(
        CreditEntry,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="application",
        verbose_name=_("ledger entry"),
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("credit application")
        verbose_name_plural = _("credit applications")
        indexes = [models.Index(fields=["state", "created_at"])]
        constraints = [
            # The same activity waits once per learner and year; once granted, the ledger's
            # activity key refuses it again (and frees it when the credits are reversed).
            models.UniqueConstraint(
                fields=["learner", "year", "kind", "reference"],
                condition=Q(state="pending"),
                name="credit_application_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.learner_id} {self.year} {self.kind} {self.reference}"

    @property
    def kind_label(self) -> str:
        from cpe.credits.conversion import KIND_LABELS

        return str(KIND_LABELS.get(self.kind, self.kind))

    @property
    def audit_region_path(self) -> str:
        return self.learner.district.path


def credit_import_upload_to(instance: CreditImport, filename: str) -> str:
    return f"credit-imports/{instance.pk}.{instance.file_format}"


class CreditImport(models.Model):
    """An officer's file of credits for many learners, checked row by row before anything is
    recorded. The upload (it holds ID numbers) stays on the private storage only until the
    import is applied or abandoned (by the officer, or after a week unconfirmed); the checked
    plan keeps learners by id, never ID numbers."""

    class State(models.TextChoices):
        CHECKING = "checking", _("Being checked")
        CHECKED = "checked", _("Checked")
        REFUSED = "refused", _("Refused")
        APPLYING = "applying", _("Being recorded")
        APPLIED = "applied", _("Recorded")
        # An unexpected error stopped the check or the recording; nothing was recorded.
        FAILED = "failed", _("Stopped")
        ABANDONED = "abandoned", _("Abandoned")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(_("file name"), max_length=200)
    file_format = models.CharField(max_length=8)
    upload = models.FileField(
        upload_to=credit_import_upload_to, storage=private_storage, blank=True
    )
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.CHECKING
    )
    message = models.CharField(max_length=500, blank=True)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # [{"row", "learner", "year", "category", "credits", "source", "reference", "evidence",
    #   "reason"}]
    plan = models.JSONField(default=list)
    # [{"row", "id_number", "name", "errors": {field: {language: [texts]}}}] (ID numbers masked)
    error_rows = models.JSONField(default=list)
    total_rows = models.PositiveIntegerField(default=0)
    new_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    valid_rows_only = models.BooleanField(default=False)
    recorded_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True)
    # When its state last changed: the nightly expiry abandons an import unconfirmed since.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("credit import")
        verbose_name_plural = _("credit imports")

    def __str__(self) -> str:
        return self.file_name

    @property
    def audit_region_path(self) -> str:
        return self.district.path
