"""Check every learner's credit chain, its head and the stored yearly statuses; exit non-zero
when anything was edited or removed behind the application's back."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cpe.credits.chain import ledger_verify


class Command(BaseCommand):
    help = (
        "Check the credit ledger (each entry's keyed hash and link, each learner's chain head, "
        "the stored yearly statuses) and name every learner, entry or year that fails."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        problems = ledger_verify()
        for problem in problems:
            self.stderr.write(str(problem))
        if problems:
            learners = len({problem.learner_id for problem in problems})
            raise CommandError(
                f"{len(problems)} problems in the ledger of {learners} learners; "
                "the lines above name each learner, entry or year and what is wrong."
            )
        self.stdout.write("The credit ledger is intact.")
