"""The credit ledger: a learner's own entries and yearly status, and an officer's reversal.

The same reads and services as the credits pages (cpe.credits).
"""

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from cpe.api.auth import require, session_auth
from cpe.core.capabilities import Capability
from cpe.core.services import Actor
from cpe.credits.models import CreditEntry
from cpe.credits.selectors import YearCredits, learner_credit_overview, learner_entries
from cpe.credits.services import credit_reverse
from cpe.learning.selectors import learner_for_user
from cpe.registry.models import Learner
from cpe.registry.selectors import learner_for_staff

router = Router(tags=["credits"], auth=session_auth)
staff_router = Router(tags=["credits"], auth=session_auth)


class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]


class EntryOut(Schema):
    id: int
    year: int
    category: str = Field(description="public or professional")
    credits: Decimal = Field(description="Negative only for a reversing entry")
    source: str = Field(
        description="platform_course, exam, degree_course, professional_meeting, "
        "research_project, paper, book, face_to_face or other"
    )
    reference: str = Field(description="For a platform course: the course code")
    evidence: str = Field(
        description="What the credits rest on: sha256:<hex> of an application's evidence "
        "file, or the document an officer named; blank for a course on the platform"
    )
    reason: str
    recorded_at: datetime
    reverses: int | None = Field(description="The entry this one reverses")


class YearOut(Schema):
    year: int
    status: str = Field(description="not_started, in_progress, complete or revoked")
    total_credits: Decimal
    professional_credits: Decimal
    public_credits: Decimal
    required_credits: int
    required_professional_credits: int
    missing_professional_credits: Decimal
    missing_other_credits: Decimal = Field(
        description="Credits missing beyond the professional ones, of either category"
    )
    missing: list[str] = Field(description="What is missing, in plain words")
    capped: list[str] = Field(
        description="Where the year's cap per source leaves credits out, in plain words"
    )
    met_at: datetime | None = Field(description="When the year's rules were first met")


class CreditsOut(Schema):
    years: list[YearOut]
    entries: list[EntryOut]


class ReverseIn(Schema):
    reason: str = Field(max_length=500, description="Why the credits are taken back (required)")


def _entry(entry: CreditEntry) -> dict:
    return {
        "id": entry.pk,
        "year": entry.year,
        "category": entry.category,
        "credits": entry.credits,
        "source": entry.source,
        "reference": entry.reference,
        "evidence": entry.evidence,
        "reason": entry.reason,
        "recorded_at": entry.created_at,
        "reverses": entry.reverses_id,
    }


def _year(year: YearCredits) -> dict:
    return {
        "year": year.year,
        "status": year.status,
        "total_credits": year.total_credits,
        "professional_credits": year.professional_credits,
        "public_credits": year.public_credits,
        "required_credits": year.policy.annual_credits,
        "required_professional_credits": year.policy.professional_credits,
        "missing_professional_credits": year.missing_professional,
        "missing_other_credits": year.missing_other,
        "missing": year.missing_text,
        "capped": year.cap_text,
        "met_at": year.met_at,
    }


def _credits(learner: Learner) -> dict:
    credits = learner_credit_overview(learner)
    return {
        "years": [_year(year) for year in credits.years],
        "entries": [_entry(entry) for entry in credits.entries],
    }


@router.get(
    "/credits",
    response={200: CreditsOut, 403: ErrorOut},
    summary="My credits: each year's status from the ledger, and every entry",
)
def my_credits(request: HttpRequest) -> dict:
    learner = learner_for_user(require(request, Capability.STUDY))
    if learner is None:
        raise PermissionDenied
    return _credits(learner)


@staff_router.get(
    "/{learner_id}/credits",
    response={200: CreditsOut, 403: ErrorOut, 404: ErrorOut},
    summary="A learner's credits (staff who may read them, in their region)",
)
def learner_credits(request: HttpRequest, learner_id: int) -> dict:
    user = require(request, Capability.CREDITS_VIEW)
    return _credits(learner_for_staff(user=user, learner_id=learner_id))


@staff_router.post(
    "/{learner_id}/credits/{entry_id}/reverse",
    response={201: EntryOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Take an entry's credits back with a reversing entry (a reason is required)",
)
def credit_reverse_post(
    request: HttpRequest, learner_id: int, entry_id: int, payload: ReverseIn
) -> Status:
    user = require(request, Capability.CREDITS_REVERSE)
    learner = learner_for_staff(user=user, learner_id=learner_id)
    entry = get_object_or_404(learner_entries(learner), pk=entry_id)
    reversal = credit_reverse(actor=Actor.from_request(request), entry=entry, reason=payload.reason)
    return Status(201, _entry(reversal))
