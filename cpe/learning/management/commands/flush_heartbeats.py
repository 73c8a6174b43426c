"""Write the heartbeats waiting in the Redis buffer to the database now (before maintenance,
or from a timer where web processes run with HEARTBEAT_FLUSH_SECONDS=0)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from cpe.learning.heartbeat_buffer import FLUSH_BATCH, buffer_enabled, heartbeats_flush


class Command(BaseCommand):
    help = "Write the heartbeats waiting in the Redis buffer to the database."

    def handle(self, *args: Any, **options: Any) -> None:
        if not buffer_enabled():
            self.stdout.write(
                "The heartbeat buffer is off: heartbeats go straight to the database."
            )
            return
        total = 0
        while (written := heartbeats_flush()) > 0:
            total += written
            if written < FLUSH_BATCH:
                break
        self.stdout.write(f"{total} heartbeats written.")
