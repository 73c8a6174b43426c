"""Concurrent downloads of one year's certificate issue exactly one (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from cpe.certificates.models import Certificate
from cpe.certificates.services import certificate_issue
from cpe.certificates.testing import SYSTEM
from cpe.core.models import AuditEntry


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_issue_one_certificate(completed):
    if connection.vendor != "postgresql":
        pytest.skip("threads with their own connections: PostgreSQL")
    learner, year = completed
    numbers: list[str] = []
    errors: list[Exception] = []
    start = threading.Barrier(8)

    def issue() -> None:
        try:
            start.wait()
            numbers.append(certificate_issue(actor=SYSTEM, learner=learner, year=year).number)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(numbers)) == 1 and len(numbers) == 8
    assert Certificate.objects.filter(learner=learner, year=year).count() == 1
    assert AuditEntry.objects.filter(action="certificate.issue").count() == 1
