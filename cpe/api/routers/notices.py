"""Published notices (public)."""

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from cpe.public.selectors import notices_for_home

router = Router(tags=["notices"])


class NoticeOut(Schema):
    id: int
    title: str
    body_html: str
    region_code: str | None
    pinned: bool
    published_at: datetime | None


@router.get("", response=list[NoticeOut])
def notice_list(request: HttpRequest) -> list[dict]:
    return [
        {
            "id": n.pk,
            "title": n.title,
            "body_html": n.body_html,
            "region_code": n.region.code if n.region_id else None,
            "pinned": n.pinned,
            "published_at": n.published_at,
        }
        for n in notices_for_home(limit=50)
    ]
