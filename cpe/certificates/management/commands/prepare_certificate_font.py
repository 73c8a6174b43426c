"""Make the certificates' font with the common characters once (make setup runs this)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cpe.certificates.fonts import FontMissing, common_font


class Command(BaseCommand):
    help = "Make the smaller CJK font that certificates embed (from CERTIFICATE_FONT_PATH)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            path = common_font()
        except FontMissing as missing:
            raise CommandError(str(missing)) from None
        self.stdout.write(f"Certificate font: {path}")
