"""Writes owned by regions: the tree, bureau contacts and support lines."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from cpe.core.services import Actor, audit_record, snapshot
from cpe.regions.models import Bureau, Region, RegionPolicy, SupportContact

BUREAU_FIELDS = [
    "name",
    "name_en",
    "address",
    "address_en",
    "phones",
    "office_hours",
    "office_hours_en",
]
_CHILD_LEVEL = {
    None: Region.Level.PROVINCE,
    Region.Level.PROVINCE: Region.Level.CITY,
    Region.Level.CITY: Region.Level.DISTRICT,
}


@transaction.atomic
def region_upsert(
    *, actor: Actor, code: str, name: str, name_en: str = "", parent: Region | None = None
) -> Region:
    """Create or rename a region. Its level follows from its parent's."""
    level = _CHILD_LEVEL.get(parent.level if parent else None)
    if level is None:
        raise ValidationError({"parent": _("A district cannot contain other regions.")})
    path = f"{parent.path if parent else ''}{code}/"
    region = Region.objects.filter(code=code).first()
    if region is None:
        region = Region(
            code=code, name=name, name_en=name_en, level=level, parent=parent, path=path
        )
        region.full_clean()
        region.save()
        audit_record(
            actor=actor,
            action="region.create",
            target=region,
            after=snapshot(region, ["code", "name", "name_en", "level"]),
        )
        return region
    if region.path != path:
        raise ValidationError({"parent": _("A region cannot move to another parent.")})
    before = snapshot(region, ["name", "name_en"])
    region.name, region.name_en = name, name_en
    region.full_clean()
    if before != snapshot(region, ["name", "name_en"]):
        region.save()
        audit_record(
            actor=actor,
            action="region.update",
            target=region,
            before=before,
            after=snapshot(region, ["name", "name_en"]),
        )
    return region


@transaction.atomic
def bureau_save(*, actor: Actor, region: Region, **values: Any) -> Bureau:
    """Create or update the contacts of a region's finance office."""
    unknown = set(values) - set(BUREAU_FIELDS)
    if unknown:
        raise TypeError(f"Unknown bureau fields: {sorted(unknown)}")
    bureau = Bureau.objects.select_for_update().filter(region=region).first()
    created = bureau is None
    if bureau is None:
        bureau = Bureau(region=region)
    before = {} if created else snapshot(bureau, BUREAU_FIELDS)
    for name, value in values.items():
        setattr(bureau, name, value.strip() if isinstance(value, str) else value)
    bureau.full_clean()
    after = snapshot(bureau, BUREAU_FIELDS)
    if not created and before == after:
        return bureau
    bureau.save()
    audit_record(
        actor=actor,
        action="bureau.create" if created else "bureau.update",
        target=bureau,
        before=before,
        after=after,
    )
    return bureau


@transaction.atomic
def support_contact_save(
    *, actor: Actor, topic: str, phone: str, hours: str = "", hours_en: str = "", position: int = 0
) -> SupportContact:
    contact, created = SupportContact.objects.get_or_create(
        topic=topic,
        phone=phone,
        defaults={"hours": hours, "hours_en": hours_en, "position": position},
    )
    fields = ["topic", "phone", "hours", "hours_en", "position"]
    if created:
        audit_record(
            actor=actor,
            action="support_contact.create",
            target=contact,
            after=snapshot(contact, fields),
        )
        return contact
    before = snapshot(contact, fields)
    contact.hours, contact.hours_en, contact.position = hours, hours_en, position
    if before != snapshot(contact, fields):
        contact.full_clean()
        contact.save()
        audit_record(
            actor=actor,
            action="support_contact.update",
            target=contact,
            before=before,
            after=snapshot(contact, fields),
        )
    return contact


POLICY_FIELDS = [
    "annual_credits",
    "professional_credits",
    "credits_per_class_hour",
    "minutes_per_class_hour",
    "makeup_from",
    "sequential_years",
    "plan_fee",
    "heartbeat_seconds",
    "max_playback_rate",
    "attention_check_minutes",
    "lesson_completion_percent",
    "exam_single_count",
    "exam_multiple_count",
    "exam_true_false_count",
    "exam_shuffle_options",
    "exam_pass_mark",
    "exam_time_limit_minutes",
    "exam_attempts_per_year",
    "exam_reset_on_exhaustion",
    "exam_show_review",
]


@transaction.atomic
def region_policy_save(
    *, actor: Actor, region: Region, effective_from: int, **values: Any
) -> RegionPolicy:
    """Set a region's study rules from a year on; unnamed values keep their defaults."""
    unknown = set(values) - set(POLICY_FIELDS)
    if unknown:
        raise TypeError(f"Unknown policy fields: {sorted(unknown)}")
    policy = (
        RegionPolicy.objects.select_for_update()
        .filter(region=region, effective_from=effective_from)
        .first()
    )
    created = policy is None
    if policy is None:
        policy = RegionPolicy(region=region, effective_from=effective_from)
    before = {} if created else snapshot(policy, POLICY_FIELDS)
    for name, value in values.items():
        setattr(policy, name, value)
    policy.full_clean()
    after = snapshot(policy, POLICY_FIELDS)
    if created or before != after:
        policy.save()
        audit_record(
            actor=actor,
            action="region_policy.create" if created else "region_policy.update",
            target=policy,
            before=before,
            after=after,
        )
    return policy
