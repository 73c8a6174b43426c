"""Learner records: the people a district bureau has collected, and how their status changed."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty
from django.utils.translation import gettext_lazy as _

from cpe.registry.crypto import decrypt

ID_NUMBER_PURPOSE = "id_number"


class QualificationLevel(models.TextChoices):
    NONE = "none", _("No qualification")
    JUNIOR = "junior", _("Junior")
    INTERMEDIATE = "intermediate", _("Intermediate")
    SENIOR = "senior", _("Senior")
    PROFESSOR = "professor", _("Professor-level senior")


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class Learner(models.Model):
    """One person who must take continuing education; one record per ID number.

    The ID number is never stored as text: `id_number_encrypted` holds the AES-GCM value
    (with its key id), `id_number_hash` the keyed hash that finds it and keeps it unique,
    `id_number_masked` what pages show.
    """

    class Status(models.TextChoices):
        COLLECTED = "collected", _("Collected")
        TRANSFER_PENDING = "transfer_pending", _("Transfer waiting for acceptance")
        DEREGISTERED = "deregistered", _("Deregistered")

    id_number_encrypted = models.TextField(editable=False)
    # Unique through Meta.constraints: a unique field would also get a LIKE index on
    # PostgreSQL, and a keyed hash is only ever looked up whole.
    id_number_hash = models.CharField(max_length=64, editable=False)
    id_number_masked = models.CharField(_("ID number"), max_length=18, editable=False)
    name = models.CharField(_("name"), max_length=30)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, editable=False)
    birth_date = models.DateField(_("birth date"), editable=False)
    mobile = models.CharField(_("mobile number"), max_length=11)
    employer_name = models.CharField(_("employer"), max_length=200)
    employer_uscc = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    qualification_level = models.CharField(
        _("qualification level"), max_length=16, choices=QualificationLevel.choices
    )
    certificate_number = models.CharField(_("certificate number"), max_length=40, blank=True)
    qualification_year = models.PositiveSmallIntegerField(
        _("year the qualification was obtained"), null=True, blank=True
    )
    # Found through the (district, name) index below: no index of its own.
    district = models.ForeignKey(
        "regions.Region",
        verbose_name=_("district"),
        on_delete=models.PROTECT,
        related_name="learners",
        db_index=False,
    )
    # Three values: an index would not narrow a search; waiting transfers have their own.
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.COLLECTED
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="learner",
    )
    # While a transfer waits, the district that has been asked to take the learner over.
    transfer_to = models.ForeignKey(
        "regions.Region",
        verbose_name=_("transfer to"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="incoming_learners",
        db_index=False,
    )
    collected_at = models.DateTimeField(_("collected"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["district__code", "name"]
        verbose_name = _("learner")
        verbose_name_plural = _("learners")
        # Every index costs each import row its upkeep, so only those that searches use:
        # the employer is searched by substring, which no B-tree index serves.
        indexes = [
            models.Index(fields=["district", "name"]),
            models.Index(fields=["mobile"]),
            models.Index(
                fields=["transfer_to"],
                condition=models.Q(status="transfer_pending"),
                name="learner_transfers_waiting",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["id_number_hash"], name="learner_one_per_id_number"),
            models.CheckConstraint(
                condition=models.Q(qualification_level="none")
                | models.Q(qualification_year__isnull=False),
                name="learner_qualification_has_a_year",
            ),
            models.CheckConstraint(
                condition=models.Q(status="transfer_pending", transfer_to__isnull=False)
                | (~models.Q(status="transfer_pending") & models.Q(transfer_to__isnull=True)),
                name="learner_transfer_target_only_while_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.id_number_masked}"

    @property
    def audit_region_path(self) -> str:
        return self.district.path

    def reveal_id_number(self) -> str:
        """The full number. Call only through `learner_id_number_reveal`, which audits it."""
        return decrypt(self.id_number_encrypted, purpose=ID_NUMBER_PURPOSE)


class LearnerStatusChange(models.Model):
    """The history of a learner's status and district: who changed it, when and why."""

    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    # History is read per learner; the other references need no index of their own (every
    # collected or imported person writes a row here).
    from_district = models.ForeignKey(
        "regions.Region",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    to_district = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    reason = models.CharField(max_length=500, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"

    @property
    def from_status_label(self) -> str:
        return Learner.Status(self.from_status).label if self.from_status else ""

    @property
    def to_status_label(self) -> str:
        return Learner.Status(self.to_status).label


class _PrivateStorage(LazyObject):
    """The `private` storage of STORAGES, looked up at first use rather than at import."""

    def _setup(self) -> None:
        self._wrapped = storages["private"]


_private = _PrivateStorage()


def private_storage() -> Storage:
    return _private  # type: ignore[return-value]


@receiver(setting_changed)
def _private_storage_follows_settings(*, setting: str, **kwargs: object) -> None:
    # Tests point STORAGES at a folder of their own; the storage must follow.
    if setting == "STORAGES":
        _private._wrapped = empty


def evidence_upload_to(instance: LearnerEvidence, filename: str) -> str:
    # A random name: the officer's file name may carry the person's name or ID number.
    suffix = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
    return f"evidence/{instance.learner_id}/{uuid.uuid4().hex}{suffix[instance.content_type]}"


class LearnerEvidence(models.Model):
    """A document that backs a learner's record: proof of employment or a certificate."""

    class Kind(models.TextChoices):
        EMPLOYMENT = "employment", _("Proof of employment")
        QUALIFICATION = "qualification", _("Qualification certificate")
        OTHER = "other", _("Other document")

    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(_("kind of document"), max_length=16, choices=Kind.choices)
    file = models.FileField(upload_to=evidence_upload_to, storage=private_storage, max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.original_name}"

    @property
    def audit_region_path(self) -> str:
        return self.learner.district.path


class SignInCode(models.Model):
    """A one-time code sent by SMS to a learner's recorded mobile, for the first sign-in or
    a forgotten password. Only a salted hash of the code is kept; a new code for the same
    learner and purpose supersedes the older ones."""

    class Purpose(models.TextChoices):
        ACTIVATE = "activate", _("First sign-in")
        RESET = "reset", _("Forgotten password")

    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="sign_in_codes")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["learner", "purpose", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.created_at:%Y-%m-%d %H:%M}"


def _import_upload_path(instance: LearnerImport, filename: str) -> str:
    # A random name: the file holds plaintext ID numbers and must not be guessable.
    return f"imports/{uuid.uuid4().hex}.{instance.file_format}"


def _import_plan_path(instance: LearnerImport, filename: str) -> str:
    return f"imports/{uuid.uuid4().hex}.plan.jsonl.gz"


class LearnerImport(models.Model):
    """One file of learners uploaded by a district officer: checked, previewed, then applied.

    The uploaded file (`upload`) and the checked plan (`plan`, which holds ID numbers only
    encrypted and hashed) live in the file storage until the import is applied or abandoned.
    """

    class State(models.TextChoices):
        CHECKING = "checking", _("Checking the file")
        CHECKED = "checked", _("Checked: waiting for confirmation")
        REFUSED = "refused", _("File refused")
        APPLYING = "applying", _("Importing")
        APPLIED = "applied", _("Imported")
        STALE = "stale", _("Records changed: check again")
        ABANDONED = "abandoned", _("Abandoned")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    district = models.ForeignKey(
        "regions.Region", verbose_name=_("district"), on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.CHECKING, db_index=True
    )
    file_name = models.CharField(_("file"), max_length=255)
    file_format = models.CharField(max_length=8)
    # Both hold personal data: on the private storage, never served by URL.
    upload = models.FileField(upload_to=_import_upload_path, storage=private_storage, blank=True)
    plan = models.FileField(upload_to=_import_plan_path, storage=private_storage, blank=True)
    job = models.ForeignKey(
        "core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    new_count = models.PositiveIntegerField(_("new"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    error_count = models.PositiveIntegerField(_("with errors"), default=0)
    # Why the file was refused or the import stopped, in each language: {"zh-hans": ..., "en": ...}.
    message = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True, db_index=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(_("imported"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("learner import")
        verbose_name_plural = _("learner imports")

    def __str__(self) -> str:
        return self.file_name

    @property
    def audit_region_path(self) -> str:
        return self.district.path


class LearnerImportError(models.Model):
    """A row of an import that cannot be imported, with every reason, in each language."""

    learner_import = models.ForeignKey(
        LearnerImport, on_delete=models.CASCADE, related_name="row_errors"
    )
    row_number = models.PositiveIntegerField(_("row"))
    id_number_masked = models.CharField(_("ID number"), max_length=18, blank=True)
    name = models.CharField(_("name"), max_length=60, blank=True)
    # {field: {"zh-hans": [message, ...], "en": [message, ...]}}
    messages = models.JSONField(default=dict)

    class Meta:
        ordering = ["learner_import", "row_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["learner_import", "row_number"], name="learner_import_error_row_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.learner_import_id} row {self.row_number}"
