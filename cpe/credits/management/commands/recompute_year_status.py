"""Recompute every learner's yearly status from the credit ledger."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from cpe.credits.services import year_status_recompute_all


class Command(BaseCommand):
    help = "Recompute every yearly status from the ledger (after a policy change, for one)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = year_status_recompute_all()
        self.stdout.write(f"{result['years']} years read, {result['changed']} changed.")
