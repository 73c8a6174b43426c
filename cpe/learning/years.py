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
from django.utils.translation import gettext as _

from cpe.learning.models import YearPlan
from cpe.regions.policy import Policy, policy_for
from cpe.registry.models import Learner, QualificationLevel


def this_year() -> int:
    return timezone.localdate().year


def first_required_year(learner: Learner) -> int:
    if learner.qualification_level != QualificationLevel.NONE and learner.qualification_year:
        return learner.qualification_year + 1
    return timezone.localtime(learner.collected_at).year


def required_years(
    learner: Learner,
    *,
    today: datetime.date | None = None,
    current_policy: Policy | None = None,
) -> list[int]:
    """The years up to the current one that the learner must (still) be able to complete.

    Years before the region's make-up start cannot be studied any more, so they are not
    listed; without make-up only the current year is. A caller that has read the current
    year's rules already passes them as `current_policy`.
    """
    current = (today or timezone.localdate()).year
    first = first_required_year(learner)
    policy = current_policy or policy_for(learner.district, current)
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


def completed_years(learner: Learner) -> set[int]:
    """The years whose rules the learner has met."""
    return set(
        YearPlan.objects.filter(learner=learner, completed_at__isnull=False).values_list(
            "year", flat=True
        )
    )


def study_allowed(
    learner: Learner, plan: YearPlan, *, today: datetime.date | None = None
) -> Blocker | None:
    """None when time studied now may be credited to `plan`; otherwise the rule against it.

    The heartbeat service asks this before crediting any second: a plan opened earlier may
    have become blocked since (sequencing, a year that is no longer the current one in a
    region without make-up), and a plan waiting for payment is not open for study yet.
    Studying on in a year already complete is allowed: it only adds credits to that year.
    """
    if not plan.is_open_for_study:
        return Blocker("payment_pending")
    done = completed_years(learner)
    done.discard(plan.year)
    return year_blocker(learner, plan.year, completed_years=done, today=today)


def blocker_message(blocker: Blocker) -> str:
    """The rule in words, for pages, API errors and the player."""
    messages = {
        "future_year": _("A year that has not begun cannot be studied yet."),
        "not_required": _(
            "You are not required to study for this year: continuing education starts the "
            "year after your qualification (or your information collection)."
        ),
        "before_makeup_start": _(
            "This year can no longer be studied: your region allows make-up study only from "
            "a later year."
        ),
        "already_complete": _("You have already completed this year."),
        "payment_pending": _("This year is waiting for payment."),
    }
    if blocker.rule == "earlier_year_unfinished":
        return _("Finish %(year)s first: an earlier year must be complete before a later one.") % {
            "year": blocker.year
        }
    return messages.get(blocker.rule, blocker.rule)
