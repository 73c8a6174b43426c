"""Job kinds owned by regions."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cpe.core.jobs import job_kind
from cpe.core.services import JobContext
from cpe.regions.selectors import bureaus_in_scope

EXPORT_CONTACTS = "regions.export_contacts"


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
