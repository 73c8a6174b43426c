"""Learner records for staff: the officer console's operations, with the same scope checks."""

from datetime import date

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from cpe.api.auth import require, session_auth
from cpe.core.capabilities import Capability
from cpe.core.services import Actor
from cpe.regions.models import Region
from cpe.registry.models import Learner
from cpe.registry.selectors import learner_for_staff, learners_visible, transfers_waiting
from cpe.registry.services import (
    LearnerDetails,
    learner_collect,
    learner_deregister,
    learner_id_number_reveal,
    learner_reinstate,
    learner_transfer_accept,
    learner_transfer_cancel,
    learner_transfer_decline,
    learner_transfer_request,
    learner_update,
)

router = Router(tags=["learners"], auth=session_auth)


class LearnerOut(Schema):
    id: int
    name: str
    id_number_masked: str
    gender: str
    birth_date: date
    mobile: str
    employer_name: str
    employer_uscc: str
    qualification_level: str
    certificate_number: str
    qualification_year: int | None
    district_code: str
    district_name: str
    status: str
    transfer_to_code: str | None
    account_activated: bool


class LearnerPage(Schema):
    count: int
    items: list[LearnerOut]


class LearnerIn(Schema):
    id_number: str = Field(description="18 characters (15-digit legacy numbers are converted)")
    name: str
    mobile: str
    employer_name: str
    employer_uscc: str = ""
    qualification_level: str = Field(description="none, junior, intermediate, senior, professor")
    certificate_number: str = ""
    qualification_year: int | None = None


class LearnerCreateIn(LearnerIn):
    district_code: str | None = Field(
        None, description="Needed only by callers who manage more than one district"
    )


class LearnerUpdateIn(LearnerIn):
    id_number: str = Field("", description="Empty keeps the number on file")
    reason: str = ""


class ReasonIn(Schema):
    reason: str


class TransferIn(ReasonIn):
    to_district_code: str


class RevealOut(Schema):
    id_number: str


class TransfersOut(Schema):
    incoming: list[LearnerOut]
    outgoing: list[LearnerOut]


def _out(learner: Learner) -> dict:
    return {
        "id": learner.pk,
        "name": learner.name,
        "id_number_masked": learner.id_number_masked,
        "gender": learner.gender,
        "birth_date": learner.birth_date,
        "mobile": learner.mobile,
        "employer_name": learner.employer_name,
        "employer_uscc": learner.employer_uscc,
        "qualification_level": learner.qualification_level,
        "certificate_number": learner.certificate_number,
        "qualification_year": learner.qualification_year,
        "district_code": learner.district.code,
        "district_name": learner.district.display_name,
        "status": learner.status,
        "transfer_to_code": learner.transfer_to.code if learner.transfer_to_id else None,
        "account_activated": learner.user_id is not None,
    }


def _details(payload: LearnerIn) -> LearnerDetails:
    return LearnerDetails(
        id_number=payload.id_number,
        name=payload.name,
        mobile=payload.mobile,
        employer_name=payload.employer_name,
        employer_uscc=payload.employer_uscc,
        qualification_level=payload.qualification_level,
        certificate_number=payload.certificate_number,
        qualification_year=payload.qualification_year,
    )


def _district(code: str, field: str) -> Region:
    region = Region.objects.filter(code=code, level=Region.Level.DISTRICT).first()
    if region is None:
        raise ValidationError({field: _("There is no district with this code.")})
    return region


def _visible(request: HttpRequest, learner_id: int) -> Learner:
    require(request, Capability.LEARNERS_VIEW)
    return learner_for_staff(user=request.auth, learner_id=learner_id)


@router.get("", response=LearnerPage)
def learner_search(
    request: HttpRequest, q: str = "", status: str = "", offset: int = 0, limit: int = 50
) -> dict:
    """Learners in the caller's scope. `q` is a full ID number, a mobile, a name or employer."""
    user = require(request, Capability.LEARNERS_VIEW)
    learners = learners_visible(user=user, search=q[:100], status=status)
    offset, limit = max(offset, 0), min(max(limit, 1), 200)
    return {
        "count": learners.count(),
        "items": [_out(learner) for learner in learners[offset : offset + limit]],
    }


@router.post("", response={201: LearnerOut})
def learner_create(request: HttpRequest, payload: LearnerCreateIn) -> Status:
    """Collect a learner. Officers collect into their own district; the code may be omitted."""
    user = require(request, Capability.LEARNERS_MANAGE)
    if payload.district_code:
        district = _district(payload.district_code, "district_code")
    elif user.region_id and user.region.level == Region.Level.DISTRICT:
        district = user.region
    else:
        district = _district("", "district_code")
    learner = learner_collect(
        actor=Actor.from_request(request), district=district, details=_details(payload)
    )
    return Status(201, _out(learner))


@router.get("/transfers", response=TransfersOut)
def transfer_list(request: HttpRequest) -> dict:
    """Transfers waiting for the caller's districts to accept, and those they asked for."""
    user = require(request, Capability.LEARNERS_VIEW)
    waiting = transfers_waiting(user=user)
    return {key: [_out(learner) for learner in learners] for key, learners in waiting.items()}


@router.get("/{learner_id}", response=LearnerOut)
def learner_detail(request: HttpRequest, learner_id: int) -> dict:
    return _out(_visible(request, learner_id))


@router.put("/{learner_id}", response=LearnerOut)
def learner_change(request: HttpRequest, learner_id: int, payload: LearnerUpdateIn) -> dict:
    """Correct a record. An empty `id_number` keeps the number on file."""
    learner = _visible(request, learner_id)
    require(request, Capability.LEARNERS_MANAGE)
    learner = learner_update(
        actor=Actor.from_request(request),
        learner=learner,
        details=_details(payload),
        reason=payload.reason,
    )
    return _out(learner_for_staff(user=request.auth, learner_id=learner.pk))


@router.post("/{learner_id}/reveal", response=RevealOut)
def learner_reveal(request: HttpRequest, learner_id: int) -> dict:
    """The full ID number, for an officer of the learner's district; audited."""
    learner = _visible(request, learner_id)
    number = learner_id_number_reveal(actor=Actor.from_request(request), learner=learner)
    return {"id_number": number}


def _act(request: HttpRequest, learner_id: int, action, **kwargs) -> dict:  # type: ignore[no-untyped-def]
    learner = _visible(request, learner_id)
    require(request, Capability.LEARNERS_MANAGE)
    action(actor=Actor.from_request(request), learner=learner, **kwargs)
    return _out(learner_for_staff(user=request.auth, learner_id=learner_id))


@router.post("/{learner_id}/transfer", response=LearnerOut)
def learner_transfer(request: HttpRequest, learner_id: int, payload: TransferIn) -> dict:
    """Ask another district to take the learner over; it must accept."""
    to_district = _district(payload.to_district_code, "to_district_code")
    return _act(
        request,
        learner_id,
        learner_transfer_request,
        to_district=to_district,
        reason=payload.reason,
    )


@router.post("/{learner_id}/transfer/accept", response=LearnerOut)
def learner_transfer_accept_call(request: HttpRequest, learner_id: int) -> dict:
    return _act(request, learner_id, learner_transfer_accept)


@router.post("/{learner_id}/transfer/decline", response=LearnerOut)
def learner_transfer_decline_call(request: HttpRequest, learner_id: int, payload: ReasonIn) -> dict:
    return _act(request, learner_id, learner_transfer_decline, reason=payload.reason)


@router.post("/{learner_id}/transfer/cancel", response=LearnerOut)
def learner_transfer_cancel_call(request: HttpRequest, learner_id: int) -> dict:
    return _act(request, learner_id, learner_transfer_cancel)


@router.post("/{learner_id}/deregister", response=LearnerOut)
def learner_deregister_call(request: HttpRequest, learner_id: int, payload: ReasonIn) -> dict:
    return _act(request, learner_id, learner_deregister, reason=payload.reason)


@router.post("/{learner_id}/reinstate", response=LearnerOut)
def learner_reinstate_call(request: HttpRequest, learner_id: int, payload: ReasonIn) -> dict:
    return _act(request, learner_id, learner_reinstate, reason=payload.reason)
