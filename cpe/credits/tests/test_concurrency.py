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


@pytest.mark.django_db(transaction=True)
def test_an_entry_recorded_while_the_recomputation_runs_is_not_lost(learner, monkeypatch):
    """The recomputation reads the ledger, then writes what differs: an entry recorded in
    between (its own transaction already brought the year up to date) must not be undone
    by the older figures the recomputation writes afterwards."""
    if connection.vendor != "postgresql":
        pytest.skip("a second connection writing while the first runs: PostgreSQL")
    from cpe.credits import recompute

    record(learner, 50)
    # A stored row that is wrong, so that the recomputation writes this year.
    YearStatus.objects.filter(learner=learner).update(total_credits=0, professional_credits=0)
    original = recompute._temporary
    recorded_meanwhile: list[CreditEntry] = []

    def record_meanwhile() -> None:
        try:
            recorded_meanwhile.append(record(learner, 40))
        finally:
            connection.close()

    def build(name: str, select: str) -> str:
        # After the ledger was read (the first passes), before what differs is written.
        if name == "recompute_diff" and not recorded_meanwhile:
            thread = threading.Thread(target=record_meanwhile)
            thread.start()
            thread.join()
        return original(name, select)

    monkeypatch.setattr(recompute, "_temporary", build)
    result = recompute.year_status_recompute_sql()
    assert recorded_meanwhile
    assert result.refreshed == 1
    status = YearStatus.objects.get(learner=learner)
    assert (status.total_credits, status.status) == (90, YearStatus.Status.COMPLETE)
