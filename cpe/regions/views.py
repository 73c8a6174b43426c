"""Staff pages for the finance offices' contacts and the study rules per region and year."""

from __future__ import annotations

import contextlib

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpe.core.capabilities import Capability
from cpe.core.forms import apply_validation_error
from cpe.core.permissions import (
    capability_required,
    in_scope,
    require_in_scope,
    user_scope_path,
)
from cpe.core.selectors import jobs_visible
from cpe.core.services import Actor, job_enqueue
from cpe.regions.forms import BureauForm, PolicyForm, RecomputeAgainForm
from cpe.regions.hooks import credit_sources
from cpe.regions.jobs import EXPORT_CONTACTS
from cpe.regions.models import Bureau, Region, RegionPolicy
from cpe.regions.policy import policy_for
from cpe.regions.selectors import policy_recomputations, policy_regions_visible
from cpe.regions.services import (
    POLICY_FIELDS,
    bureau_save,
    region_policy_change,
    region_policy_recompute,
)


@capability_required(Capability.CONTACTS_VIEW)
def staff_bureau_list(request: HttpRequest) -> HttpResponse:
    scope = user_scope_path(request.user) or ""
    regions = (
        Region.objects.within(scope)
        .exclude(level=Region.Level.PROVINCE)
        .select_related("bureau", "parent")
        .order_by("code")
    )
    can_edit = request.user.has_capability(Capability.CONTACTS_EDIT)
    return render(
        request, "regions/staff_bureau_list.html", {"regions": regions, "can_edit": can_edit}
    )


@capability_required(Capability.CONTACTS_EDIT)
def staff_bureau_edit(request: HttpRequest, code: str) -> HttpResponse:
    region = get_object_or_404(Region, code=code)
    require_in_scope(request.user, region.path)
    bureau = Bureau.objects.filter(region=region).first() or Bureau(region=region)
    form = BureauForm(request.POST or None, instance=bureau)
    if request.method == "POST" and form.is_valid():
        bureau_save(actor=Actor.from_request(request), region=region, **form.cleaned_data)
        messages.success(request, _("The contacts of %(region)s are saved.") % {"region": region})
        return redirect("regions:staff_bureau_list")
    return render(request, "regions/staff_bureau_edit.html", {"form": form, "region": region})


@require_POST
@capability_required(Capability.CONTACTS_VIEW)
def staff_contacts_export(request: HttpRequest) -> HttpResponse:
    job = job_enqueue(
        kind=EXPORT_CONTACTS,
        actor=Actor.from_request(request),
        region_path=user_scope_path(request.user) or "",
    )
    return redirect("core:job_detail", job_id=job.pk)


# --- Study rules -----------------------------------------------------------------------


def _visible_region(request: HttpRequest, code: str) -> Region:
    """A region whose rules the user may read: in their scope or above it (404 otherwise)."""
    region = get_object_or_404(Region, code=code)
    scope = user_scope_path(request.user)
    if scope is None or not (scope.startswith(region.path) or in_scope(request.user, region.path)):
        raise Http404
    return region


@capability_required(Capability.POLICY_VIEW)
def staff_policy_list(request: HttpRequest) -> HttpResponse:
    """The rules of every region the user works in or under, row by row (effective year)."""
    regions = policy_regions_visible(scope_path=user_scope_path(request.user) or "")
    may_edit = request.user.has_capability(Capability.POLICY_EDIT)
    labels = dict(credit_sources())
    recomputations = policy_recomputations(regions=regions)
    # The job's page opens for whoever started it, and for support staff.
    openable = set(
        jobs_visible(user=request.user)
        .filter(pk__in=[job.pk for job in recomputations.values()])
        .values_list("pk", flat=True)
    )
    for region in regions:
        region.may_edit = may_edit and in_scope(request.user, region.path)
        region.recomputations = []
        for row in region.policies.all():
            for cap in row.caps.all():
                cap.label = labels.get(cap.source, cap.source)
            job = recomputations.get(row.pk)
            if job is not None:
                job.may_open = job.pk in openable
                region.recomputations.append((row, job))
    return render(
        request,
        "regions/staff_policy_list.html",
        {"regions": regions, "this_year": timezone.localdate().year},
    )


@capability_required(Capability.POLICY_EDIT)
def staff_policy_edit(request: HttpRequest, code: str, year: int | None = None) -> HttpResponse:
    """Correct a region's row of rules from `year`, or (without a year) add a row from a new
    year on; a change that decides years with credits asks for a recomputation first."""
    region = _visible_region(request, code)
    require_in_scope(request.user, region.path)
    if year is not None:
        row = get_object_or_404(RegionPolicy, region=region, effective_from=year)
        caps = dict(row.caps.values_list("source", "max_credits"))
    else:
        start = timezone.localdate().year
        with contextlib.suppress(ValueError):
            start = int(request.GET.get("from", start))
        in_force = policy_for(region, start)
        row = RegionPolicy(
            region=region,
            effective_from=start,
            **{name: getattr(in_force, name) for name in POLICY_FIELDS},
        )
        caps = dict(in_force.source_caps)
    form = PolicyForm(request.POST or None, instance=row, caps=caps, existing=year is not None)
    if request.method == "POST" and form.is_valid():
        try:
            change = region_policy_change(
                actor=Actor.from_request(request),
                region=region,
                effective_from=year if year is not None else form.cleaned_data["effective_from"],
                values=form.policy_values(),
                caps=form.caps(),
                recompute=form.cleaned_data["recompute"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as refused:
            apply_validation_error(form, refused)
        else:
            messages.success(
                request,
                _("The rules of %(region)s from %(year)s are saved.")
                % {"region": region.display_name, "year": change.policy.effective_from},
            )
            if change.job is not None:
                return redirect("core:job_detail", job_id=change.job.pk)
            if change.recomputed is not None:
                messages.info(
                    request,
                    _("%(changed)s yearly statuses recomputed, %(status)s of them changed status.")
                    % {
                        "changed": change.recomputed["changed"],
                        "status": change.recomputed["status_changed"],
                    },
                )
            return redirect("regions:staff_policy_list")
    return render(
        request,
        "regions/staff_policy_edit.html",
        {"form": form, "region": region, "year": year},
    )


@require_POST
@capability_required(Capability.POLICY_EDIT)
def staff_policy_recompute(request: HttpRequest, code: str, year: int) -> HttpResponse:
    """Run again a recomputation of the yearly statuses that stopped, with a reason."""
    region = _visible_region(request, code)
    require_in_scope(request.user, region.path)
    row = get_object_or_404(RegionPolicy, region=region, effective_from=year)
    form = RecomputeAgainForm(request.POST)
    if not form.is_valid():
        # The form sits on the rules page, beside the failure: its errors go back there.
        messages.error(request, " ".join(form.errors["reason"]))
        return redirect("regions:staff_policy_list")
    try:
        job = region_policy_recompute(
            actor=Actor.from_request(request), policy=row, reason=form.cleaned_data["reason"]
        )
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
        return redirect("regions:staff_policy_list")
    messages.success(request, _("The yearly statuses are being recomputed again."))
    return redirect("core:job_detail", job_id=job.pk)
