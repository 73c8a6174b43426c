"""Certificates of a completed year: the printed details as issued, signed by the server."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cpe.certificates.numbers import grouped
from cpe.regions.models import Region
from cpe.registry.models import Learner


class Certificate(models.Model):
    """A learner's certificate for one year, with a snapshot of what it prints.

    One current certificate per learner and year (a partial unique constraint). When the
    year's credits change after issue, the next download issues a new certificate with a
    new number and the old one is marked superseded: it still verifies, and says which
    number replaced it. The ID number is kept only masked, as printed.
    """

    number = models.CharField(_("certificate number"), max_length=16, unique=True)
    learner = models.ForeignKey(
        Learner, on_delete=models.PROTECT, related_name="certificates", verbose_name=_("learner")
    )
    year = models.PositiveSmallIntegerField(_("year"))
    # The district the learner belonged to when it was issued (scope and the officer's batch).
    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    learner_name = models.CharField(_("name"), max_length=30)
    id_number_masked = models.CharField(_("ID number"), max_length=18)
    total_credits = models.DecimalField(_("credits"), max_digits=7, decimal_places=1)
    professional_credits = models.DecimalField(
        _("professional credits"), max_digits=7, decimal_places=1
    )
    public_credits = models.DecimalField(_("public credits"), max_digits=7, decimal_places=1)
    issued_on = models.DateField(_("issue date"))
    platform_name = models.CharField(_("issuing platform"), max_length=100)
    key_id = models.CharField(max_length=32)
    signature = models.CharField(max_length=100)
    issued_at = models.DateTimeField(_("issued"), auto_now_add=True)
    superseded_at = models.DateTimeField(_("superseded"), null=True, blank=True)
    superseded_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="supersedes"
    )

    class Meta:
        ordering = ["learner", "year", "-issued_at"]
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        constraints = [
            models.UniqueConstraint(
                fields=["learner", "year"],
                condition=Q(superseded_at__isnull=True),
                name="certificate_one_current_per_year",
            ),
        ]
        indexes = [models.Index(fields=["district", "year"])]

    def __str__(self) -> str:
        return f"{self.learner_name} {self.year} {self.number_grouped}"

    @property
    def number_grouped(self) -> str:
        return grouped(self.number)

    @property
    def audit_region_path(self) -> str:
        return self.district.path

    def printed_details(self) -> dict[str, object]:
        """What the certificate prints, in the form that is signed (see signing.canonical)."""
        return {
            "v": 1,
            "number": self.number,
            "name": self.learner_name,
            "id_number": self.id_number_masked,
            "year": self.year,
            "total_credits": f"{self.total_credits:.1f}",
            "professional_credits": f"{self.professional_credits:.1f}",
            "public_credits": f"{self.public_credits:.1f}",
            "issued_on": self.issued_on.isoformat(),
            "platform": self.platform_name,
            "key_id": self.key_id,
        }
