"""Registry pages: the officer's learner console (search, collect, edit, documents, transfers)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpe.core.capabilities import Capability
from cpe.core.forms import apply_validation_error
from cpe.core.models import AuditEntry
from cpe.core.permissions import capability_required, in_scope, user_scope_path
from cpe.core.services import Actor
from cpe.regions.models import Region
from cpe.registry.forms import EvidenceForm, LearnerForm, ReasonForm, TransferForm
from cpe.registry.models import Learner, LearnerEvidence
from cpe.registry.selectors import learner_for_staff, learners_visible, transfers_waiting
from cpe.registry.services import (
    learner_collect,
    learner_deregister,
    learner_evidence_attach,
    learner_evidence_open,
    learner_evidence_remove,
    learner_id_number_reveal,
    learner_reinstate,
    learner_transfer_accept,
    learner_transfer_cancel,
    learner_transfer_decline,
    learner_transfer_request,
    learner_update,
)


def _may_manage(request: HttpRequest, region: Region | None) -> bool:
    user = request.user
    return (
        region is not None
        and user.has_capability(Capability.LEARNERS_MANAGE)
        and in_scope(user, region.path)
    )


@capability_required(Capability.LEARNERS_VIEW)
def learner_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()[:100]
    status = request.GET.get("status", "")
    learners = learners_visible(user=request.user, search=search, status=status)
    page = Paginator(learners, 50).get_page(request.GET.get("page"))
    query = urlencode({key: value for key, value in (("q", search), ("status", status)) if value})
    waiting = transfers_waiting(user=request.user)["incoming"].count()
    return render(
        request,
        "registry/learner_list.html",
        {
            "page": page,
            "q": search,
            "status": status,
            "statuses": Learner.Status.choices,
            "query": query,
            "can_manage": request.user.has_capability(Capability.LEARNERS_MANAGE),
            "transfers_waiting": waiting,
        },
    )


def _manageable_districts(request: HttpRequest):  # type: ignore[no-untyped-def]
    scope = user_scope_path(request.user) or ""
    return Region.objects.within(scope).filter(level=Region.Level.DISTRICT).order_by("code")


@capability_required(Capability.LEARNERS_MANAGE)
def learner_create(request: HttpRequest) -> HttpResponse:
    form = LearnerForm(request.POST or None, districts=_manageable_districts(request))
    if request.method == "POST" and form.is_valid():
        try:
            learner = learner_collect(
                actor=Actor.from_request(request),
                district=form.cleaned_data["district"],
                details=form.details(),
            )
        except ValidationError as error:
            apply_validation_error(form, error, default_field="id_number")
        else:
            messages.success(
                request, _("%(name)s is collected. They can now sign in.") % {"name": learner.name}
            )
            return redirect("registry:learner_detail", learner_id=learner.pk)
    return render(request, "registry/learner_form.html", {"form": form, "learner": None})


def _detail_context(request: HttpRequest, learner: Learner) -> dict:
    user = request.user
    return {
        "learner": learner,
        "history": learner.status_changes.select_related(
            "from_district", "to_district", "changed_by"
        ),
        "evidence": learner.evidence.select_related("uploaded_by"),
        "can_manage": _may_manage(request, learner.district),
        "can_receive": learner.transfer_to is not None
        and _may_manage(request, learner.transfer_to),
        "can_reveal": user.has_capability(Capability.LEARNERS_REVEAL)
        and user.region_id == learner.district_id,
        "can_audit": user.has_capability(Capability.AUDIT_VIEW),
        "can_view_study": user.has_capability(Capability.STUDY_PROGRESS_VIEW),
        "evidence_form": EvidenceForm(),
        "changes": AuditEntry.objects.filter(
            target_type="registry.learner", target_id=str(learner.pk)
        ).order_by("-created_at")[:20]
        if user.has_capability(Capability.AUDIT_VIEW)
        else [],
    }


@capability_required(Capability.LEARNERS_VIEW)
def learner_detail(request: HttpRequest, learner_id: int) -> HttpResponse:
    learner = learner_for_staff(user=request.user, learner_id=learner_id)
    return render(request, "registry/learner_detail.html", _detail_context(request, learner))


@require_POST
@capability_required(Capability.LEARNERS_REVEAL)
def learner_reveal(request: HttpRequest, learner_id: int) -> HttpResponse:
    """Show the full ID number once, on this response only; the audit log records who asked."""
    learner = learner_for_staff(user=request.user, learner_id=learner_id)
    full = learner_id_number_reveal(actor=Actor.from_request(request), learner=learner)
    context = _detail_context(request, learner) | {"revealed_id_number": full}
    response = render(request, "registry/learner_detail.html", context)
    response["Cache-Control"] = "no-store"
    return response


def _managed_learner(request: HttpRequest, learner_id: int) -> Learner:
    learner = learner_for_staff(user=request.user, learner_id=learner_id)
    if not _may_manage(request, learner.district):
        raise PermissionDenied
    return learner


@capability_required(Capability.LEARNERS_MANAGE)
def learner_edit(request: HttpRequest, learner_id: int) -> HttpResponse:
    learner = _managed_learner(request, learner_id)
    form = LearnerForm(request.POST or None, learner=learner)
    if request.method == "POST" and form.is_valid():
        try:
            learner_update(
                actor=Actor.from_request(request),
                learner=learner,
                details=form.details(),
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            apply_validation_error(form, error, default_field="id_number")
        else:
            messages.success(request, _("The record of %(name)s is saved.") % {"name": learner})
            return redirect("registry:learner_detail", learner_id=learner.pk)
    return render(request, "registry/learner_form.html", {"form": form, "learner": learner})


def _reason_action(
    request: HttpRequest,
    learner: Learner,
    *,
    form: ReasonForm,
    title: str,
    explanation: str,
    button: str,
    perform,  # type: ignore[no-untyped-def]
    done: str,
) -> HttpResponse:
    """One page shape for every change that needs a reason: transfer, deregister, decline."""
    if request.method == "POST" and form.is_valid():
        try:
            perform(form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error, default_field="reason")
        else:
            messages.success(request, done)
            return redirect("registry:learner_detail", learner_id=learner.pk)
    return render(
        request,
        "registry/learner_action.html",
        {
            "learner": learner,
            "form": form,
            "title": title,
            "explanation": explanation,
            "button": button,
        },
    )


@capability_required(Capability.LEARNERS_MANAGE)
def learner_transfer(request: HttpRequest, learner_id: int) -> HttpResponse:
    learner = _managed_learner(request, learner_id)
    actor = Actor.from_request(request)
    return _reason_action(
        request,
        learner,
        form=TransferForm(request.POST or None, learner=learner),
        title=_("Transfer to another district"),
        explanation=_(
            "The receiving district must accept the transfer. Until it does, the learner stays "
            "on your register and their record cannot be changed."
        ),
        button=_("Ask for the transfer"),
        perform=lambda data: learner_transfer_request(
            actor=actor, learner=learner, to_district=data["to_district"], reason=data["reason"]
        ),
        done=_("The transfer is waiting for the receiving district to accept it."),
    )


@capability_required(Capability.LEARNERS_MANAGE)
def learner_deregister_view(request: HttpRequest, learner_id: int) -> HttpResponse:
    learner = _managed_learner(request, learner_id)
    actor = Actor.from_request(request)
    return _reason_action(
        request,
        learner,
        form=ReasonForm(request.POST or None),
        title=_("Deregister"),
        explanation=_(
            "Deregister someone who no longer does accounting work here. Their record and "
            "credits are kept, and they can no longer sign in. You can reinstate them later."
        ),
        button=_("Deregister"),
        perform=lambda data: learner_deregister(
            actor=actor, learner=learner, reason=data["reason"]
        ),
        done=_("%(name)s is deregistered.") % {"name": learner.name},
    )


@capability_required(Capability.LEARNERS_MANAGE)
def learner_reinstate_view(request: HttpRequest, learner_id: int) -> HttpResponse:
    learner = _managed_learner(request, learner_id)
    actor = Actor.from_request(request)
    return _reason_action(
        request,
        learner,
        form=ReasonForm(request.POST or None),
        title=_("Reinstate"),
        explanation=_("Put this person back on your district's register; they can sign in again."),
        button=_("Reinstate"),
        perform=lambda data: learner_reinstate(actor=actor, learner=learner, reason=data["reason"]),
        done=_("%(name)s is on the register again.") % {"name": learner.name},
    )


def _receiving_learner(request: HttpRequest, learner_id: int) -> Learner:
    learner = learner_for_staff(user=request.user, learner_id=learner_id)
    if not _may_manage(request, learner.transfer_to):
        raise PermissionDenied
    return learner


@require_POST
@capability_required(Capability.LEARNERS_MANAGE)
def learner_transfer_accept_view(request: HttpRequest, learner_id: int) -> HttpResponse:
    learner = _receiving_learner(request, learner_id)
    try:
        learner_transfer_accept(actor=Actor.from_request(request), learner=learner)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("%(name)s is now on your district's register.") % {"name": learner.name}
        )
    return redirect("registry:learner_detail", learner_id=learner.pk)


@capability_required(Capability.LEARNERS_MANAGE)
def learner_transfer_decline_view(request: HttpRequest, learner_id: int) -> HttpResponse:
    learner = _receiving_learner(request, learner_id)
    actor = Actor.from_request(request)
    return _reason_action(
        request,
        learner,
        form=ReasonForm(request.POST or None),
        title=_("Decline the transfer"),
        explanation=_("The learner stays with %(district)s, which sees your reason.")
        % {"district": learner.district.display_name},
        button=_("Decline"),
        perform=lambda data: learner_transfer_decline(
            actor=actor, learner=learner, reason=data["reason"]
        ),
        done=_("The transfer is declined."),
    )


@require_POST
@capability_required(Capability.LEARNERS_MANAGE)
def learner_transfer_cancel_view(request: HttpRequest, learner_id: int) -> HttpResponse:
    learner = _managed_learner(request, learner_id)
    try:
        learner_transfer_cancel(actor=Actor.from_request(request), learner=learner)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The transfer is withdrawn."))
    return redirect("registry:learner_detail", learner_id=learner.pk)


@capability_required(Capability.LEARNERS_VIEW)
def transfer_list(request: HttpRequest) -> HttpResponse:
    return render(request, "registry/transfer_list.html", transfers_waiting(user=request.user))


@require_POST
@capability_required(Capability.LEARNERS_MANAGE)
def evidence_upload(request: HttpRequest, learner_id: int) -> HttpResponse:
    learner = _managed_learner(request, learner_id)
    form = EvidenceForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            learner_evidence_attach(
                actor=Actor.from_request(request),
                learner=learner,
                kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
            )
        except ValidationError as error:
            apply_validation_error(form, error, default_field="file")
        else:
            messages.success(request, _("The document is attached."))
            return redirect("registry:learner_detail", learner_id=learner.pk)
    context = _detail_context(request, learner) | {"evidence_form": form}
    return render(request, "registry/learner_detail.html", context, status=422)


def _visible_evidence(request: HttpRequest, learner_id: int, evidence_id: int) -> LearnerEvidence:
    learner = learner_for_staff(user=request.user, learner_id=learner_id)
    return get_object_or_404(LearnerEvidence, pk=evidence_id, learner=learner)


@capability_required(Capability.LEARNERS_VIEW)
def evidence_download(request: HttpRequest, learner_id: int, evidence_id: int) -> HttpResponse:
    evidence = _visible_evidence(request, learner_id, evidence_id)
    if not in_scope(request.user, evidence.learner.district.path):
        raise PermissionDenied  # a receiving district decides on the record, not the papers
    handle = learner_evidence_open(actor=Actor.from_request(request), evidence=evidence)
    response = FileResponse(
        handle,
        content_type=evidence.content_type,
        as_attachment=request.GET.get("download") == "1",
        filename=evidence.original_name,
    )
    response["Cache-Control"] = "private, no-store"
    return response


@capability_required(Capability.LEARNERS_MANAGE)
def evidence_remove(request: HttpRequest, learner_id: int, evidence_id: int) -> HttpResponse:
    learner = _managed_learner(request, learner_id)
    evidence = get_object_or_404(LearnerEvidence, pk=evidence_id, learner=learner)
    actor = Actor.from_request(request)
    return _reason_action(
        request,
        learner,
        form=ReasonForm(request.POST or None),
        title=_("Remove a document"),
        explanation=_("Remove %(document)s from this record. The audit log keeps a note of it.")
        % {"document": evidence},
        button=_("Remove"),
        perform=lambda data: learner_evidence_remove(
            actor=actor, evidence=evidence, reason=data["reason"]
        ),
        done=_("The document is removed."),
    )
