"""Check every learner's credit chain; exit non-zero when an entry was edited or removed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cpe.credits.services import ledger_verify


class Command(BaseCommand):
    help = "Check the credit ledger's hash chains and name every learner and entry that fails."

    def handle(self, *args: Any, **options: Any) -> None:
        problems = ledger_verify()
        for problem in problems:
            self.stderr.write(
                f"learner {problem.learner_id} entry {problem.entry_id}: {problem.problem}"
            )
        if problems:
            raise CommandError(f"{len(problems)} ledger entries fail the check.")
        self.stdout.write("The credit ledger is intact.")
