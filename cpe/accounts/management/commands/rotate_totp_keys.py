"""Re-encrypt the staff authenticator secrets with the newest field-encryption key."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cpe.accounts.models import TOTPDevice
from cpe.accounts.services import totp_devices_rotate_keys
from cpe.core.crypto import field_keys, key_id_of
from cpe.core.services import Actor


class Command(BaseCommand):
    help = (
        "Move every authenticator secret to the first key of FIELD_ENCRYPTION_KEYS. Run it "
        "with rotate_field_keys, and keep old keys listed until both have finished."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="Only count secrets per key id.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["check"]:
            counts = Counter(
                key_id_of(token)
                for token in TOTPDevice.objects.values_list("secret_encrypted", flat=True)
            )
            current = field_keys().current
            for key_id, count in sorted(counts.items()):
                marker = " (current)" if key_id == current else ""
                self.stdout.write(f"{key_id}{marker}: {count}")
            return
        changed = totp_devices_rotate_keys(actor=Actor.for_system("rotate_totp_keys"))
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {changed} authenticator secrets."))
