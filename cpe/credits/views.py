"""The learner's credits page, and the ledger on the staff page of a learner's study."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpe.core.capabilities import Capability
from cpe.core.permissions import capability_required
from cpe.core.services import Actor
from cpe.credits.registration import applications_for_learner
from cpe.credits.selectors import learner_credit_years, learner_entries
from cpe.credits.services import credit_reverse
from cpe.learning.selectors import learner_for_user
from cpe.registry.models import Learner
from cpe.registry.selectors import learner_for_staff

learner_required = capability_required(Capability.STUDY, login_url_name="registry:signin")


@learner_required
def credits_dashboard(request: HttpRequest) -> HttpResponse:
    """Each year's credits from the ledger, what is still missing, and the entries."""
    learner = learner_for_user(request.user)
    if learner is None:
        raise Http404
    return render(
        request,
        "credits/dashboard.html",
        {
            "learner": learner,
            "years": learner_credit_years(learner),
            "applications": applications_for_learner(learner),
        },
    )


def staff_credits_panel(request: HttpRequest, learner: Learner) -> SafeString | str:
    """The learner's ledger on the staff page of their study (registered with
    cpe.learning.panels), for staff who may read credits; officers may reverse entries."""
    user = request.user
    if not user.has_capability(Capability.CREDITS_VIEW):
        return ""
    return render_to_string(
        "credits/includes/staff_panel.html",
        {
            "learner": learner,
            "years": learner_credit_years(learner),
            "may_reverse": user.has_capability(Capability.CREDITS_REVERSE),
        },
        request=request,
    )


@require_POST
@capability_required(Capability.CREDITS_REVERSE)
def staff_credit_reverse(request: HttpRequest, learner_id: int, entry_id: int) -> HttpResponse:
    """Reverse one entry of a learner in the officer's district, with the reason given."""
    learner = learner_for_staff(user=request.user, learner_id=learner_id)
    entry = get_object_or_404(learner_entries(learner), pk=entry_id)
    try:
        credit_reverse(
            actor=Actor.from_request(request), entry=entry, reason=request.POST.get("reason", "")
        )
    except ValidationError as refused:
        for problems in refused.message_dict.values():
            for problem in problems:
                messages.error(request, problem)
    else:
        messages.success(request, _("The credits were reversed."))
    return redirect("learning:staff_learner_study", learner_id=learner.pk)
