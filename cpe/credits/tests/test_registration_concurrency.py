"""Two officers (or one double click) approving one application at once make one ledger entry;
two submissions of one activity at once make one application."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from cpe.accounts.roles import Role
from cpe.core.services import Actor
from cpe.credits.chain import ledger_verify
from cpe.credits.models import CreditApplication, CreditEntry
from cpe.credits.registration import credit_application_approve
from cpe.credits.testing import apply_for_credits
from cpe.learning.testing import collected_learner

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _at_once(call: Callable[[], object], times: int) -> tuple[list[object], list[Exception]]:
    results: list[object] = []
    errors: list[Exception] = []
    barrier = threading.Barrier(times)

    def run() -> None:
        try:
            barrier.wait()
            results.append(call())
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


@pytest.fixture
def applicant(regions, make_user):
    if connection.vendor != "postgresql":
        pytest.skip("threads with their own connections: PostgreSQL")
    user = make_user(Role.LEARNER, "420102")
    return collected_learner(district=regions["420102"], sequence=41, user=user)


def test_approving_one_application_at_once_from_several_connections_makes_one_entry(
    applicant, make_user
):
    application = apply_for_credits(applicant)
    officers = [make_user(Role.DISTRICT_OFFICER, "420102") for _ in range(2)]
    actors = iter(Actor(user=officers[n % 2]) for n in range(6))
    lock = threading.Lock()

    def approve() -> object:
        with lock:
            actor = next(actors)
        return credit_application_approve(actor=actor, application=application)

    results, errors = _at_once(approve, 6)
    assert len(results) == 1
    assert len(errors) == 5 and all(isinstance(e, ValidationError) for e in errors)
    assert CreditEntry.objects.filter(learner=applicant).count() == 1
    assert CreditApplication.objects.get().entry_id is not None
    assert ledger_verify() == []


def test_submitting_one_activity_at_once_makes_one_application(applicant):
    results, errors = _at_once(lambda: apply_for_credits(applicant), 4)
    assert len(results) == 1
    assert len(errors) == 3 and all(isinstance(e, ValidationError) for e in errors)
    assert CreditApplication.objects.count() == 1
