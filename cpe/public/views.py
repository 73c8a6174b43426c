"""The public pages (home, notices, help) and the staff pages that edit notices."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from cpe.core.capabilities import Capability
from cpe.core.forms import apply_validation_error
from cpe.core.permissions import capability_required
from cpe.core.services import Actor
from cpe.public.forms import NoticeForm
from cpe.public.models import Notice
from cpe.public.selectors import notices_for_home, notices_managed_by
from cpe.public.services import notice_save
from cpe.regions.selectors import help_contacts


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "public/home.html", {"notices": notices_for_home()})


def notice_detail(request: HttpRequest, notice_id: int) -> HttpResponse:
    notice = get_object_or_404(Notice.objects.select_related("region"), pk=notice_id)
    # Drafts are visible only to the staff who may edit them (for a preview).
    if (
        not notice.is_published
        and not notices_managed_by(user=request.user).filter(pk=notice.pk).exists()
    ):
        raise Http404
    return render(request, "public/notice_detail.html", {"notice": notice})


def help_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    home_region = user.region if user.is_authenticated and user.is_learner else None
    return render(request, "public/help.html", {"contacts": help_contacts(home_region=home_region)})


@capability_required(Capability.NOTICES_MANAGE)
def staff_notice_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "public/staff_notice_list.html", {"notices": notices_managed_by(user=request.user)}
    )


@capability_required(Capability.NOTICES_MANAGE)
def staff_notice_edit(request: HttpRequest, notice_id: int | None = None) -> HttpResponse:
    notice = None
    if notice_id is not None:
        notice = get_object_or_404(notices_managed_by(user=request.user), pk=notice_id)
    form = NoticeForm(request.POST or None, user=request.user, notice=notice)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            notice = notice_save(
                actor=Actor.from_request(request),
                notice=notice,
                title=data["title"],
                body=data["body"],
                region=data["region"],
                pinned=data["pinned"],
                publish=data["publish"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _("The notice is saved."))
            return redirect("public:staff_notice_list")
    return render(request, "public/staff_notice_edit.html", {"form": form, "notice": notice})
