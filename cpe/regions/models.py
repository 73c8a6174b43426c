"""The region tree (GB/T 2260), the finance offices' contacts, and the platform's help lines."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

region_code_validator = RegexValidator(r"^\d{6}$", _("A region code has six digits."))


def _localised(chinese: str, english: str) -> str:
    """Authored data carries both languages; English falls back to Chinese when missing."""
    if english and (get_language() or "").startswith("en"):
        return english
    return chinese


class RegionQuerySet(models.QuerySet["Region"]):
    def within(self, path: str) -> RegionQuerySet:
        """The regions at or below a path ("" means everywhere)."""
        return self.filter(path__startswith=path) if path else self.all()

    def districts(self) -> RegionQuerySet:
        return self.filter(level=Region.Level.DISTRICT)


class Region(models.Model):
    class Level(models.TextChoices):
        PROVINCE = "province", _("Province")
        CITY = "city", _("City")
        DISTRICT = "district", _("District")

    code = models.CharField(
        _("region code"), max_length=6, unique=True, validators=[region_code_validator]
    )
    name = models.CharField(_("name"), max_length=50)
    name_en = models.CharField(_("English name"), max_length=80, blank=True)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Codes of the region and its ancestors, "420000/420100/420102/": subtree = prefix match.
    path = models.CharField(max_length=64, unique=True, editable=False)
    # The Wuhan notice's sign-in by ID number and name alone, without a code sent by SMS.
    # Off by default: anyone who knows a person's ID number and name could act as them.
    plain_id_name_sign_in = models.BooleanField(
        _("learners sign in with ID number and name only"),
        default=False,
        help_text=_(
            "Applies to this region and every region below it. Risky: ID numbers and names "
            "leak widely, and whoever knows them can then act as the learner."
        ),
    )

    objects = RegionQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level="province", parent__isnull=True)
                | models.Q(parent__isnull=False),
                name="region_only_provinces_are_roots",
            )
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return _localised(self.name, self.name_en)

    @property
    def audit_region_path(self) -> str:
        return self.path

    def contains(self, other: Region) -> bool:
        return other.path.startswith(self.path)


class Bureau(models.Model):
    """The finance office of a region: a district finance bureau or the city accounting office."""

    region = models.OneToOneField(
        Region, on_delete=models.PROTECT, related_name="bureau", verbose_name=_("region")
    )
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    address = models.CharField(_("address"), max_length=200)
    address_en = models.CharField(_("English address"), max_length=300, blank=True)
    phones = models.CharField(
        _("phone numbers"), max_length=200, help_text=_("Separate several numbers with commas.")
    )
    office_hours = models.CharField(_("office hours"), max_length=200, blank=True)
    office_hours_en = models.CharField(_("English office hours"), max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["region__code"]
        verbose_name = _("finance bureau")
        verbose_name_plural = _("finance bureaus")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return _localised(self.name, self.name_en)

    @property
    def display_address(self) -> str:
        return _localised(self.address, self.address_en)

    @property
    def display_office_hours(self) -> str:
        return _localised(self.office_hours, self.office_hours_en)

    @property
    def phone_list(self) -> list[str]:
        return [p.strip() for p in self.phones.replace("，", ",").split(",") if p.strip()]

    @property
    def audit_region_path(self) -> str:
        return self.region.path


class SupportContact(models.Model):
    """The platform's own help lines, for problems with the site itself (video playback, login)."""

    class Topic(models.TextChoices):
        PLAYBACK = "playback", _("Course playback")
        TECHNICAL = "technical", _("Website and login")

    topic = models.CharField(_("topic"), max_length=16, choices=Topic.choices)
    phone = models.CharField(_("phone number"), max_length=40)
    hours = models.CharField(_("hours"), max_length=100, blank=True)
    hours_en = models.CharField(_("English hours"), max_length=100, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("support contact")
        verbose_name_plural = _("support contacts")
        constraints = [
            models.UniqueConstraint(fields=["topic", "phone"], name="support_contact_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_topic_display()} {self.phone}"

    @property
    def display_hours(self) -> str:
        return _localised(self.hours, self.hours_en)
