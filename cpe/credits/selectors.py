"""Reads of the credit ledger: a learner's years with their credits and entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from cpe.credits import engine
from cpe.credits.models import CreditEntry, YearStatus
from cpe.learning.years import required_years
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
    entries = CreditEntry.objects.filter(learner=learner).select_related("reverses")
    entries = entries.prefetch_related("reversed_by")
    if year is not None:
        entries = entries.filter(year=year)
    return entries.order_by("-created_at", "-id")


def learner_credit_years(learner: Learner) -> list[YearCredits]:
    """Every required year and every year with entries, newest first, from the stored status."""
    statuses = {s.year: s for s in YearStatus.objects.filter(learner=learner)}
    entries: dict[int, list[CreditEntry]] = {}
    for entry in learner_entries(learner):
        entries.setdefault(entry.year, []).append(entry)
    years = sorted(set(required_years(learner)) | set(statuses) | set(entries), reverse=True)
    policies = policies_for(learner.district, years)
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
    return result
