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
    evidence: str = "",
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
        evidence=evidence,
        now=now,
    )


def sha256_as_before(entry) -> str:
    """The ledger's hash before it was keyed (plain SHA-256 of the fields and the previous
    hash): what anyone with database access could recompute after an edit."""
    import datetime
    import hashlib
    import json

    canonical = {
        "learner": entry.learner_id,
        "year": entry.year,
        "category": entry.category,
        "credits": f"{Decimal(entry.credits):.1f}",
        "source": entry.source,
        "reference": entry.reference,
        "completion": entry.completion_id,
        "recorded_by": entry.recorded_by_id,
        "recorded_by_label": entry.recorded_by_label,
        "approved_by": entry.approved_by_id,
        "reason": entry.reason,
        "created_at": entry.created_at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "reverses": entry.reverses_id,
        "previous_hash": entry.previous_hash,
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- Credit registration ------------------------------------------------------------------

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXAM_DETAILS = {
    "certificate_number": "Z2024-0001",
    "exam_name": "全国会计专业技术资格考试",
    "subject": "中级会计实务",
}


def evidence_file(name: str = "证书.pdf", content: bytes = PDF_BYTES):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/pdf")


def apply_for_credits(
    learner: Learner,
    *,
    kind: str = "exam_subject",
    details: dict | None = None,
    year: int | None = None,
    category: str = "",
    evidence=None,
):
    """A learner's application, as the application page sends it (evidence attached)."""
    from django.utils import timezone

    from cpe.credits.registration import credit_application_submit

    return credit_application_submit(
        actor=Actor(user=learner.user),
        learner=learner,
        year=year or timezone.localdate().year,
        kind=kind,
        details=details if details is not None else dict(EXAM_DETAILS),
        category=category,
        evidence=evidence if evidence is not None else evidence_file(),
    )
