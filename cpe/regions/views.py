"""Staff pages for the finance offices' contacts."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpe.core.capabilities import Capability
from cpe.core.permissions import capability_required, require_in_scope, user_scope_path
from cpe.core.services import Actor, job_enqueue
from cpe.regions.forms import BureauForm
from cpe.regions.jobs import EXPORT_CONTACTS
from cpe.regions.models import Bureau, Region
from cpe.regions.services import bureau_save


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
