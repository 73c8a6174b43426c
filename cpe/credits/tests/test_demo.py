"""The demo credits: the demo learner sees her years in the ledger after `make run`."""

from __future__ import annotations

from django.core.management import call_command
from django.utils import timezone

from cpe.credits.models import CreditApplication, CreditEntry, YearStatus
from cpe.registry.demo import ACTIVATED
from cpe.registry.services import learner_find_by_id_number


def test_the_demo_learner_has_complete_earlier_years_and_this_year_begun(regions, settings):
    settings.DEBUG = True
    call_command("seed_demo", "--quiet-logins")
    learner = learner_find_by_id_number(ACTIVATED[0])
    statuses = {s.year: s.status for s in YearStatus.objects.filter(learner=learner)}
    current = timezone.localdate().year
    assert statuses[current] == YearStatus.Status.IN_PROGRESS
    assert all(status == "complete" for year, status in statuses.items() if year < current)
    count = CreditEntry.objects.filter(learner=learner).count()
    call_command("seed_demo", "--quiet-logins")
    assert CreditEntry.objects.filter(learner=learner).count() == count
    call_command("verify_ledger")


def test_the_demo_learner_has_one_application_waiting_for_the_officer(regions, settings):
    settings.DEBUG = True
    call_command("seed_demo", "--quiet-logins")
    call_command("seed_demo", "--quiet-logins")
    learner = learner_find_by_id_number(ACTIVATED[0])
    application = CreditApplication.objects.get(learner=learner)
    assert (application.state, application.kind) == ("pending", "professional_meeting")
    assert application.credits_claimed == 20 and application.evidence
