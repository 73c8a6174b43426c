"""The conversion table of credit registration: which activities outside the platform count,
for how many credits, within which limits, and what an application for each must carry.

A region's table is data (`ConversionRule`), resolved like the study rules of
cpe.regions.policy: the nearest region up the tree with rows decides, taking its latest
`effective_from` not after the year. Without any rows the national values of
财会〔2018〕10号 (DOMAIN.md) apply, defined here once.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cpe.core.capabilities import Capability
from cpe.core.services import Actor, audit_record
from cpe.credits.models import ConversionRule, CreditEntry
from cpe.regions.models import Region
from cpe.regions.policy import policy_for

Source, Category, Unit = CreditEntry.Source, CreditEntry.Category, ConversionRule.Unit


@dataclass(frozen=True)
class DetailField:
    """One detail an application may ask for."""

    name: str
    label: Any
    pattern: str = ""  # a regular expression the value must match, if any
    hint: Any = ""
    number: bool = False  # a whole number of at least 1 (such as days)


DETAIL_FIELDS: dict[str, DetailField] = {
    f.name: f
    for f in (
        DetailField("exam_name", gettext_lazy("Examination")),
        DetailField("subject", gettext_lazy("Subject passed")),
        DetailField("certificate_number", gettext_lazy("Certificate or score report number")),
        DetailField("meeting_name", gettext_lazy("Meeting")),
        DetailField("organiser", gettext_lazy("Organised by")),
        DetailField("days", gettext_lazy("Days"), number=True),
        DetailField("programme", gettext_lazy("Degree programme and institution")),
        DetailField("course_name", gettext_lazy("Course passed")),
        DetailField("project_name", gettext_lazy("Research project")),
        DetailField("title", gettext_lazy("Title")),
        DetailField("journal", gettext_lazy("Journal")),
        DetailField(
            "issn",
            "ISSN",
            pattern=r"\d{4}-\d{3}[\dX]",
            hint=gettext_lazy("Such as 1002-8072."),
        ),
        DetailField(
            "cn",
            "CN",
            pattern=r"\d{2}-\d{4}/[A-Z0-9]{1,4}",
            hint=gettext_lazy("Such as 11-1169/F."),
        ),
        DetailField("publisher", gettext_lazy("Publisher")),
        DetailField("isbn", "ISBN", pattern=r"(97[89]-?)?(\d-?){9}[\dX]"),
        DetailField("training_name", gettext_lazy("Training")),
        DetailField("description", gettext_lazy("What you did")),
    )
}
DETAIL_MAX_LENGTH = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Rule:
    """One line of a conversion table as it applies."""

    kind: str
    source: str
    category: str  # "" when the applicant chooses
    credits_per_unit: Decimal
    unit: str
    min_credits: Decimal
    max_credits: Decimal
    evidence_required: bool = True
    detail_fields: tuple[str, ...] = field(default_factory=tuple)
    is_active: bool = True

    @property
    def label(self) -> str:
        return str(KIND_LABELS.get(self.kind, self.kind))

    @property
    def category_label(self) -> str:
        if not self.category:
            return _("The applicant chooses")
        return str(Category(self.category).label)

    @property
    def unit_label(self) -> str:
        return str(Unit(self.unit).label)

    @property
    def detail_labels(self) -> list[str]:
        return [
            str(DETAIL_FIELDS[name].label) for name in self.detail_fields if name in DETAIL_FIELDS
        ]

    @property
    def reference_field(self) -> str:
        """The detail that tells one such activity from another (the first one asked for)."""
        return self.detail_fields[0] if self.detail_fields else ""

    def credits_for(self, units: Decimal | int = 1) -> Decimal:
        """The table's credits for so many units, kept within the table's limits."""
        amount = Decimal(self.credits_per_unit) * Decimal(units)
        return min(max(amount, Decimal(self.min_credits)), Decimal(self.max_credits))


KIND_LABELS: dict[str, Any] = {
    "exam_subject": gettext_lazy("National accounting-related exam: one subject passed"),
    "professional_meeting": gettext_lazy("Professional meeting (per day)"),
    "degree_course": gettext_lazy("Course of an accounting degree programme passed"),
    "research_host": gettext_lazy("Research project completed: host"),
    "research_member": gettext_lazy("Research project completed: other member"),
    "paper_sole": gettext_lazy("Paper in a journal with ISSN and CN: sole author"),
    "paper_first": gettext_lazy("Paper in a journal with ISSN and CN: first author"),
    "paper_other": gettext_lazy("Paper in a journal with ISSN and CN: other author"),
    "book_first": gettext_lazy("Published book: sole or first author"),
    "book_other": gettext_lazy("Published book: other author"),
    "face_to_face": gettext_lazy("Face-to-face training (per day)"),
    "other": gettext_lazy("Other recognised activity"),
}

_PAPER = ("title", "journal", "issn", "cn")
_BOOK = ("title", "publisher", "isbn")


def _rule(
    kind: str,
    source: str,
    category: str,
    per_unit: int,
    low: int,
    high: int,
    *details: str,
    unit: str = Unit.ITEM,
) -> Rule:
    return Rule(
        kind, source, category, Decimal(per_unit), unit, Decimal(low), Decimal(high), True, details
    )


# The national values (财会〔2018〕10号); provinces set the rest, so the last two are a start.
NATIONAL_TABLE: tuple[Rule, ...] = (
    _rule(
        "exam_subject",
        Source.EXAM,
        Category.PROFESSIONAL,
        90,
        90,
        90,
        "certificate_number",
        "exam_name",
        "subject",
    ),
    _rule(
        "professional_meeting",
        Source.PROFESSIONAL_MEETING,
        Category.PROFESSIONAL,
        10,
        10,
        90,
        "meeting_name",
        "organiser",
        "days",
        unit=Unit.DAY,
    ),
    _rule(
        "degree_course",
        Source.DEGREE_COURSE,
        Category.PROFESSIONAL,
        90,
        90,
        90,
        "course_name",
        "programme",
    ),
    _rule(
        "research_host",
        Source.RESEARCH_PROJECT,
        Category.PROFESSIONAL,
        90,
        60,
        90,
        "project_name",
        "organiser",
    ),
    _rule(
        "research_member",
        Source.RESEARCH_PROJECT,
        Category.PROFESSIONAL,
        60,
        30,
        60,
        "project_name",
        "organiser",
    ),
    _rule("paper_sole", Source.PAPER, Category.PROFESSIONAL, 30, 10, 30, *_PAPER),
    _rule("paper_first", Source.PAPER, Category.PROFESSIONAL, 20, 10, 20, *_PAPER),
    _rule("paper_other", Source.PAPER, Category.PROFESSIONAL, 10, 5, 10, *_PAPER),
    _rule("book_first", Source.BOOK, Category.PROFESSIONAL, 90, 60, 90, *_BOOK),
    _rule("book_other", Source.BOOK, Category.PROFESSIONAL, 60, 30, 60, *_BOOK),
    _rule(
        "face_to_face",
        Source.FACE_TO_FACE,
        "",
        24,
        3,
        90,
        "training_name",
        "organiser",
        "days",
        unit=Unit.DAY,
    ),
    _rule("other", Source.OTHER, "", 10, 1, 90, "description", "organiser"),
)
KINDS = tuple(rule.kind for rule in NATIONAL_TABLE)


@dataclass(frozen=True)
class ConversionTable:
    """The table in force for a region and year, and where it comes from."""

    rules: tuple[Rule, ...]
    region: Region | None = None  # None: the national values
    effective_from: int | None = None

    def get(self, kind: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.kind == kind), None)

    @property
    def active(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.is_active)


def _from_row(row: ConversionRule) -> Rule:
    return Rule(
        kind=row.kind,
        source=row.source,
        category=row.category,
        credits_per_unit=row.credits_per_unit,
        unit=row.unit,
        min_credits=row.min_credits,
        max_credits=row.max_credits,
        evidence_required=row.evidence_required,
        detail_fields=tuple(row.detail_fields),
        is_active=row.is_active,
    )


def conversion_table(region: Region | None, year: int) -> ConversionTable:
    """The table for `year` in `region`: the nearest region up the tree with rows decides."""
    if region is None:
        return ConversionTable(NATIONAL_TABLE)
    codes = [code for code in region.path.split("/") if code]
    rows = list(
        ConversionRule.objects.filter(region__code__in=codes, effective_from__lte=year)
        .select_related("region")
        .order_by("id")
    )
    if not rows:
        return ConversionTable(NATIONAL_TABLE)
    depth = max(codes.index(row.region.code) for row in rows)
    nearest = [row for row in rows if codes.index(row.region.code) == depth]
    latest = max(row.effective_from for row in nearest)
    chosen = [row for row in nearest if row.effective_from == latest]
    by_kind = {row.kind: _from_row(row) for row in chosen}
    ordered = [by_kind.pop(kind) for kind in KINDS if kind in by_kind] + list(by_kind.values())
    return ConversionTable(tuple(ordered), region=chosen[0].region, effective_from=latest)


# --- Editing ------------------------------------------------------------------------------

EDITABLE = [
    "category",
    "credits_per_unit",
    "unit",
    "min_credits",
    "max_credits",
    "evidence_required",
    "detail_fields",
    "is_active",
]


def _decimal(raw: Any) -> Decimal | None:
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def conversion_rule_problems(
    values: dict[str, Any], *, annual_credits: int
) -> dict[str, list[str]]:
    """What is wrong with one line's values, by field (empty when nothing is)."""
    errors: dict[str, list[str]] = {}
    amounts: dict[str, Decimal] = {}
    for name in ("credits_per_unit", "min_credits", "max_credits"):
        value = _decimal(values.get(name))
        if value is None or value <= 0:
            errors[name] = [_("Enter a positive number of credits.")]
        elif value > annual_credits:
            # Before rounding: quantizing a huge number raises instead of answering.
            errors[name] = [
                _("At most a whole year's %(credits)s credits.") % {"credits": annual_credits}
            ]
        elif value != value.quantize(Decimal("0.1")):
            errors[name] = [_("Credits are recorded to one decimal place.")]
        else:
            amounts[name] = value
    if amounts.get("min_credits", 0) > amounts.get("max_credits", 10**6):
        errors["min_credits"] = [_("The lowest credits are above the highest.")]
    if values.get("category", "") not in ("", *Category.values):
        errors["category"] = [_("Choose public, professional or the applicant's choice.")]
    if values.get("unit") not in Unit.values:
        errors["unit"] = [_("Choose per item or per day.")]
    details = list(values.get("detail_fields") or [])
    if not details or any(name not in DETAIL_FIELDS for name in details):
        errors["detail_fields"] = [_("Choose at least one detail the application asks for.")]
    elif values.get("unit") == Unit.DAY and "days" not in details:
        errors["detail_fields"] = [_("Counted per day, the application must ask for the days.")]
    return errors


YEAR_FIRST, YEAR_LAST = 1900, 2099


def year_problem() -> str:
    return _("Choose a year from %(first)s to %(last)s.") % {
        "first": YEAR_FIRST,
        "last": YEAR_LAST,
    }


def conversion_regions(user: Any) -> list[Region]:
    """The regions whose table the user may edit: their province or city and those below it
    down to the cities (a district follows its city)."""
    if not user.has_capability(Capability.CONVERSION_EDIT):
        return []
    regions = Region.objects.filter(level__in=[Region.Level.PROVINCE, Region.Level.CITY])
    if user.scope_path:
        regions = regions.filter(path__startswith=user.scope_path)
    return list(regions.order_by("path"))


@transaction.atomic
def conversion_rule_save(
    *, actor: Actor, region: Region, year: int, kind: str, values: dict[str, Any]
) -> ConversionRule:
    """Change one line of a province's or city's table from `year` on.

    The first change of a region for a year copies the table then in force into the
    region's own rows, so a region's table is always whole; the change is audited with the
    values before and after.
    """
    user = actor.user
    if user is None or region not in conversion_regions(user):
        raise PermissionDenied
    if kind not in KINDS:
        raise ValidationError({"kind": [_("This kind of activity is not in the table.")]})
    if not isinstance(year, int) or not YEAR_FIRST <= year <= YEAR_LAST:
        raise ValidationError({"year": [year_problem()]})
    annual = policy_for(region, year).annual_credits
    problems = conversion_rule_problems(values, annual_credits=annual)
    if problems:
        raise ValidationError(problems)
    # Two first edits of one region and year would both copy the table: one waits here.
    Region.objects.select_for_update().only("pk").get(pk=region.pk)
    if not ConversionRule.objects.filter(region=region, effective_from=year).exists():
        in_force = conversion_table(region, year)
        known = {rule.kind for rule in in_force.rules}
        rules = list(in_force.rules) + [r for r in NATIONAL_TABLE if r.kind not in known]
        ConversionRule.objects.bulk_create(
            ConversionRule(region=region, effective_from=year, **_row_values(rule))
            for rule in rules
        )
    row = ConversionRule.objects.select_for_update().get(
        region=region, effective_from=year, kind=kind
    )
    before = _row_values(_from_row(row))
    wanted = replace(
        _from_row(row),
        category=values.get("category", ""),
        credits_per_unit=_decimal(values["credits_per_unit"]),
        unit=values["unit"],
        min_credits=_decimal(values["min_credits"]),
        max_credits=_decimal(values["max_credits"]),
        evidence_required=bool(values.get("evidence_required")),
        detail_fields=tuple(values["detail_fields"]),
        is_active=bool(values.get("is_active")),
    )
    for name, value in _row_values(wanted).items():
        setattr(row, name, value)
    row.save()
    audit_record(
        actor=actor,
        action="credit_conversion.change",
        target=row,
        before={"year": year, **before},
        after={"year": year, **_row_values(wanted)},
    )
    return row


def _row_values(rule: Rule) -> dict[str, Any]:
    values = asdict(rule)
    values["detail_fields"] = list(rule.detail_fields)
    for name in ("credits_per_unit", "min_credits", "max_credits"):
        values[name] = Decimal(values[name]).quantize(Decimal("0.1"))
    return values
