"""Test data for the credit ledger (imported by tests, never by the application)."""

from __future__ import annotations

from decimal import Decimal

from cpe.core.services import Actor
from cpe.credits.models import CreditEntry
from cpe.credits.services import credit_record
from cpe.registry.models import Learner

SYSTEM = Actor.for_system("tests")


def record(
    learner: Learner,
    credits: Decimal | int | str,
    *,
    category: str = CreditEntry.Category.PROFESSIONAL,
    year: int | None = None,
    source: str = CreditEntry.Source.FACE_TO_FACE,
    reference: str = "",
    now=None,
) -> CreditEntry:
    """Credits recorded as an officer would record face-to-face training."""
    from django.utils import timezone

    return credit_record(
        actor=SYSTEM,
        learner=learner,
        year=year or timezone.localdate().year,
        category=category,
        credits=credits,
        source=source,
        reference=reference,
        now=now,
    )
