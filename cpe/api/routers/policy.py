"""The study rules per region and year for administrators: read them, change them, and
recompute the yearly statuses a change decides (the same services as the staff page,
cpe.regions.services.region_policy_change and region_policy_recompute)."""

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from cpe.api.auth import require, session_auth
from cpe.api.errors import error_body
from cpe.core.capabilities import Capability
from cpe.core.models import Job
from cpe.core.permissions import in_scope, user_scope_path
from cpe.core.services import Actor
from cpe.regions.models import Region, RegionPolicy
from cpe.regions.selectors import policy_recomputations
from cpe.regions.services import (
    POLICY_FIELDS,
    RecomputationRequired,
    region_policy_change,
    region_policy_recompute,
)

router = Router(tags=["study rules"], auth=session_auth)


class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]


class PolicyValues(Schema):
    annual_credits: int | None = Field(None, ge=0, le=999)
    professional_credits: int | None = Field(None, ge=0, le=999)
    credits_per_class_hour: int | None = Field(None, ge=1, le=99)
    minutes_per_class_hour: int | None = Field(None, ge=1, le=999)
    makeup_from: int | None = Field(None, description="Empty: no make-up study")
    sequential_years: bool | None = None
    plan_fee: Decimal | None = Field(None, ge=0)
    heartbeat_seconds: int | None = Field(None, ge=5, le=120)
    max_playback_rate: Decimal | None = Field(None, gt=0)
    attention_check_minutes: int | None = Field(None, ge=0)
    lesson_completion_percent: int | None = Field(None, ge=50, le=100)
    exam_single_count: int | None = Field(None, ge=0)
    exam_multiple_count: int | None = Field(None, ge=0)
    exam_true_false_count: int | None = Field(None, ge=0)
    exam_shuffle_options: bool | None = None
    exam_pass_mark: int | None = Field(None, ge=1, le=100)
    exam_time_limit_minutes: int | None = Field(None, ge=1)
    exam_attempts_per_year: int | None = Field(None, ge=1)
    exam_reset_on_exhaustion: bool | None = None
    exam_show_review: bool | None = None


class PolicyIn(PolicyValues):
    caps: dict[str, int | None] | None = Field(
        None,
        description="Most credits a year per source (e.g. face_to_face); null removes a cap; "
        "leave out to keep the row's caps",
    )
    recompute: bool = Field(
        False, description="Recompute the yearly statuses the change decides (with a reason)"
    )
    reason: str = Field("", max_length=500)


class RecomputationOut(Schema):
    job: str = Field(description="Follow it at /api/v1/jobs/{job}")
    state: str = Field(description="queued, running, or failed (then run it again)")
    message: str
    finished_at: datetime | None


class RecomputeIn(Schema):
    reason: str = Field(..., max_length=500)


class PolicyOut(PolicyValues):
    region: str
    effective_from: int
    caps: dict[str, int]
    recomputation: RecomputationOut | None = Field(
        None,
        description="The background recomputation of the years this row decides, while it "
        "has not ended well: those years' statuses may be stale",
    )


class PolicyChangeOut(Schema):
    policy: PolicyOut
    affected: int = Field(description="Learner-years with credits that these rules decide")
    recomputed: dict[str, int] | None = Field(description="When recomputed at once")
    job: str | None = Field(description="The background recomputation job, when large")


def _recomputation_out(job: Job) -> dict:
    return {
        "job": str(job.pk),
        "state": job.state,
        "message": job.message,
        "finished_at": job.finished_at,
    }


def _policy_out(row: RegionPolicy, recomputation: Job | None = None) -> dict:
    return {
        "region": row.region.code,
        "effective_from": row.effective_from,
        "caps": dict(row.caps.order_by("source").values_list("source", "max_credits")),
        **{name: getattr(row, name) for name in POLICY_FIELDS},
        "recomputation": _recomputation_out(recomputation) if recomputation else None,
    }


def _region(request: HttpRequest, code: str, capability: str) -> Region:
    user = require(request, capability)
    region = Region.objects.filter(code=code).first()
    scope = user_scope_path(user)
    if region is None or scope is None:
        raise Http404
    if not (scope.startswith(region.path) or in_scope(user, region.path)):
        raise Http404
    return region


@router.get(
    "/{code}/rules",
    response={200: list[PolicyOut], 403: ErrorOut, 404: ErrorOut},
    summary="A region's own rows of rules, newest first (read in or above one's region)",
)
def policy_list(request: HttpRequest, code: str) -> list[dict]:
    region = _region(request, code, Capability.POLICY_VIEW)
    rows = RegionPolicy.objects.filter(region=region).select_related("region")
    recomputations = policy_recomputations(regions=[region])
    return [
        _policy_out(row, recomputations.get(row.pk)) for row in rows.order_by("-effective_from")
    ]


@router.put(
    "/{code}/rules/{year}",
    response={200: PolicyChangeOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Set a region's rules from a year on (a new row, or a correction of that year's)",
    description="Refused with 422 `recompute_required` and the count of affected "
    "learner-years when the change alters what completes years that already have credits; "
    "send `recompute: true` with a reason to save and recompute them.",
)
def policy_put(request: HttpRequest, code: str, year: int, payload: PolicyIn) -> dict | Status:
    region = _region(request, code, Capability.POLICY_EDIT)
    if not in_scope(request.auth, region.path):
        raise Http404
    values = payload.dict(exclude_unset=True)
    caps = values.pop("caps", None)
    recompute = values.pop("recompute", False)
    reason = values.pop("reason", "")
    try:
        change = region_policy_change(
            actor=Actor.from_request(request),
            region=region,
            effective_from=year,
            values=values,
            caps=caps,
            recompute=recompute,
            reason=reason,
        )
    except RecomputationRequired as refused:
        message = refused.message_dict["recompute"][0]
        return Status(422, error_body("recompute_required", message, refused.message_dict))
    except ValidationError as refused:
        fields = (
            refused.message_dict
            if hasattr(refused, "error_dict")
            else {"__all__": refused.messages}
        )
        return Status(422, error_body("validation_error", _("Some fields are not valid."), fields))
    change.policy.region = region
    return {
        "policy": _policy_out(change.policy),
        "affected": change.affected,
        "recomputed": change.recomputed,
        "job": str(change.job.pk) if change.job else None,
    }


@router.post(
    "/{code}/rules/{year}/recompute",
    response={202: RecomputationOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Run again a recomputation of the yearly statuses that stopped (with a reason)",
    description="For a row whose latest background recomputation failed (see `recomputation` "
    "in the list of rows); refused with 422 otherwise. Audited as "
    "`region_policy.recompute_again`.",
)
def policy_recompute(request: HttpRequest, code: str, year: int, payload: RecomputeIn) -> Status:
    region = _region(request, code, Capability.POLICY_EDIT)
    if not in_scope(request.auth, region.path):
        raise Http404
    row = RegionPolicy.objects.filter(region=region, effective_from=year).first()
    if row is None:
        raise Http404
    job = region_policy_recompute(
        actor=Actor.from_request(request), policy=row, reason=payload.reason
    )
    return Status(202, _recomputation_out(job))
