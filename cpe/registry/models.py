"""Learner records: the people a district bureau has collected, and how their status changed."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.db import models
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
    id_number_hash = models.CharField(max_length=64, unique=True, editable=False)
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
    district = models.ForeignKey(
        "regions.Region",
        verbose_name=_("district"),
        on_delete=models.PROTECT,
        related_name="learners",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.COLLECTED, db_index=True
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
    )
    collected_at = models.DateTimeField(_("collected"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["district__code", "name"]
        verbose_name = _("learner")
        verbose_name_plural = _("learners")
        indexes = [
            models.Index(fields=["district", "name"]),
            models.Index(fields=["mobile"]),
            models.Index(fields=["employer_name"]),
        ]
        constraints = [
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
    from_district = models.ForeignKey(
        "regions.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_district = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=500, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
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


def private_storage() -> Storage:
    return storages["private"]


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
