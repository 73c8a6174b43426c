"""Latency of the public pages and the audit write path, on a fresh database with the demo data.

Measured in-process with Django's test client (no network, no server), so the figures are
the application's own cost per request: template rendering, queries, middleware.
"""

from __future__ import annotations

import io
import os
import statistics
import tempfile
import time


def _setup() -> object:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpe.settings")
    os.environ["CPE_VAR_DIR"] = tempfile.mkdtemp(prefix="cpe-bench-")
    os.environ.setdefault("DEBUG", "true")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = ["*"]
    from django.test.utils import setup_databases

    # A throw-away database (test_<name>) so the benchmark never touches real data.
    databases = setup_databases(verbosity=0, interactive=False)
    call_command("seed_demo", "--quiet-logins", stdout=io.StringIO())
    return databases


def _timed(fn, repeats: int) -> list[float]:
    fn()  # warm caches and connections
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _figure(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"median {statistics.median(ordered):6.2f} ms   p95 {p95:6.2f} ms   (n={len(ordered)})"


def run() -> list[tuple[str, str]]:
    databases = _setup()
    try:
        return _measure()
    finally:
        from django.test.utils import teardown_databases

        teardown_databases(databases, verbosity=0)


def _measure() -> list[tuple[str, str]]:
    from django.test import Client

    from cpe.core.services import Actor, audit_record
    from cpe.regions.models import Region

    client = Client()
    rows = []
    for url in ["/", "/help/", "/api/v1/regions", "/healthz"]:
        times = _timed(lambda url=url: client.get(url), 200)
        rows.append((f"GET {url}", _figure(times)))
    region = Region.objects.get(code="420102")
    actor = Actor.for_system("bench")
    times = _timed(lambda: audit_record(actor=actor, action="bench.write", target=region), 500)
    rows.append(("audit_record (one row)", _figure(times)))
    return rows
