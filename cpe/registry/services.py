"""Writes owned by the registry: collecting learners and reading their ID numbers."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpe.core.capabilities import Capability
from cpe.core.services import Actor, audit_record, snapshot
from cpe.regions.models import Region
from cpe.registry.crypto import encrypt, field_keys, key_id_of, lookup_hash, mask_id_number
from cpe.registry.identity import (
    normalise_id_number,
    normalise_mobile,
    normalise_name,
    normalise_uscc,
)
from cpe.registry.models import ID_NUMBER_PURPOSE, Learner, LearnerStatusChange, QualificationLevel

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


def _clean(details: LearnerDetails) -> dict[str, object]:
    """Every field error at once, keyed by field, so forms and imports show them all."""
    errors: dict[str, list[str]] = {}
    values: dict[str, object] = {}

    def check(field: str, fn, raw):  # type: ignore[no-untyped-def]
        try:
            values[field] = fn(raw)
        except ValidationError as error:
            errors.setdefault(field, []).extend(error.messages)

    check("id_number", normalise_id_number, details.id_number)
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
    if level not in QualificationLevel.values:
        errors.setdefault("qualification_level", []).append(_("Choose a qualification level."))
    year = details.qualification_year
    if level != QualificationLevel.NONE:
        this_year = timezone.localdate().year
        if year is None or not 1950 <= year <= this_year:
            errors.setdefault("qualification_year", []).append(
                _("Enter the year the qualification was obtained (1950 to %(year)s).")
                % {"year": this_year}
            )
    else:
        year = None
    values["qualification_level"], values["qualification_year"] = level, year
    values["certificate_number"] = details.certificate_number.strip()
    if errors:
        raise ValidationError(errors)
    return values


def _check_district(actor: Actor, district: Region) -> None:
    if district.level != Region.Level.DISTRICT:
        raise ValidationError({"district": _("Learners are collected by a district.")})
    if not actor.may_act_in(district.path):
        raise PermissionDenied


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
