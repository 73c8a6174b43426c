"""Values shared by the test suites (imported by tests, never by the application)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# The password of the users the test fixtures create.
TEST_PASSWORD = "correct-horse-battery"


def database_dump() -> str:
    """Every row of every table as text, on SQLite and PostgreSQL alike: what a leaked
    backup would show, for tests that prove a secret is not stored in the clear."""
    from django.db import connection

    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            parts.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(parts)


def run_coroutine(main: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine on an event loop of its own, in a thread of its own (a test before
    may leave a loop running in the main thread: Playwright's, say)."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, main).result()
