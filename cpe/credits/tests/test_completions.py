"""A course completed in a plan lands in the ledger exactly once, in the same transaction."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command

from cpe.credits.chain import ledger_verify
from cpe.credits.models import CreditEntry, YearStatus
from cpe.credits.services import credit_record_completion
from cpe.credits.testing import SYSTEM
from cpe.learning.hooks import _completion_listeners
from cpe.learning.models import CourseCompletion
from cpe.learning.services import plan_course_complete
from cpe.learning.testing import complete_lessons, enrolment

pytestmark = pytest.mark.django_db


@pytest.fixture
def completed(regions):
    made = enrolment(district=regions["420102"], class_hours=2)
    complete_lessons(made.plan_course)
    return made


def test_a_completed_course_becomes_one_ledger_entry(completed):
    completion = CourseCompletion.objects.get(plan_course=completed.plan_course)
    entry = CreditEntry.objects.get(learner=completed.learner)
    assert entry.completion == completion
    assert entry.source == CreditEntry.Source.PLATFORM_COURSE
    assert entry.reference == completed.course.code
    assert (entry.year, entry.category, entry.credits) == (
        completed.plan.year,
        completion.category,
        Decimal("6"),
    )
    completion.refresh_from_db()
    assert completion.consumed_at is not None
    status = YearStatus.objects.get(learner=completed.learner, year=completed.plan.year)
    assert status.status == YearStatus.Status.IN_PROGRESS
    assert status.professional_credits == 6


def test_completing_again_or_recording_again_adds_no_second_entry(completed):
    plan_course_complete(actor=SYSTEM, plan_course=completed.plan_course)
    completion = CourseCompletion.objects.get(plan_course=completed.plan_course)
    assert credit_record_completion(actor=SYSTEM, completion=completion).completion == completion
    assert CreditEntry.objects.filter(learner=completed.learner).count() == 1


def test_older_completions_are_brought_into_the_ledger_once(regions, monkeypatch):
    # Completions made before the ledger existed: no listener was registered then.
    monkeypatch.setattr("cpe.learning.hooks._completion_listeners", [])
    made = enrolment(district=regions["420102"])
    complete_lessons(made.plan_course)
    assert not CreditEntry.objects.exists()
    monkeypatch.undo()
    call_command("ledger_import_completions")
    call_command("ledger_import_completions")
    entry = CreditEntry.objects.get()
    assert entry.completion.plan_course == made.plan_course
    assert ledger_verify() == []


def test_the_ledger_registers_its_listener_when_the_app_is_ready():
    assert credit_record_completion in _completion_listeners


def test_a_completion_is_undone_when_the_ledger_refuses_it(regions, monkeypatch):
    made = enrolment(district=regions["420102"])

    def refuse(**kwargs):
        raise RuntimeError("ledger down")

    monkeypatch.setattr("cpe.learning.hooks._completion_listeners", [refuse])
    with pytest.raises(RuntimeError):
        complete_lessons(made.plan_course)
    assert not CourseCompletion.objects.exists()
    assert not CreditEntry.objects.exists()
