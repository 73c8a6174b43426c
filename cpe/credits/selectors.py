"""Reads of the credit ledger: a learner's years with their credits and entries."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cpe.credits import engine
from cpe.credits.models import CreditEntry, YearStatus
from cpe.learning.years import first_required_year, required_years
from cpe.regions.policy import Policy, policies_for
from cpe.registry.models import Learner


def _percent(part: Decimal, whole: int) -> int:
    if whole <= 0:
        return 100
    return max(0, min(100, int(part * 100 / whole)))


@dataclass
class YearCredits:
    """One year of a learner's credits as the ledger gives them, against the year's rules."""

    year: int
    policy: Policy
    status: str
    total_credits: Decimal
    professional_credits: Decimal
    public_credits: Decimal
    met_at: object
    entries: list[CreditEntry] = field(default_factory=list)
    # The capped sources of the year's rules, with what the learner has from each.
    caps: tuple[engine.SourceCap, ...] = ()

    @property
    def status_label(self) -> str:
        return str(YearStatus.Status(self.status).label)

    @property
    def missing_professional(self) -> Decimal:
        return max(Decimal(self.policy.professional_credits) - self.professional_credits, 0)

    @property
    def missing_other(self) -> Decimal:
        """Credits missing beyond the professional ones, of either category."""
        missing_total = max(Decimal(self.policy.annual_credits) - self.total_credits, 0)
        return max(missing_total - self.missing_professional, 0)

    @property
    def total_percent(self) -> int:
        return _percent(self.total_credits, self.policy.annual_credits)

    @property
    def professional_percent(self) -> int:
        return _percent(self.professional_credits, self.policy.professional_credits)

    @property
    def missing_text(self) -> list[str]:
        """What is still missing, in plain words (empty once the rules are met)."""
        words = []
        if self.missing_professional > 0:
            words.append(
                _("%(credits)s more professional credits")
                % {"credits": _number(self.missing_professional)}
            )
        if self.missing_other > 0:
            words.append(
                _("%(credits)s more credits of either category")
                % {"credits": _number(self.missing_other)}
            )
        return words

    @property
    def cap_text(self) -> list[str]:
        """Where a cap per source leaves credits out, or would leave further ones out."""
        words = []
        incomplete = self.missing_professional > 0 or self.missing_other > 0
        for cap in self.caps:
            values = {
                "source": _source_label(cap.source),
                "cap": _number(Decimal(cap.cap)),
                "uncounted": _number(cap.uncounted),
            }
            if cap.uncounted > 0:
                words.append(
                    _(
                        "%(source)s counts at most %(cap)s credits a year: %(uncounted)s of "
                        "your credits from it do not count."
                    )
                    % values
                )
            elif cap.reached and incomplete:
                words.append(
                    _(
                        "%(source)s already counts its most (%(cap)s credits a year): more "
                        "credits from it would not count."
                    )
                    % values
                )
        return words


def _source_label(source: str) -> str:
    try:
        return str(CreditEntry.Source(source).label)
    except ValueError:
        return source


def _number(value: Decimal) -> str:
    return format(Decimal(value).normalize(), "f")


def learner_entries(learner: Learner, year: int | None = None) -> QuerySet[CreditEntry]:
    """The learner's entries, newest first, each with `is_reversed` (a later entry reverses
    it): one query, whatever the page shows of them."""
    reversal = CreditEntry.objects.filter(reverses=OuterRef("pk"))
    entries = CreditEntry.objects.filter(learner=learner).annotate(is_reversed=Exists(reversal))
    if year is not None:
        entries = entries.filter(year=year)
    return entries.order_by("-created_at", "-id")


@dataclass(frozen=True)
class CreditOverview:
    """What the credits page and API show: the years, and every entry newest first."""

    years: list[YearCredits]
    entries: list[CreditEntry]


def learner_credit_overview(
    learner: Learner, *, today: datetime.date | None = None
) -> CreditOverview:
    """Every required year and every year with entries, newest first, from the stored status;
    four queries (statuses, entries, the rules and their caps) whatever the number of years."""
    today = today or timezone.localdate()
    statuses = {s.year: s for s in YearStatus.objects.filter(learner=learner)}
    all_entries = list(learner_entries(learner))
    entries: dict[int, list[CreditEntry]] = {}
    for entry in all_entries:
        entries.setdefault(entry.year, []).append(entry)
    # The rules of every year the page may list, read once: those with a status or entries,
    # and those from the first required year to this one (required_years picks among them).
    span = range(min(first_required_year(learner), today.year), today.year + 1)
    policies = policies_for(learner.district, sorted(set(statuses) | set(entries) | set(span)))
    required = required_years(learner, today=today, current_policy=policies[today.year])
    years = sorted(set(required) | set(statuses) | set(entries), reverse=True)
    result = []
    for year in years:
        policy = policies[year]
        stored = statuses.get(year)
        if stored is None:
            outcome = engine.year_outcome([], policy)
            values = (outcome.status, outcome.total_credits, Decimal(0), Decimal(0), None)
        else:
            values = (
                stored.status,
                stored.total_credits,
                stored.professional_credits,
                stored.public_credits,
                stored.met_at,
            )
        year_entries = entries.get(year, [])
        caps = engine.year_outcome(year_entries, policy).caps if policy.source_caps else ()
        result.append(YearCredits(year, policy, *values, entries=year_entries, caps=caps))
    return CreditOverview(years=result, entries=all_entries)


def learner_credit_years(learner: Learner) -> list[YearCredits]:
    """The years of learner_credit_overview: required ones and those with entries."""
    return learner_credit_overview(learner).years
