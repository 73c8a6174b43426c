"""Appends for one learner from several connections at once keep one unbroken chain."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from cpe.credits.chain import ledger_verify
from cpe.credits.models import CreditEntry, YearStatus
from cpe.credits.testing import record


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_for_one_learner_keep_the_chain_and_the_totals(learner):
    if connection.vendor != "postgresql":
        pytest.skip("threads with their own connections: PostgreSQL")
    errors: list[Exception] = []

    def append(credits: int) -> None:
        try:
            record(learner, credits)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert CreditEntry.objects.filter(learner=learner).count() == 8
    assert ledger_verify() == []
    assert YearStatus.objects.get(learner=learner).total_credits == sum(range(1, 9))
