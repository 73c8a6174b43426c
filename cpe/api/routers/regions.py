"""The region tree and the finance offices' contacts (public)."""

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from cpe.regions.models import Bureau, Region

router = Router(tags=["regions"])


class BureauOut(Schema):
    name: str
    address: str
    phones: list[str]
    office_hours: str


class RegionOut(Schema):
    code: str
    name: str
    name_en: str
    level: str
    parent_code: str | None
    bureau: BureauOut | None


def _region_out(region: Region) -> dict:
    bureau: Bureau | None = getattr(region, "bureau", None)
    return {
        "code": region.code,
        "name": region.name,
        "name_en": region.name_en,
        "level": region.level,
        "parent_code": region.parent.code if region.parent_id else None,
        "bureau": None
        if bureau is None
        else {
            "name": bureau.display_name,
            "address": bureau.display_address,
            "phones": bureau.phone_list,
            "office_hours": bureau.display_office_hours,
        },
    }


@router.get("", response=list[RegionOut])
def region_list(
    request: HttpRequest, level: Region.Level | None = None, parent: str | None = None
) -> list[dict]:
    """Every region, optionally only one level or the children of one region code."""
    regions = Region.objects.select_related("parent", "bureau").order_by("code")
    if level:
        regions = regions.filter(level=level)
    if parent:
        regions = regions.filter(parent__code=parent)
    return [_region_out(r) for r in regions]


@router.get("/{code}", response=RegionOut)
def region_detail(request: HttpRequest, code: str) -> dict:
    region = get_object_or_404(Region.objects.select_related("parent", "bureau"), code=code)
    return _region_out(region)
