"""Show a demo staff account's current authenticator code, so the demo needs no phone."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cpe.accounts import totp
from cpe.accounts.demo import DEMO_USERS
from cpe.accounts.models import TOTPDevice


class Command(BaseCommand):
    help = (
        "DEBUG only: print the current authenticator code of a demo staff account (one from "
        "cpe/accounts/demo.py) that has started or finished setting up its authenticator."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="a demo user name, e.g. officer.jiangan")

    def handle(self, *args: Any, **options: Any) -> None:
        # A code generator for real accounts would be a way around the second factor for
        # anyone with a shell: this one works only in development, and only for demo users.
        if not settings.DEBUG:
            raise CommandError("This command works only with DEBUG on (development and demos).")
        username = options["username"]
        if username not in {name for name, *_rest in DEMO_USERS}:
            raise CommandError(f"{username} is not a demo account (see cpe/accounts/demo.py).")
        devices = TOTPDevice.objects.filter(user__username=username).order_by("-confirmed")
        device = devices.first()
        if device is None:
            raise CommandError(
                f"{username} has no authenticator yet. Sign in at /staff/login/ first: "
                "the set-up page shows the QR code and the key, then run this again."
            )
        secret = totp.open_secret(device.secret_encrypted, user_id=device.user_id)
        step = max(totp.time_step(), device.last_used_step + 1)
        seconds_left = (step + 1) * totp.STEP_SECONDS - int(time.time())
        self.stdout.write(
            f"{totp.code_at_step(secret, step)}  "
            f"({'set-up' if not device.confirmed else 'sign-in'} code for {username}, "
            f"valid for about {seconds_left + totp.STEP_SECONDS * totp.WINDOW} s)"
        )
