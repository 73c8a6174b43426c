"""Writes owned by the registry: collecting learners and reading their ID numbers."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from cpe.core.capabilities import Capability
from cpe.core.privacy import scrub_id_numbers
from cpe.core.services import Actor, audit_record, snapshot
from cpe.regions.models import Region
from cpe.registry.crypto import encrypt, field_keys, key_id_of, lookup_hash, mask_id_number
from cpe.registry.identity import (
    normalise_id_number,
    normalise_mobile,
    normalise_name,
    normalise_uscc,
)
from cpe.registry.models import (
    ID_NUMBER_PURPOSE,
    Learner,
    LearnerEvidence,
    LearnerStatusChange,
    QualificationLevel,
)

# What an audit entry may show of a learner: never the ID number itself.
LEARNER_AUDIT_FIELDS = [
    "id_number_masked",
    "name",
    "mobile",
    "employer_name",
    "employer_uscc",
    "qualification_level",
    "certificate_number",
    "qualification_year",
    "district",
    "status",
]


# Computed once: an enum's `values` is rebuilt on each call, which an import does per row.
_LEVELS = frozenset(QualificationLevel.values)
# Tabs, line breaks and NUL in a one-line field come from pasted spreadsheets; PostgreSQL
# refuses NUL outright, so they are refused here, before anything is written.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def id_number_hash(id_number: str) -> str:
    return lookup_hash(id_number, purpose=ID_NUMBER_PURPOSE)


@dataclass(frozen=True)
class LearnerDetails:
    """What an officer types in; every field is checked and normalised by `clean`."""

    id_number: str
    name: str
    mobile: str
    employer_name: str
    qualification_level: str
    employer_uscc: str = ""
    certificate_number: str = ""
    qualification_year: int | None = None


def _clean(details: LearnerDetails, *, today: date | None = None) -> dict[str, object]:
    """Every field error at once, keyed by field, so forms and imports show them all.

    An import passes `today` once for all its rows rather than asking for every row.
    """
    today = today or timezone.localdate()
    errors: dict[str, list[str]] = {}
    values: dict[str, object] = {}

    def check(field: str, fn, raw):  # type: ignore[no-untyped-def]
        try:
            values[field] = fn(raw)
        except ValidationError as error:
            errors.setdefault(field, []).extend(error.messages)

    check("id_number", lambda raw: normalise_id_number(raw, today=today), details.id_number)
    check("name", normalise_name, details.name)
    check("mobile", normalise_mobile, details.mobile)
    if details.employer_uscc.strip():
        check("employer_uscc", normalise_uscc, details.employer_uscc)
    else:
        values["employer_uscc"] = ""
    employer = details.employer_name.strip()
    if not 2 <= len(employer) <= 200:
        errors.setdefault("employer_name", []).append(_("Enter the employer's full name."))
    values["employer_name"] = employer
    level = details.qualification_level
    if level not in _LEVELS:
        errors.setdefault("qualification_level", []).append(_("Choose a qualification level."))
    year = details.qualification_year
    if level != QualificationLevel.NONE:
        this_year = today.year
        if year is None or not 1950 <= year <= this_year:
            errors.setdefault("qualification_year", []).append(
                _("Enter the year the qualification was obtained (1950 to %(year)s).")
                % {"year": this_year}
            )
    else:
        year = None
    values["qualification_level"], values["qualification_year"] = level, year
    values["certificate_number"] = details.certificate_number.strip()
    for field in ("employer_name", "certificate_number"):
        if _CONTROL_CHARACTERS.search(str(values[field])):
            errors.setdefault(field, []).append(
                _("Remove the line breaks and other invisible characters from this field.")
            )
    if errors:
        raise ValidationError(errors)
    return values


def _require_manager(actor: Actor, district: Region) -> None:
    """Only someone who manages learners, acting in the learner's district, changes a record."""
    user = actor.user
    if user is not None and not user.has_capability(Capability.LEARNERS_MANAGE):
        raise PermissionDenied
    if not actor.may_act_in(district.path):
        raise PermissionDenied


def _check_district(actor: Actor, district: Region) -> None:
    if district.level != Region.Level.DISTRICT:
        raise ValidationError({"district": _("Learners are collected by a district.")})
    _require_manager(actor, district)


def _refuse_duplicate(holder: Learner) -> ValidationError:
    return ValidationError(
        {
            "id_number": _(
                "This person is already collected, by %(district)s. Ask that district to "
                "transfer them."
            )
            % {"district": holder.district.display_name}
        },
        code="duplicate",
    )


@transaction.atomic
def learner_collect(*, actor: Actor, district: Region, details: LearnerDetails) -> Learner:
    """Information collection: record a person so they can study. One record per person."""
    _check_district(actor, district)
    values = _clean(details)
    id_number = values.pop("id_number")
    digest = id_number_hash(id_number.value)
    holder = Learner.objects.select_related("district").filter(id_number_hash=digest).first()
    if holder is not None:
        raise _refuse_duplicate(holder)
    learner = Learner(
        id_number_encrypted=encrypt(id_number.value, purpose=ID_NUMBER_PURPOSE),
        id_number_hash=digest,
        id_number_masked=mask_id_number(id_number.value),
        birth_date=id_number.birth_date,
        gender=id_number.gender,
        district=district,
        **values,
    )
    try:
        with transaction.atomic():  # a concurrent collection of the same person loses here
            learner.save()
    except IntegrityError:
        raise _refuse_duplicate(
            Learner.objects.select_related("district").get(id_number_hash=digest)
        ) from None
    LearnerStatusChange.objects.create(
        learner=learner, to_status=learner.status, to_district=district, changed_by=actor.user
    )
    audit_record(
        actor=actor,
        action="learner.collect",
        target=learner,
        after=snapshot(learner, LEARNER_AUDIT_FIELDS),
    )
    return learner


def _locked(learner: Learner) -> Learner:
    """The learner's row, locked for this transaction, so two officers' changes queue up."""
    return (
        Learner.objects.select_for_update(of=("self",))
        .select_related("district", "transfer_to")
        .get(pk=learner.pk)
    )


def _status_change(
    *,
    actor: Actor,
    learner: Learner,
    from_status: str,
    from_district: Region | None,
    reason: str = "",
) -> None:
    LearnerStatusChange.objects.create(
        learner=learner,
        from_status=from_status,
        to_status=learner.status,
        from_district=from_district,
        to_district=learner.district,
        reason=scrub_id_numbers(reason),  # free text: an ID number typed into it, masked
        changed_by=actor.user,
    )


def _require_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why, for the record.")})
    return reason


def _refuse_while_transfer_pending(learner: Learner) -> None:
    if learner.status == Learner.Status.TRANSFER_PENDING:
        raise ValidationError(
            _(
                "This learner is waiting to be taken over by %(district)s. Cancel the transfer "
                "first."
            )
            % {"district": learner.transfer_to.display_name},
            code="transfer_pending",
        )


@transaction.atomic
def learner_update(
    *, actor: Actor, learner: Learner, details: LearnerDetails, reason: str = ""
) -> Learner:
    """Correct a learner's record. An empty ID number keeps the one on file.

    Saving the same details again changes nothing and writes no audit entry.
    """
    learner = _locked(learner)
    _require_manager(actor, learner.district)
    _refuse_while_transfer_pending(learner)
    if not details.id_number.strip():
        details = replace(details, id_number=learner.reveal_id_number())
    values = _clean(details)
    id_number = values.pop("id_number")
    before = snapshot(learner, LEARNER_AUDIT_FIELDS)
    digest = id_number_hash(id_number.value)
    id_changed = digest != learner.id_number_hash
    if id_changed:
        holder = (
            Learner.objects.select_related("district")
            .filter(id_number_hash=digest)
            .exclude(pk=learner.pk)
            .first()
        )
        if holder is not None:
            raise _refuse_duplicate(holder)
        learner.id_number_encrypted = encrypt(id_number.value, purpose=ID_NUMBER_PURPOSE)
        learner.id_number_hash = digest
        learner.id_number_masked = mask_id_number(id_number.value)
        learner.birth_date = id_number.birth_date
        learner.gender = id_number.gender
    for field, value in values.items():
        setattr(learner, field, value)
    after = snapshot(learner, LEARNER_AUDIT_FIELDS)
    changed = [field for field in LEARNER_AUDIT_FIELDS if before[field] != after[field]]
    if not changed and not id_changed:
        return learner
    try:
        with transaction.atomic():
            learner.save()
    except IntegrityError:
        raise _refuse_duplicate(
            Learner.objects.select_related("district").get(id_number_hash=digest)
        ) from None
    before, after = ({field: values[field] for field in changed} for values in (before, after))
    if id_changed:
        # The masks may look alike; say plainly that the number itself was corrected.
        after["id_number"] = _("corrected")
    audit_record(
        actor=actor,
        action="learner.update",
        target=learner,
        before=before,
        after=after,
        reason=reason.strip(),
    )
    return learner


@transaction.atomic
def learner_transfer_request(
    *, actor: Actor, learner: Learner, to_district: Region, reason: str
) -> Learner:
    """Ask another district to take a learner over (they moved job); it must accept."""
    learner = _locked(learner)
    _require_manager(actor, learner.district)
    reason = _require_reason(reason)
    if learner.status != Learner.Status.COLLECTED:
        raise ValidationError(
            _("Only a learner whose status is collected can be transferred."), code="status"
        )
    if to_district.level != Region.Level.DISTRICT or to_district.pk == learner.district_id:
        raise ValidationError({"to_district": _("Choose another district.")})
    learner.status = Learner.Status.TRANSFER_PENDING
    learner.transfer_to = to_district
    learner.save(update_fields=["status", "transfer_to", "updated_at"])
    _status_change(
        actor=actor,
        learner=learner,
        from_status=Learner.Status.COLLECTED,
        from_district=learner.district,
        reason=reason,
    )
    audit_record(
        actor=actor,
        action="learner.transfer_request",
        target=learner,
        after={"transfer_to": f"{to_district} #{to_district.pk}"},
        reason=reason,
    )
    return learner


def _end_transfer(*, actor: Actor, learner: Learner, action: str, reason: str) -> Learner:
    if learner.status != Learner.Status.TRANSFER_PENDING:
        raise ValidationError(_("No transfer is waiting for this learner."), code="status")
    origin = learner.district
    before = snapshot(learner, ["district", "status"])
    if action == "learner.transfer_accept":
        learner.district = learner.transfer_to
        if learner.user_id is not None:
            # The learner's account follows them: it is scoped by their district.
            type(learner.user).objects.filter(pk=learner.user_id).update(region=learner.district)
    learner.status = Learner.Status.COLLECTED
    learner.transfer_to = None
    learner.save(update_fields=["district", "status", "transfer_to", "updated_at"])
    _status_change(
        actor=actor,
        learner=learner,
        from_status=Learner.Status.TRANSFER_PENDING,
        from_district=origin,
        reason=reason,
    )
    audit_record(
        actor=actor,
        action=action,
        target=learner,
        before=before,
        after=snapshot(learner, ["district", "status"]),
        reason=reason,
        region_path=origin.path,
    )
    return learner


@transaction.atomic
def learner_transfer_accept(*, actor: Actor, learner: Learner) -> Learner:
    """The receiving district takes the learner over."""
    learner = _locked(learner)
    if learner.transfer_to is None:
        raise ValidationError(_("No transfer is waiting for this learner."), code="status")
    _require_manager(actor, learner.transfer_to)
    return _end_transfer(actor=actor, learner=learner, action="learner.transfer_accept", reason="")


@transaction.atomic
def learner_transfer_decline(*, actor: Actor, learner: Learner, reason: str) -> Learner:
    """The receiving district says no; the learner stays where they were."""
    learner = _locked(learner)
    if learner.transfer_to is None:
        raise ValidationError(_("No transfer is waiting for this learner."), code="status")
    _require_manager(actor, learner.transfer_to)
    return _end_transfer(
        actor=actor,
        learner=learner,
        action="learner.transfer_decline",
        reason=_require_reason(reason),
    )


@transaction.atomic
def learner_transfer_cancel(*, actor: Actor, learner: Learner) -> Learner:
    """The sending district withdraws its request."""
    learner = _locked(learner)
    _require_manager(actor, learner.district)
    return _end_transfer(actor=actor, learner=learner, action="learner.transfer_cancel", reason="")


def _set_account_active(learner: Learner, active: bool) -> None:
    if learner.user_id is not None:
        type(learner.user).objects.filter(pk=learner.user_id).update(is_active=active)


def _register_status_set(
    *, actor: Actor, learner: Learner, to_status: str, action: str, reason: str
) -> Learner:
    """Move a learner on or off their district's register; their account follows."""
    from_status = learner.status
    learner.status = to_status
    learner.save(update_fields=["status", "updated_at"])
    _set_account_active(learner, to_status == Learner.Status.COLLECTED)
    _status_change(
        actor=actor,
        learner=learner,
        from_status=from_status,
        from_district=learner.district,
        reason=reason,
    )
    audit_record(
        actor=actor,
        action=action,
        target=learner,
        before={"status": from_status},
        after={"status": to_status},
        reason=reason,
    )
    return learner


@transaction.atomic
def learner_deregister(*, actor: Actor, learner: Learner, reason: str) -> Learner:
    """Take a learner off the register (left accounting work, left the area, died).

    The record and its history stay; the learner can no longer sign in.
    """
    learner = _locked(learner)
    _require_manager(actor, learner.district)
    reason = _require_reason(reason)
    _refuse_while_transfer_pending(learner)
    if learner.status == Learner.Status.DEREGISTERED:
        raise ValidationError(_("This learner is already deregistered."), code="status")
    return _register_status_set(
        actor=actor,
        learner=learner,
        to_status=Learner.Status.DEREGISTERED,
        action="learner.deregister",
        reason=reason,
    )


@transaction.atomic
def learner_reinstate(*, actor: Actor, learner: Learner, reason: str) -> Learner:
    """Put a deregistered learner back on the register of the same district."""
    learner = _locked(learner)
    _require_manager(actor, learner.district)
    reason = _require_reason(reason)
    if learner.status != Learner.Status.DEREGISTERED:
        raise ValidationError(_("Only a deregistered learner can be reinstated."), code="status")
    return _register_status_set(
        actor=actor,
        learner=learner,
        to_status=Learner.Status.COLLECTED,
        action="learner.reinstate",
        reason=reason,
    )


# --- Evidence files: what backs a learner's record.

EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
_ID_IN_TEXT = re.compile(r"\d{17}[\dXx]|\d{15}")
EVIDENCE_FIELDS = ["kind", "original_name", "content_type", "size", "sha256"]


def _file_error(message: str, code: str) -> ValidationError:
    return ValidationError({"file": ValidationError(message, code=code)})


def evidence_content_type(content: bytes) -> str:
    """The file's real type from its bytes, whatever its name says: PDF, JPEG or PNG.

    Beyond the leading signature, each must also end the way a whole file of its kind
    ends, so a truncated or disguised file is refused.
    """
    tail = content[-1024:].rstrip(b"\0\r\n\t ")
    if content.startswith(b"%PDF-"):
        if b"%%EOF" in content[-1024:]:
            return "application/pdf"
    elif content.startswith(b"\xff\xd8\xff"):
        if tail.endswith(b"\xff\xd9"):
            return "image/jpeg"
    elif content.startswith(b"\x89PNG\r\n\x1a\n"):
        if content[12:16] == b"IHDR" and tail.endswith(b"IEND\xaeB`\x82"):
            return "image/png"
    else:
        raise _file_error(
            _("Attach a PDF, JPEG or PNG file. This file is none of those."), "file_type"
        )
    raise _file_error(
        _("This file is damaged or incomplete. Scan or save it again."), "file_damaged"
    )


@transaction.atomic
def learner_evidence_attach(
    *, actor: Actor, learner: Learner, kind: str, upload: File
) -> LearnerEvidence:
    """Keep a scanned document with the learner's record, checked by its content."""
    _require_manager(actor, learner.district)
    if kind not in LearnerEvidence.Kind.values:
        raise ValidationError({"kind": _("Choose what kind of document this is.")})
    if upload.size is None or upload.size == 0:
        raise _file_error(_("The file is empty."), "file_empty")
    if upload.size > EVIDENCE_MAX_BYTES:
        message = _("The file is %(size)s; the most allowed is 10 MB.")
        raise _file_error(message % {"size": filesizeformat(upload.size)}, "file_too_large")
    upload.seek(0)
    content = upload.read()
    content_type = evidence_content_type(content)
    # Scans are often named after the person: keep no ID number in the stored name.
    name = _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group(0)), Path(upload.name or "x").name)
    name = name[-200:]
    evidence = LearnerEvidence(
        learner=learner,
        kind=kind,
        original_name=name,
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=actor.user,
    )
    evidence.file.save(name, ContentFile(content), save=False)
    try:
        evidence.save()
        audit_record(
            actor=actor,
            action="learner.evidence_attach",
            target=learner,
            after=snapshot(evidence, EVIDENCE_FIELDS),
        )
    except Exception:
        # The file is on storage already; a record that failed must not leave it behind.
        evidence.file.delete(save=False)
        raise
    return evidence


@transaction.atomic
def learner_evidence_remove(*, actor: Actor, evidence: LearnerEvidence, reason: str) -> None:
    """Remove a document that was attached by mistake; the audit log keeps its description."""
    _require_manager(actor, evidence.learner.district)
    reason = _require_reason(reason)
    before = snapshot(evidence, EVIDENCE_FIELDS)
    learner = evidence.learner
    stored = evidence.file.name
    evidence.delete()
    storage = evidence.file.storage
    transaction.on_commit(lambda: storage.delete(stored))
    audit_record(
        actor=actor,
        action="learner.evidence_remove",
        target=learner,
        before=before,
        reason=reason,
    )


def learner_evidence_open(*, actor: Actor, evidence: LearnerEvidence) -> File:
    """Open a document for someone allowed to see the learner; every opening is audited."""
    user = actor.user
    if user is None or not user.has_capability(Capability.LEARNERS_VIEW):
        raise PermissionDenied
    if not actor.may_act_in(evidence.learner.district.path):
        raise PermissionDenied
    audit_record(
        actor=actor,
        action="learner.evidence_view",
        target=evidence.learner,
        after={"evidence": evidence.original_name, "sha256": evidence.sha256},
    )
    return evidence.file.open("rb")


def learner_find_by_id_number(raw: str) -> Learner | None:
    """Exact search by ID number through its keyed hash (no decryption, no table scan)."""
    try:
        id_number = normalise_id_number(raw)
    except ValidationError:
        return None
    return (
        Learner.objects.select_related("district")
        .filter(id_number_hash=id_number_hash(id_number.value))
        .first()
    )


def learner_id_number_reveal(*, actor: Actor, learner: Learner) -> str:
    """The full ID number, for an officer of the learner's own district; always audited."""
    user = actor.user
    if (
        user is None
        or user.region_id != learner.district_id
        or not user.has_capability(Capability.LEARNERS_REVEAL)
    ):
        raise PermissionDenied
    audit_record(actor=actor, action="learner.reveal_id_number", target=learner)
    return learner.reveal_id_number()


@dataclass(frozen=True)
class RotationResult:
    examined: int
    reencrypted: int
    rehashed: int


def learners_rotate_keys(*, actor: Actor, batch_size: int = 1000) -> RotationResult:
    """Bring every stored ID number onto the current encryption key and hash key.

    Run after putting a new key first in FIELD_ENCRYPTION_KEYS (keep the old one behind
    it until this finishes) or after changing LOOKUP_HASH_KEY. Each batch commits on its
    own, so a stopped run resumes where it left off; running it twice changes nothing.
    """
    current = field_keys().current
    examined = reencrypted = rehashed = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(
                Learner.objects.select_for_update()
                .filter(pk__gt=last_pk)
                .order_by("pk")
                .only("pk", "id_number_encrypted", "id_number_hash")[:batch_size]
            )
            if not batch:
                break
            for learner in batch:
                value = learner.reveal_id_number()
                fields = []
                if key_id_of(learner.id_number_encrypted) != current:
                    learner.id_number_encrypted = encrypt(value, purpose=ID_NUMBER_PURPOSE)
                    fields.append("id_number_encrypted")
                    reencrypted += 1
                digest = id_number_hash(value)
                if learner.id_number_hash != digest:
                    learner.id_number_hash = digest
                    fields.append("id_number_hash")
                    rehashed += 1
                if fields:
                    learner.save(update_fields=fields)
            examined += len(batch)
            last_pk = batch[-1].pk
    result = RotationResult(examined=examined, reencrypted=reencrypted, rehashed=rehashed)
    audit_record(
        actor=actor,
        action="learner.rotate_keys",
        after={"key_id": current, **result.__dict__},
    )
    return result
