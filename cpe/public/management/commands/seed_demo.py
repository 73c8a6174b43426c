"""Load the demo data for the whole product. Safe to run again: nothing is duplicated."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from cpe.accounts import demo as accounts_demo
from cpe.catalog import demo as catalog_demo
from cpe.certificates import demo as certificates_demo
from cpe.core.services import Actor
from cpe.credits import demo as credits_demo
from cpe.exams import demo as exams_demo
from cpe.learning import demo as learning_demo
from cpe.public import demo as public_demo
from cpe.regions import demo as regions_demo
from cpe.registry import demo as registry_demo


class Command(BaseCommand):
    help = "Load demo regions, contacts, users and notices (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Load even with DEBUG off (creates users with a published password).",
        )
        parser.add_argument(
            "--quiet-logins", action="store_true", help="Do not print the demo logins."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError(
                "DEBUG is off: demo users have a published password. "
                "Pass --allow-production if this really is a demo server."
            )
        actor = Actor.for_system("seed_demo")
        with transaction.atomic():
            regions_demo.seed(actor)
            accounts_demo.seed(actor)
            registry_demo.seed(actor)
            public_demo.seed(actor)
            catalog_demo.seed(actor)
            # The courses' question banks before the learner studies them.
            exams_demo.seed(actor)
            # After the catalog's demo: the demo learner's plan takes its courses.
            learning_demo.seed(actor)
            # After learning's: the ledger holds her earlier years and this year's start.
            credits_demo.seed(actor)
            # After the ledger's: her latest complete year has its certificate.
            certificates_demo.seed(actor)
        self.stdout.write(self.style.SUCCESS("Demo data is loaded."))
        if not options["quiet_logins"]:
            self.stdout.write(f"\nDemo logins (password for all: {accounts_demo.DEMO_PASSWORD})")
            for username, role, region, _name in accounts_demo.DEMO_USERS:
                where = f" {region}" if region else ""
                self.stdout.write(f"  {username:<18} {role.label}{where}")
            signed_up, new = registry_demo.ACTIVATED, registry_demo.NOT_ACTIVATED
            self.stdout.write(
                f"  learner: ID number {signed_up[0]} or mobile {signed_up[2]} "
                f"({signed_up[1]}), same password"
            )
            self.stdout.write(
                f"  first sign-in: ID number {new[0]}, name {new[1]} "
                "(the SMS code is printed in this terminal)"
            )
            self.stdout.write(
                "\n  Learners sign in at /login/, staff at /staff/login/, "
                "the Django admin is /admin/."
                "\n  Officers, administrators and admin also need an authenticator app: "
                "the first sign-in shows its QR code and key.\n  No phone at hand? "
                "`python manage.py demo_totp_code officer.jiangan` prints the current code "
                "(DEBUG only)."
            )
