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


class RegionPolicy(models.Model):
    """The study rules of a region from one year on: credits, make-up, and how study is verified.

    The rules that apply to a region in a year are those of the nearest region up the tree
    (the region itself, then its city, then its province) that has a row, taking that region's
    latest row whose `effective_from` is not after the year. Read them with
    `cpe.regions.policy.policy_for`; never test a region's name in code.
    """

    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="policies", verbose_name=_("region")
    )
    effective_from = models.PositiveSmallIntegerField(_("applies from year"))
    # What a year requires.
    annual_credits = models.PositiveSmallIntegerField(_("credits required a year"), default=90)
    professional_credits = models.PositiveSmallIntegerField(
        _("professional credits required a year"), default=60
    )
    credits_per_class_hour = models.PositiveSmallIntegerField(
        _("credits per class hour"), default=3
    )
    minutes_per_class_hour = models.PositiveSmallIntegerField(
        _("minutes of lessons per class hour"), default=45
    )
    # Make-up study of earlier years, and whether earlier years must be finished first.
    makeup_from = models.PositiveSmallIntegerField(
        _("make-up study possible for years from"),
        null=True,
        blank=True,
        help_text=_("Empty: no make-up study; only the current year can be studied."),
    )
    sequential_years = models.BooleanField(
        _("an earlier year must be finished before a later one"), default=True
    )
    # Opening a year plan: 0 means free, and the payment step is passed straight through.
    plan_fee = models.DecimalField(
        _("fee for a year plan (yuan)"), max_digits=8, decimal_places=2, default=0
    )
    # How study time is verified.
    heartbeat_seconds = models.PositiveSmallIntegerField(
        _("seconds between heartbeats of the player"), default=15
    )
    max_playback_rate = models.DecimalField(
        _("fastest playback rate that counts"), max_digits=3, decimal_places=2, default=1
    )
    attention_check_minutes = models.PositiveSmallIntegerField(
        _("minutes between attention checks"),
        default=15,
        help_text=_("0 switches attention checks off."),
    )
    lesson_completion_percent = models.PositiveSmallIntegerField(
        _("share of a video to watch to complete it (%)"), default=95
    )
    # Course exams: the defaults of every course in the region (a course may set its own).
    exam_single_count = models.PositiveSmallIntegerField(
        _("single-choice questions drawn per exam"), default=10
    )
    exam_multiple_count = models.PositiveSmallIntegerField(
        _("multiple-choice questions drawn per exam"), default=5
    )
    exam_true_false_count = models.PositiveSmallIntegerField(
        _("true/false questions drawn per exam"), default=5
    )
    exam_shuffle_options = models.BooleanField(
        _("shuffle the options of each question"), default=True
    )
    exam_pass_mark = models.PositiveSmallIntegerField(_("exam pass mark (of 100)"), default=60)
    exam_time_limit_minutes = models.PositiveSmallIntegerField(
        _("exam time limit (minutes)"), default=30
    )
    exam_attempts_per_year = models.PositiveSmallIntegerField(
        _("exam attempts per course and year"), default=5
    )
    exam_reset_on_exhaustion = models.BooleanField(
        _("study the course again when the attempts are used up"), default=True
    )
    exam_show_review = models.BooleanField(
        _("show the answers and explanations after an exam"), default=True
    )

    class Meta:
        ordering = ["region__code", "-effective_from"]
        verbose_name = _("study rules")
        verbose_name_plural = _("study rules")
        constraints = [
            models.UniqueConstraint(
                fields=["region", "effective_from"], name="region_policy_one_per_year"
            ),
            models.CheckConstraint(
                condition=models.Q(professional_credits__lte=models.F("annual_credits")),
                name="region_policy_professional_within_annual",
            ),
            models.CheckConstraint(
                condition=models.Q(lesson_completion_percent__gte=50)
                & models.Q(lesson_completion_percent__lte=100),
                name="region_policy_completion_percent_range",
            ),
            models.CheckConstraint(
                condition=models.Q(heartbeat_seconds__gte=5) & models.Q(heartbeat_seconds__lte=120),
                name="region_policy_heartbeat_range",
            ),
            models.CheckConstraint(
                condition=models.Q(max_playback_rate__gt=0), name="region_policy_rate_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(exam_pass_mark__gte=1) & models.Q(exam_pass_mark__lte=100),
                name="region_policy_exam_pass_mark_range",
            ),
            models.CheckConstraint(
                condition=models.Q(exam_time_limit_minutes__gte=1),
                name="region_policy_exam_time_limit_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(exam_attempts_per_year__gte=1),
                name="region_policy_exam_attempts_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.region} {self.effective_from}"

    @property
    def audit_region_path(self) -> str:
        return self.region.path


class RegionPolicyCap(models.Model):
    """The most credits a year may take from one source under a row of study rules.

    Credits beyond the cap stay in the ledger but do not count toward the year. The source
    is the ledger's source code (face_to_face, professional_meeting, …); regions does not
    import credits, so the codes and their names come through `cpe.regions.hooks`.
    """

    policy = models.ForeignKey(
        RegionPolicy, on_delete=models.CASCADE, related_name="caps", verbose_name=_("study rules")
    )
    source = models.CharField(_("source"), max_length=32)
    max_credits = models.PositiveSmallIntegerField(_("most credits a year"))

    class Meta:
        ordering = ["policy", "source"]
        verbose_name = _("credit cap per source")
        verbose_name_plural = _("credit caps per source")
        constraints = [
            models.UniqueConstraint(fields=["policy", "source"], name="region_policy_cap_one"),
        ]

    def __str__(self) -> str:
        return f"{self.policy} {self.source} ≤ {self.max_credits}"

    @property
    def audit_region_path(self) -> str:
        return self.policy.region.path
