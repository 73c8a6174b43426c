"""Demo credits: the demo learner's earlier years complete in the ledger and this year begun,
and a credit registration (a professional meeting) waiting for the Jiang'an officer.

Her earlier required years were studied before this platform, so they are recorded as
face-to-face training and a professional meeting; this year holds a face-to-face training of
public subjects, plus whatever demo courses she has completed. Runs after the learning demo;
a learner who already has entries is left alone.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from cpe.core.services import Actor
from cpe.credits.models import CreditApplication, CreditEntry
from cpe.credits.registration import credit_application_submit
from cpe.credits.services import credit_record, ledger_import_completions
from cpe.learning.years import required_years
from cpe.registry.demo import ACTIVATED
from cpe.registry.services import learner_find_by_id_number

Category, Source = CreditEntry.Category, CreditEntry.Source

# (category, credits, source, reference) for each earlier year, and for the current one.
EARLIER_YEAR = [
    (
        Category.PROFESSIONAL,
        Decimal("60"),
        Source.PROFESSIONAL_MEETING,
        "湖北省会计学会{year}年专题研讨会",
    ),
    (Category.PUBLIC, Decimal("30"), Source.FACE_TO_FACE, "江岸区财政局{year}年面授培训"),
]
CURRENT_YEAR = [
    (Category.PUBLIC, Decimal("12"), Source.FACE_TO_FACE, "江岸区财政局{year}年面授培训"),
]


# A scanned attendance certificate: a small but whole PDF.
MEETING_EVIDENCE = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
MEETING_DETAILS = {
    "meeting_name": "湖北省会计学会年度学术研讨会",
    "organiser": "湖北省会计学会",
    "days": "2",
}


def seed_application(learner) -> CreditApplication | None:  # type: ignore[no-untyped-def]
    """A pending application of the demo learner for this year (once; never on a rerun)."""
    if learner is None or learner.user is None:
        return None
    if CreditApplication.objects.filter(learner=learner).exists():
        return None
    from django.core.files.uploadedfile import SimpleUploadedFile

    return credit_application_submit(
        actor=Actor(user=learner.user),
        learner=learner,
        year=timezone.localdate().year,
        kind="professional_meeting",
        details=MEETING_DETAILS,
        evidence=SimpleUploadedFile("参会证明.pdf", MEETING_EVIDENCE),
    )


def seed(actor: Actor) -> list[CreditEntry]:
    """Record the demo learner's credits once; returns the entries made (none on a rerun)."""
    learner = learner_find_by_id_number(ACTIVATED[0])
    made: list[CreditEntry] = []
    if learner is None:
        return made
    ledger_import_completions(actor=actor)
    seed_application(learner)
    if CreditEntry.objects.filter(learner=learner).exclude(completion__isnull=False).exists():
        return made
    current = timezone.localdate().year
    for year in required_years(learner):
        rows = CURRENT_YEAR if year == current else EARLIER_YEAR
        for category, credits, source, reference in rows:
            made.append(
                credit_record(
                    actor=actor,
                    learner=learner,
                    year=year,
                    category=category,
                    credits=credits,
                    source=source,
                    reference=reference.format(year=year),
                    reason="演示数据",
                )
            )
    return made
