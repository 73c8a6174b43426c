"""The one engine that turns a learner's ledger entries for a year into the year's status.

It is a pure function of the entries and the region's policy, so the service that appends
an entry and the command that recomputes every year give the same answer.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from cpe.regions.policy import Policy

NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"
COMPLETE = "complete"
REVOKED = "revoked"

PROFESSIONAL = "professional"
PUBLIC = "public"


class Entry(Protocol):
    id: int | None
    category: str
    credits: Decimal
    created_at: datetime.datetime


@dataclass(frozen=True)
class YearOutcome:
    status: str
    total_credits: Decimal
    professional_credits: Decimal
    public_credits: Decimal
    met_at: datetime.datetime | None


def meets(policy: Policy, total: Decimal, professional: Decimal) -> bool:
    return total >= policy.annual_credits and professional >= policy.professional_credits


def year_outcome(entries: Iterable[Entry], policy: Policy) -> YearOutcome:
    """The status of a year from its entries, in whatever order they are given.

    The entries are read in the order they were recorded (time, then id), so the moment
    the rules were first met does not depend on the order of the list. A year whose rules
    were met and no longer are (a reversal took credits away) is revoked.
    """
    ordered = sorted(entries, key=lambda e: (e.created_at, e.id or 0))
    total = professional = public = Decimal("0")
    met_at: datetime.datetime | None = None
    for entry in ordered:
        total += entry.credits
        if entry.category == PROFESSIONAL:
            professional += entry.credits
        else:
            public += entry.credits
        if met_at is None and meets(policy, total, professional):
            met_at = entry.created_at
    if not ordered:
        status = NOT_STARTED
    elif meets(policy, total, professional):
        status = COMPLETE
    elif met_at is not None:
        status = REVOKED
    else:
        status = IN_PROGRESS
    return YearOutcome(status, total, professional, public, met_at)


def missing(policy: Policy, outcome: YearOutcome) -> tuple[Decimal, Decimal]:
    """How many credits are still missing: (in total, of which professional at least)."""
    professional = max(Decimal(policy.professional_credits) - outcome.professional_credits, 0)
    total = max(Decimal(policy.annual_credits) - outcome.total_credits, 0)
    return Decimal(total), Decimal(professional)
