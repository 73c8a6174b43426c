"""Recompute every learner's yearly status from the credit ledger."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from cpe.credits.services import year_status_recompute_all


class Command(BaseCommand):
    help = (
        "Recompute the yearly statuses from the ledger, set-based in the database (after a "
        "policy change, for one). Only rows that differ are written."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--region-path", default="", help='e.g. "420000/420100/"')
        parser.add_argument("--from-year", type=int, default=None)
        parser.add_argument("--to-year", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        result = year_status_recompute_all(
            region_path=options["region_path"],
            first_year=options["from_year"],
            last_year=options["to_year"],
        )
        self.stdout.write(
            f"{result['changed']} years changed, {result['status_changed']} of them in status."
        )
