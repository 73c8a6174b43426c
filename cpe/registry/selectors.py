"""Reads of learner records for staff, always narrowed to the caller's region scope."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404

from cpe.core.permissions import user_scope_path
from cpe.regions.models import Region
from cpe.registry.identity import normalise_id_number, normalise_mobile
from cpe.registry.models import Learner, LearnerImport
from cpe.registry.services import id_number_hash

_ID_LIKE = re.compile(r"^(\d{17}[\dXx]|\d{15})$")
_MOBILE_LIKE = re.compile(r"^1\d{10}$")


def _in_scope(user: Any) -> Q | None:
    """Learners a staff member may see: their district's, and those being sent to them."""
    scope = user_scope_path(user)
    if scope is None:
        return None
    if scope == "":
        return Q()
    return Q(district__path__startswith=scope) | Q(transfer_to__path__startswith=scope)


def learners_visible(*, user: Any, search: str = "", status: str = "") -> QuerySet[Learner]:
    """The learners in the caller's scope matching one search box.

    An ID number is found exactly through its keyed hash (never by decrypting); eleven
    digits starting with 1 are a mobile number; anything else matches the name, the
    employer's name or its credit code.
    """
    scope = _in_scope(user)
    if scope is None:
        return Learner.objects.none()
    learners = Learner.objects.filter(scope).select_related("district", "transfer_to")
    search = search.strip()
    if _ID_LIKE.match(search):
        try:
            digest = id_number_hash(normalise_id_number(search).value)
        except ValidationError:  # a malformed number finds nobody rather than an error page
            return learners.none()
        learners = learners.filter(id_number_hash=digest)
    elif _MOBILE_LIKE.match(search):
        learners = learners.filter(mobile=normalise_mobile(search))
    elif search:
        learners = learners.filter(
            Q(name__icontains=search)
            | Q(employer_name__icontains=search)
            | Q(employer_uscc=search.upper())
        )
    if status in Learner.Status.values:
        learners = learners.filter(status=status)
    return learners.order_by("name", "pk")


def learner_for_staff(*, user: Any, learner_id: int) -> Learner:
    """One learner the caller may see; anyone else's answers 404, not 403."""
    scope = _in_scope(user)
    if scope is None:
        raise Http404
    learner = (
        Learner.objects.filter(scope, pk=learner_id)
        .select_related("district", "transfer_to", "user")
        .first()
    )
    if learner is None:
        raise Http404
    return learner


def transfers_waiting(*, user: Any) -> dict[str, QuerySet[Learner]]:
    """Transfers the caller's districts have asked for, and those asked of them."""
    scope = user_scope_path(user)
    pending = Learner.objects.filter(status=Learner.Status.TRANSFER_PENDING).select_related(
        "district", "transfer_to"
    )
    if scope is None:
        return {"incoming": pending.none(), "outgoing": pending.none()}
    return {
        "incoming": pending.filter(transfer_to__path__startswith=scope).order_by("updated_at"),
        "outgoing": pending.filter(district__path__startswith=scope).order_by("updated_at"),
    }


def officer_district(*, user: Any) -> Region:
    """The district an officer imports into: their own; anyone else has none (403)."""
    region = user.region
    if region is None or region.level != Region.Level.DISTRICT:
        raise PermissionDenied
    return region


def import_for_officer(*, user: Any, import_id: UUID) -> LearnerImport:
    """One of the officer's district's imports; another district's answers 404."""
    district = officer_district(user=user)
    learner_import = (
        LearnerImport.objects.select_related("district", "job", "created_by")
        .filter(pk=import_id, district=district)
        .first()
    )
    if learner_import is None:
        raise Http404
    return learner_import


def imports_of_district(*, user: Any) -> QuerySet[LearnerImport]:
    return LearnerImport.objects.filter(district=officer_district(user=user)).select_related(
        "created_by", "job"
    )
