"""Re-encrypt stored ID numbers with the newest key and recompute their lookup hashes."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cpe.core.services import Actor
from cpe.registry.crypto import field_keys, key_id_of
from cpe.registry.models import Learner
from cpe.registry.services import learners_rotate_keys


class Command(BaseCommand):
    help = (
        "Move every stored ID number to the first key of FIELD_ENCRYPTION_KEYS and the "
        "current LOOKUP_HASH_KEY. Keep old keys listed until this has finished."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="Only count values per key id.")
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["check"]:
            counts = Counter(
                key_id_of(token)
                for token in Learner.objects.values_list(
                    "id_number_encrypted", flat=True
                ).iterator()
            )
            current = field_keys().current
            for key_id, count in sorted(counts.items()):
                marker = " (current)" if key_id == current else ""
                self.stdout.write(f"{key_id}{marker}: {count}")
            return
        result = learners_rotate_keys(
            actor=Actor.for_system("rotate_field_keys"), batch_size=options["batch_size"]
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Examined {result.examined}: re-encrypted {result.reencrypted}, "
                f"rehashed {result.rehashed}."
            )
        )
