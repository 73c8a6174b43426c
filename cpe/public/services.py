"""Writes owned by the public site: notices, and the API keys of offices that query completion."""

from __future__ import annotations

import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpe.core.privacy import scrub_id_numbers
from cpe.core.services import Actor, audit_record, snapshot
from cpe.public.markdown import render_markdown
from cpe.public.models import Notice, OfficeApiKey, office_key_digest
from cpe.regions.models import Region

NOTICE_FIELDS = ["title", "body", "region", "pinned", "is_published", "published_at"]


def _check_region(actor: Actor, region: Region | None) -> None:
    if region is None:
        if actor.scope_path != "":
            raise ValidationError(
                {
                    "region": _(
                        "Only platform-wide administrators may write notices for the "
                        "whole platform."
                    )
                }
            )
    elif not actor.may_act_in(region.path):
        raise ValidationError({"region": _("You cannot write notices for this region.")})


@transaction.atomic
def notice_save(
    *,
    actor: Actor,
    title: str,
    body: str,
    region: Region | None,
    pinned: bool = False,
    publish: bool = False,
    notice: Notice | None = None,
) -> Notice:
    """Create or edit a notice. Publishing stamps the time once; unpublishing hides it again."""
    title, body = title.strip(), body.strip()
    if not title:
        raise ValidationError({"title": _("A notice needs a title.")})
    if not body:
        raise ValidationError({"body": _("A notice needs some text.")})
    _check_region(actor, region)
    if notice is not None:
        _check_region(actor, notice.region)  # the region it is moving from must be theirs too
    created = notice is None
    notice = notice or Notice(created_by=actor.user)
    before = {} if created else snapshot(notice, NOTICE_FIELDS)
    notice.title, notice.body, notice.region, notice.pinned = title, body, region, pinned
    notice.body_html = render_markdown(body)
    if publish and not notice.is_published:
        notice.published_at = timezone.now()
    notice.is_published = publish
    notice.full_clean()
    notice.save()
    after = snapshot(notice, NOTICE_FIELDS)
    if created or before != after:
        audit_record(
            actor=actor,
            action="notice.create" if created else "notice.update",
            target=notice,
            before=before,
            after=after,
        )
    return notice


# --- Office API keys ------------------------------------------------------------------

KEY_PREFIX = "cpeq_"


@transaction.atomic
def office_key_issue(*, actor: Actor, office: str, region: Region) -> tuple[OfficeApiKey, str]:
    """A new key for an office of a province in the actor's scope; the key is returned once
    and only its digest kept."""
    office = " ".join(office.split())
    if not office:
        raise ValidationError({"office": _("Name the office that will use the key.")})
    if len(office) > 200:
        raise ValidationError({"office": _("An office name has at most 200 characters.")})
    if region.level != Region.Level.PROVINCE:
        raise ValidationError({"region": _("Keys are issued for a province.")})
    if not actor.may_act_in(region.path):
        raise PermissionDenied
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = OfficeApiKey.objects.create(
        office=office,
        region=region,
        prefix=raw[: len(KEY_PREFIX) + 6],
        key_hash=office_key_digest(raw),
        created_by=actor.user,
    )
    audit_record(
        actor=actor,
        action="office_key.issue",
        target=key,
        after={"office": office, "region": str(region), "prefix": key.prefix},
    )
    return key, raw


@transaction.atomic
def office_key_revoke(*, actor: Actor, key: OfficeApiKey, reason: str) -> OfficeApiKey:
    """Stop a key at once; the row stays, with who revoked it and why."""
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationError({"reason": _("Say why the key is revoked.")})
    key = OfficeApiKey.objects.select_for_update().select_related("region").get(pk=key.pk)
    if not actor.may_act_in(key.region.path):
        raise PermissionDenied
    if key.revoked_at is not None:
        raise ValidationError({"reason": _("This key is already revoked.")})
    key.revoked_at = timezone.now()
    key.revoked_by = actor.user
    key.revoke_reason = scrub_id_numbers(reason)[:500]
    key.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    audit_record(
        actor=actor,
        action="office_key.revoke",
        target=key,
        before={"revoked_at": None},
        after={"revoked_at": key.revoked_at.isoformat(timespec="seconds")},
        reason=key.revoke_reason,
    )
    return key
