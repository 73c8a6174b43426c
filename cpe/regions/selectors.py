"""Reads of regions and contacts that pages and the API share."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Prefetch

from cpe.core.models import AuditEntry, Job
from cpe.regions.models import Bureau, Region, RegionPolicy, SupportContact


@dataclass
class CityContacts:
    city: Region
    office: Bureau | None
    districts: list[Bureau] = field(default_factory=list)


@dataclass
class HelpContacts:
    support: list[SupportContact]
    own_district: Bureau | None
    cities: list[CityContacts]


def help_contacts(*, home_region: Region | None = None) -> HelpContacts:
    """Everything the help page lists; the person's own district, when known, comes first."""
    bureaus = list(
        Bureau.objects.select_related("region", "region__parent").order_by("region__code")
    )
    own = next((b for b in bureaus if home_region and b.region_id == home_region.pk), None)
    cities: dict[int, CityContacts] = {}
    for city in Region.objects.filter(level=Region.Level.CITY).order_by("code"):
        cities[city.pk] = CityContacts(city=city, office=None)
    for bureau in bureaus:
        region = bureau.region
        if region.level == Region.Level.CITY and region.pk in cities:
            cities[region.pk].office = bureau
        elif (
            region.level == Region.Level.DISTRICT
            and region.parent_id in cities
            and bureau is not own
        ):
            cities[region.parent_id].districts.append(bureau)
    ordered = sorted(
        cities.values(),
        key=lambda c: (not (home_region and home_region.path.startswith(c.city.path)), c.city.code),
    )
    return HelpContacts(
        support=list(SupportContact.objects.all()),
        own_district=own,
        cities=[
            c
            for c in ordered
            if c.office or c.districts or (own and own.region.parent_id == c.city.pk)
        ],
    )


def bureaus_in_scope(*, scope_path: str) -> list[Bureau]:
    return list(
        Bureau.objects.select_related("region")
        .filter(region__path__startswith=scope_path)
        .order_by("region__code")
    )


def policy_regions_visible(*, scope_path: str) -> list[Region]:
    """The regions whose rules someone working at `scope_path` reads: those above it (whose
    rules they inherit) and those in it, each with its rows newest first and their caps."""
    above = [code for code in scope_path.split("/") if code]
    regions = Region.objects.filter(code__in=above) | Region.objects.within(scope_path)
    rows = RegionPolicy.objects.prefetch_related("caps").order_by("-effective_from")
    return list(
        regions.distinct()
        .select_related("parent")
        .prefetch_related(Prefetch("policies", queryset=rows))
        .order_by("path")
    )


def policy_recomputations(*, regions: Iterable[Region]) -> dict[int, Job]:
    """The background recomputation of each of these regions' rows of rules that did not end
    well yet, by row: the latest job for the row when it is queued, running or failed (its
    handler raised, or its worker died and the housekeeping failed it), unless a later
    recomputation of the row (at once, or a job) was audited since. The statuses of those
    years may be stale while it is listed.
    """
    from cpe.regions.jobs import RECOMPUTE_YEAR_STATUS

    paths = {region.path for region in regions}
    if not paths:
        return {}
    latest: dict[int, Job] = {}
    jobs = Job.objects.filter(kind=RECOMPUTE_YEAR_STATUS, region_path__in=paths)
    for job in jobs.select_related("created_by").order_by("created_at"):
        latest[job.params.get("policy")] = job
    pending = {pk: job for pk, job in latest.items() if job.state != Job.State.SUCCEEDED}
    if not pending:
        return {}
    recomputed = AuditEntry.objects.filter(
        action="region_policy.recompute",
        target_type=RegionPolicy._meta.label_lower,
        target_id__in=[str(pk) for pk in pending],
    ).values_list("target_id", "created_at")
    for target_id, when in recomputed:
        job = pending.get(int(target_id))
        if job is not None and job.is_finished and when > job.created_at:
            del pending[int(target_id)]
    return pending
