"""Writes owned by regions: the tree, bureau contacts, support lines and study rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cpe.core.capabilities import Capability
from cpe.core.models import Job
from cpe.core.privacy import scrub_id_numbers
from cpe.core.services import Actor, audit_record, job_enqueue, snapshot
from cpe.regions import hooks
from cpe.regions.models import Bureau, Region, RegionPolicy, RegionPolicyCap, SupportContact
from cpe.regions.policy import STATUS_FIELDS, policy_for
from cpe.regions.selectors import policy_recomputations

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


def _caps_of(policy: RegionPolicy) -> dict[str, int]:
    if policy.pk is None:
        return {}
    return dict(policy.caps.order_by("source").values_list("source", "max_credits"))


def _clean_caps(caps: dict[str, Any]) -> dict[str, int]:
    """The caps to keep (None or "" removes one), refused by field for unknown sources and
    values that are not whole numbers from 0 to 999."""
    known = {code for code, _label in hooks.credit_sources()}
    cleaned: dict[str, int] = {}
    errors: dict[str, list[str]] = {}
    for source, value in caps.items():
        if source not in known:
            errors["caps"] = [_("%(source)s is not a source of credits.") % {"source": source}]
            continue
        if value is None or value == "":
            continue
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = -1
        if isinstance(value, bool) or number < 0 or number > 999 or str(number) != str(value):
            errors[f"cap_{source}"] = [_("A cap is a whole number of credits from 0 to 999.")]
            continue
        cleaned[source] = number
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def region_policy_save(
    *,
    actor: Actor,
    region: Region,
    effective_from: int,
    caps: dict[str, Any] | None = None,
    **values: Any,
) -> RegionPolicy:
    """Set a region's study rules from a year on; unnamed values keep their defaults.

    `caps` (source → most credits a year, None to remove) replaces the row's caps per
    source when given. The audit entry holds what changed, caps included.
    """
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
    old_caps = _caps_of(policy)
    new_caps = old_caps if caps is None else _clean_caps(caps)
    before = {} if created else {**snapshot(policy, POLICY_FIELDS), "caps": old_caps}
    for name, value in values.items():
        setattr(policy, name, value)
    policy.full_clean()
    after = {**snapshot(policy, POLICY_FIELDS), "caps": new_caps}
    if created or before != after:
        policy.save()
        if new_caps != old_caps:
            policy.caps.all().delete()
            RegionPolicyCap.objects.bulk_create(
                RegionPolicyCap(policy=policy, source=source, max_credits=most)
                for source, most in sorted(new_caps.items())
            )
        audit_record(
            actor=actor,
            action="region_policy.create" if created else "region_policy.update",
            target=policy,
            before=before,
            after=after,
        )
    return policy


class RecomputationRequired(ValidationError):
    """The change alters what completes years that already have credits: it needs the
    administrator's explicit request for a recomputation, with a reason."""

    def __init__(self, affected: int) -> None:
        self.affected = affected
        super().__init__(
            {
                "recompute": [
                    ngettext(
                        "These rules decide %(count)s learner-year that already has credits. "
                        "Tick “Recompute the yearly statuses” and say why to save them.",
                        "These rules decide %(count)s learner-years that already have credits. "
                        "Tick “Recompute the yearly statuses” and say why to save them.",
                        affected,
                    )
                    % {"count": f"{affected:,}"}
                ]
            }
        )


@dataclass(frozen=True)
class PolicyChange:
    policy: RegionPolicy
    affected: int  # learner-years with credits these rules decide
    recomputed: dict[str, Any] | None = None  # the result, when recomputed at once
    job: Job | None = None  # the recomputation job, when it runs in the background


def _status_values(policy: Any) -> dict[str, Any]:
    return {name: getattr(policy, name) for name in STATUS_FIELDS}


def policy_scope(region: Region, effective_from: int) -> hooks.PolicyScope:
    """The years a row of `region` from `effective_from` decides: up to its next row."""
    following = (
        RegionPolicy.objects.filter(region=region, effective_from__gt=effective_from)
        .order_by("effective_from")
        .values_list("effective_from", flat=True)
        .first()
    )
    return hooks.PolicyScope(
        region_path=region.path,
        first_year=effective_from,
        last_year=None if following is None else following - 1,
    )


def _inline_limit() -> int:
    # Up to this many learner-years are recomputed at once; more in a background job.
    return int(getattr(settings, "POLICY_RECOMPUTE_INLINE_MAX", 2000))


def region_policy_change(
    *,
    actor: Actor,
    region: Region,
    effective_from: Any,
    values: dict[str, Any],
    caps: dict[str, Any] | None = None,
    recompute: bool = False,
    reason: str = "",
) -> PolicyChange:
    """An administrator's change of a region's rules from a year on (a new row, or a
    correction of the row of that year), as the rules page and the API make it.

    When the change alters what completes a year (credits required, professional credits,
    caps) for learner-years that already have credits, it is refused with their count
    (`RecomputationRequired`) unless `recompute` is asked with a reason; then the rules are
    saved and those years recomputed: at once for a few, else in a background job. The
    recomputation is audited with who, why and how many years changed status.
    """
    if not actor.may_act_in(region.path):
        raise PermissionDenied
    reason = (reason or "").strip()
    if not isinstance(effective_from, int) or not 2000 <= effective_from <= 2100:
        raise ValidationError({"effective_from": [_("Give a year from 2000 to 2100.")]})
    with transaction.atomic():
        current = (
            RegionPolicy.objects.select_for_update()
            .filter(region=region, effective_from=effective_from)
            .first()
        )
        # What decides the year now: the row itself, else what the region inherits.
        in_force = policy_for(region, effective_from)
        if current is None:
            # A new row starts from the rules in force: only what is named changes.
            values = {**{name: getattr(in_force, name) for name in POLICY_FIELDS}, **values}
            caps = dict(in_force.source_caps) if caps is None else caps
        policy = region_policy_save(
            actor=actor, region=region, effective_from=effective_from, caps=caps, **values
        )
        if _status_values(in_force) == _status_values(policy_for(region, effective_from)):
            return PolicyChange(policy=policy, affected=0)
        scope = policy_scope(region, effective_from)
        affected = hooks.policy_affected_count(scope)
        if affected == 0:
            return PolicyChange(policy=policy, affected=0)
        if not recompute:
            raise RecomputationRequired(affected)
        if not reason:
            raise ValidationError({"reason": [_("Say why the yearly statuses are recomputed.")]})
        if affected <= _inline_limit():
            result = hooks.policy_recompute(scope)
            policy_recompute_audit(
                actor=actor, policy=policy, scope=scope, reason=reason, result=result
            )
            return PolicyChange(policy=policy, affected=affected, recomputed=result)
        job = _recompute_in_background(actor=actor, policy=policy, scope=scope, reason=reason)
        return PolicyChange(policy=policy, affected=affected, job=job)


def _recompute_in_background(
    *, actor: Actor, policy: RegionPolicy, scope: hooks.PolicyScope, reason: str
) -> Job:
    from cpe.regions.jobs import RECOMPUTE_YEAR_STATUS

    return job_enqueue(
        kind=RECOMPUTE_YEAR_STATUS,
        actor=actor,
        params={
            "policy": policy.pk,
            "region_path": scope.region_path,
            "first_year": scope.first_year,
            "last_year": scope.last_year,
            "reason": scrub_id_numbers(reason),  # kept with the job for 90 days
        },
        region_path=policy.region.path,
    )


def region_policy_recompute(*, actor: Actor, policy: RegionPolicy, reason: str) -> Job:
    """Run again, in the background, the recomputation of the years a row of rules decides,
    after the last one stopped (its handler raised, or its worker died and the housekeeping
    failed it): until then those years' statuses may be stale. The rules page offers it
    beside the failure, and the API too.

    The years are those the row decides now. One audit entry says who asked again and why;
    the job audits its own recomputation (`region_policy.recompute`) as the first one would.
    """
    region = policy.region
    user = actor.user
    if user is not None and not user.has_capability(Capability.POLICY_EDIT):
        raise PermissionDenied
    if not actor.may_act_in(region.path):
        raise PermissionDenied
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the yearly statuses are recomputed.")]})
    with transaction.atomic():
        # Two clicks queue one job: the second finds the first one queued, not failed.
        policy = RegionPolicy.objects.select_for_update().get(pk=policy.pk)
        stopped = policy_recomputations(regions=[region]).get(policy.pk)
        if stopped is None or stopped.state != Job.State.FAILED:
            raise ValidationError(
                {
                    "recompute": [
                        _("No recomputation of these rules has stopped: nothing to run again.")
                    ]
                }
            )
        scope = policy_scope(region, policy.effective_from)
        job = _recompute_in_background(actor=actor, policy=policy, scope=scope, reason=reason)
        audit_record(
            actor=actor,
            action="region_policy.recompute_again",
            target=policy,
            after={
                "years": [scope.first_year, scope.last_year],
                "stopped_job": str(stopped.pk),
                "job": str(job.pk),
            },
            reason=reason,
        )
    return job


def policy_recompute_audit(
    *,
    actor: Actor,
    policy: RegionPolicy,
    scope: hooks.PolicyScope,
    reason: str,
    result: dict[str, Any],
) -> None:
    audit_record(
        actor=actor,
        action="region_policy.recompute",
        target=policy,
        after={
            "years": [scope.first_year, scope.last_year],
            "changed": result.get("changed", 0),
            "status_changed": result.get("status_changed", 0),
        },
        reason=reason,
    )
