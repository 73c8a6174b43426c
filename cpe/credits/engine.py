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
    source: str
    created_at: datetime.datetime


@dataclass(frozen=True)
class SourceCap:
    """A capped source's credits in a year: how many it has, the cap, and what is left out."""

    source: str
    cap: int
    earned: Decimal
    uncounted: Decimal

    @property
    def reached(self) -> bool:
        return self.earned >= self.cap


@dataclass(frozen=True)
class YearOutcome:
    """The counted credits of a year (a capped source counts at most its cap)."""

    status: str
    total_credits: Decimal
    professional_credits: Decimal
    public_credits: Decimal
    met_at: datetime.datetime | None
    caps: tuple[SourceCap, ...] = ()


def meets(policy: Policy, total: Decimal, professional: Decimal) -> bool:
    return total >= policy.annual_credits and professional >= policy.professional_credits


def counted(professional: Decimal, public: Decimal, cap: int | None) -> tuple[Decimal, Decimal]:
    """What one source's credits count toward the year: (professional, total).

    Under a cap the source counts at most `cap` credits, professional ones first (they are
    the scarcer requirement), so the counted credits depend only on the sums, never on the
    order the entries came in. The SQL recomputation (`cpe.credits.recompute`) applies the
    same rule.
    """
    if cap is None:
        return professional, professional + public
    counted_professional = min(max(professional, Decimal(0)), Decimal(cap))
    counted_public = min(max(public, Decimal(0)), Decimal(cap) - counted_professional)
    return counted_professional, counted_professional + counted_public


def year_outcome(entries: Iterable[Entry], policy: Policy) -> YearOutcome:
    """The status of a year from its entries, in whatever order they are given.

    The entries are read in the order they were recorded (time, then id), so the moment
    the rules were first met does not depend on the order of the list. A year whose rules
    were met and no longer are (a reversal took credits away) is revoked. A source with a
    cap in the policy counts at most its cap (see `counted`).
    """
    ordered = sorted(entries, key=lambda e: (e.created_at, e.id or 0))
    caps = dict(policy.source_caps)
    total = professional = Decimal("0")
    # Each source's own sums (professional, public), before any cap.
    by_source: dict[str, tuple[Decimal, Decimal]] = {}
    met_at: datetime.datetime | None = None
    for entry in ordered:
        source = entry.source
        earned_professional, earned_public = by_source.get(source, (Decimal(0), Decimal(0)))
        old_professional, old_total = counted(earned_professional, earned_public, caps.get(source))
        if entry.category == PROFESSIONAL:
            earned_professional += entry.credits
        else:
            earned_public += entry.credits
        by_source[source] = (earned_professional, earned_public)
        new_professional, new_total = counted(earned_professional, earned_public, caps.get(source))
        total += new_total - old_total
        professional += new_professional - old_professional
        if met_at is None and meets(policy, total, professional):
            met_at = entry.created_at
    public = total - professional
    if not ordered:
        status = NOT_STARTED
    elif meets(policy, total, professional):
        status = COMPLETE
    elif met_at is not None:
        status = REVOKED
    else:
        status = IN_PROGRESS
    source_caps = tuple(
        SourceCap(source, cap, earned, max(earned - cap, Decimal(0)))
        for source, cap in sorted(caps.items())
        for earned in [sum(by_source.get(source, (Decimal(0), Decimal(0))), Decimal(0))]
    )
    return YearOutcome(status, total, professional, public, met_at, source_caps)


def missing(policy: Policy, outcome: YearOutcome) -> tuple[Decimal, Decimal]:
    """How many credits are still missing: (in total, of which professional at least)."""
    professional = max(Decimal(policy.professional_credits) - outcome.professional_credits, 0)
    total = max(Decimal(policy.annual_credits) - outcome.total_credits, 0)
    return Decimal(total), Decimal(professional)
