"""Which years a learner must study, which they may open now, and what blocks a later year.

The rules come from the region's policy (cpe.regions.policy): required years start the
year after the qualification year (the collection year for people without one); earlier
unfinished years may be made up from the region's make-up start; with sequencing on, a
required earlier year that is not complete blocks every later year.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

from cpe.learning.models import YearPlan
from cpe.regions.policy import Policy, policy_for
from cpe.registry.models import Learner, QualificationLevel


def this_year() -> int:
    return timezone.localdate().year


def first_required_year(learner: Learner) -> int:
    if learner.qualification_level != QualificationLevel.NONE and learner.qualification_year:
        return learner.qualification_year + 1
    return timezone.localtime(learner.collected_at).year


def required_years(learner: Learner, *, today: datetime.date | None = None) -> list[int]:
    """The years up to the current one that the learner must (still) be able to complete.

    Years before the region's make-up start cannot be studied any more, so they are not
    listed; without make-up only the current year is.
    """
    current = (today or timezone.localdate()).year
    first = first_required_year(learner)
    policy = policy_for(learner.district, current)
    earliest = current if policy.makeup_from is None else max(first, policy.makeup_from)
    return [year for year in range(max(first, earliest), current + 1)]


@dataclass(frozen=True)
class Blocker:
    """Why a year cannot be opened or studied now; `year` is the one to finish first."""

    rule: str
    year: int | None = None


def year_blocker(
    learner: Learner,
    year: int,
    *,
    completed_years: set[int],
    today: datetime.date | None = None,
) -> Blocker | None:
    """None when `year` may be studied now; otherwise the rule that forbids it."""
    current = (today or timezone.localdate()).year
    policy: Policy = policy_for(learner.district, year)
    if year > current:
        return Blocker("future_year")
    if year < first_required_year(learner):
        return Blocker("not_required")
    if year < current:
        if policy.makeup_from is None or year < policy.makeup_from:
            return Blocker("before_makeup_start")
        if year in completed_years:
            return Blocker("already_complete")
    if policy.sequential_years:
        for earlier in required_years(learner, today=today):
            if earlier < year and earlier not in completed_years:
                return Blocker("earlier_year_unfinished", earlier)
    return None


def study_allowed(
    learner: Learner, plan: YearPlan, *, today: datetime.date | None = None
) -> Blocker | None:
    """None when the learner may earn credit in `plan` now; otherwise the rule that forbids it.

    A plan waiting for payment is not open for study; with sequencing on, an earlier
    required year that is incomplete blocks study in a later one, as it blocks opening it.
    A year already complete may still be studied (more courses than the minimum).
    """
    if not plan.is_open_for_study:
        return Blocker("payment_pending")
    completed = set(
        YearPlan.objects.filter(learner=learner, completed_at__isnull=False).values_list(
            "year", flat=True
        )
    )
    if plan.year in completed:
        return None
    return year_blocker(learner, plan.year, completed_years=completed, today=today)
