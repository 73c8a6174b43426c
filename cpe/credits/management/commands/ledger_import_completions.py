"""Bring course completions recorded before the credit ledger existed into it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from cpe.core.services import Actor
from cpe.credits.services import ledger_import_completions


class Command(BaseCommand):
    help = "Record a ledger entry for every course completion that has none (safe to rerun)."

    def handle(self, *args: Any, **options: Any) -> None:
        count = ledger_import_completions(actor=Actor.for_system("ledger_import_completions"))
        self.stdout.write(f"{count} completions recorded in the ledger.")
