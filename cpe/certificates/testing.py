"""Test data for certificates (imported by tests, never by the application)."""

from __future__ import annotations

from django.utils import timezone

from cpe.core.services import Actor
from cpe.credits.models import CreditEntry
from cpe.credits.testing import record
from cpe.registry.models import Learner

SYSTEM = Actor.for_system("tests")


def complete_year(learner: Learner, year: int | None = None) -> int:
    """Record 60 professional and 30 public credits (Hubei's 90/60): the year is complete."""
    year = year or timezone.localdate().year
    record(learner, 60, year=year, category=CreditEntry.Category.PROFESSIONAL)
    record(learner, 30, year=year, category=CreditEntry.Category.PUBLIC)
    return year
