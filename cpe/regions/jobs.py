"""Job kinds owned by regions."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cpe.core.jobs import job_kind
from cpe.core.services import Actor, JobContext
from cpe.regions import hooks
from cpe.regions.models import RegionPolicy
from cpe.regions.selectors import bureaus_in_scope

EXPORT_CONTACTS = "regions.export_contacts"
RECOMPUTE_YEAR_STATUS = "regions.recompute_year_status"


@job_kind(EXPORT_CONTACTS, gettext_lazy("Export bureau contacts"))
def export_contacts(context: JobContext) -> dict[str, Any]:
    """Write the finance offices in the starter's scope to a CSV file (UTF-8 with BOM for Excel)."""
    bureaus = bureaus_in_scope(scope_path=context.job.region_path)
    context.progress(0, total=len(bureaus), message=_("Writing the contact list"))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["区划代码", "地区", "单位", "地址", "电话", "办公时间"])
    for done, bureau in enumerate(bureaus, start=1):
        writer.writerow(
            [
                bureau.region.code,
                bureau.region.name,
                bureau.name,
                bureau.address,
                bureau.phones,
                bureau.office_hours,
            ]
        )
        if done % 50 == 0 or done == len(bureaus):
            context.progress(done)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    context.save_file(f"contacts-{stamp}.csv", ("\ufeff" + out.getvalue()).encode("utf-8"))
    return {"rows": len(bureaus)}


# Failed, it stays on the rules page until run again: the housekeeping never forgets it.
@job_kind(
    RECOMPUTE_YEAR_STATUS,
    gettext_lazy("Recompute yearly statuses after a change of rules"),
    keep_when_failed=True,
)
def recompute_year_status(context: JobContext) -> dict[str, Any]:
    """Recompute the learner-years a changed row of rules decides, a year at a time (the
    progress bar counts years), then audit who asked, why, and what changed."""
    from cpe.regions.services import policy_recompute_audit

    params = context.params
    policy = RegionPolicy.objects.select_related("region").get(pk=params["policy"])
    last = params["last_year"] or timezone.localdate().year
    years = list(range(params["first_year"], max(last, params["first_year"]) + 1))
    context.progress(0, total=len(years), message=_("Recomputing the yearly statuses"))
    totals = {"changed": 0, "status_changed": 0}
    for done, year in enumerate(years, start=1):
        result = hooks.policy_recompute(
            hooks.PolicyScope(region_path=params["region_path"], first_year=year, last_year=year)
        )
        for key in totals:
            totals[key] += result.get(key, 0)
        context.progress(done)
    scope = hooks.PolicyScope(params["region_path"], params["first_year"], params["last_year"])
    policy_recompute_audit(
        actor=Actor(user=context.job.created_by),
        policy=policy,
        scope=scope,
        reason=params["reason"],
        result=totals,
    )
    context.progress(
        len(years),
        message=_("%(changed)s yearly statuses recomputed, %(status)s of them changed status.")
        % {"changed": totals["changed"], "status": totals["status_changed"]},
    )
    return totals
