"""Writes owned by the public site: notices."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpe.core.services import Actor, audit_record, snapshot
from cpe.public.markdown import render_markdown
from cpe.public.models import Notice
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
