"""Recompute every learner's yearly status from the credit ledger, with a reason, audited."""

from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cpe.core.services import Actor, audit_record
from cpe.credits.services import year_status_recompute_all


def _operator() -> str:
    # The audit names who ran it; a container may have no name for its user.
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class Command(BaseCommand):
    help = (
        "Recompute the yearly statuses from the ledger, set-based in the database (after a "
        "policy change, for one). Only rows that differ are written. A reason is required: "
        "the run is audited as year_status.recompute with its counts."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--region-path", default="", help='e.g. "420000/420100/"')
        parser.add_argument("--from-year", type=int, default=None)
        parser.add_argument("--to-year", type=int, default=None)
        parser.add_argument(
            "--reason",
            required=True,
            help="Why the statuses are recomputed (kept in the audit log)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        reason = options["reason"].strip()
        if not reason:
            raise CommandError("Say why the yearly statuses are recomputed (--reason).")
        region_path = options["region_path"]
        first_year, last_year = options["from_year"], options["to_year"]
        result = year_status_recompute_all(
            region_path=region_path, first_year=first_year, last_year=last_year
        )
        # As the rules page audits its recomputation (region_policy.recompute): who, why, which
        # years, how many changed. Written after the run, which commits as it goes.
        audit_record(
            actor=Actor.for_system(f"recompute_year_status ({_operator()})"),
            action="year_status.recompute",
            after={
                "region_path": region_path,
                "years": [first_year, last_year],
                "changed": result.get("changed", 0),
                "status_changed": result.get("status_changed", 0),
                "refreshed": result.get("refreshed", 0),
            },
            region_path=region_path,
            reason=reason,
        )
        self.stdout.write(
            f"{result['changed']} years changed, {result['status_changed']} of them in status."
        )
