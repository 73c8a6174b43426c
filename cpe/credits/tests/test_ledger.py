"""The ledger is append-only and hash-chained; bad input is refused with the field it concerns."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from cpe.core.models import AppendOnlyError, AuditEntry
from cpe.credits.models import CreditEntry, YearStatus
from cpe.credits.services import credit_reverse, entry_digest, ledger_verify
from cpe.credits.testing import SYSTEM, record

pytestmark = pytest.mark.django_db
YEAR = timezone.localdate().year


def test_recording_credits_appends_an_entry_chained_to_the_one_before(learner):
    first = record(learner, 30)
    second = record(learner, 12, category=CreditEntry.Category.PUBLIC)
    assert first.previous_hash == ""
    assert second.previous_hash == first.entry_hash
    assert second.entry_hash == entry_digest(second)
    assert AuditEntry.objects.filter(action="credit.record").count() == 2
    assert ledger_verify() == []


def test_each_learners_chain_starts_on_its_own(make_learner):
    one, two = make_learner(), make_learner()
    record(one, 5)
    assert record(two, 5).previous_hash == ""


def test_an_entry_cannot_be_changed_or_deleted_through_the_application(learner):
    entry = record(learner, 30)
    entry.credits = Decimal("60")
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        CreditEntry.objects.filter(pk=entry.pk).update(credits=60)
    with pytest.raises(AppendOnlyError):
        CreditEntry.objects.filter(pk=entry.pk).delete()


def test_the_database_refuses_an_update_on_postgresql(learner):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only")
    entry = record(learner, 30)
    with (
        pytest.raises(Exception, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE credits_creditentry SET credits = 60 WHERE id = %s", [entry.pk])


def _edit_behind_the_applications_back(entry_id: int) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Deferred foreign-key checks of this test's inserts must run before ALTER TABLE.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE credits_creditentry DISABLE TRIGGER USER")
        cursor.execute("UPDATE credits_creditentry SET credits = 60 WHERE id = %s", [entry_id])
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE credits_creditentry ENABLE TRIGGER USER")


def test_verify_ledger_names_the_learner_and_entry_edited_with_raw_sql(make_learner, capsys):
    honest, tampered = make_learner(), make_learner()
    record(honest, 10)
    record(tampered, 10)
    edited = record(tampered, 20)
    record(tampered, 5)
    call_command("verify_ledger")
    _edit_behind_the_applications_back(edited.pk)
    with pytest.raises(CommandError):
        call_command("verify_ledger")
    reported = capsys.readouterr().err
    assert f"learner {tampered.pk} entry {edited.pk}" in reported
    assert f"learner {honest.pk} " not in reported


def test_a_reversal_takes_the_credits_back_and_names_the_entry(learner):
    entry = record(learner, 30)
    reversal = credit_reverse(actor=SYSTEM, entry=entry, reason="证书不实")
    assert reversal.credits == Decimal("-30")
    assert reversal.reverses == entry
    assert YearStatus.objects.get(learner=learner, year=YEAR).total_credits == 0
    audit = AuditEntry.objects.get(action="credit.reverse")
    assert audit.reason == "证书不实"
    assert ledger_verify() == []


def test_a_reversal_needs_a_reason(learner):
    entry = record(learner, 30)
    with pytest.raises(ValidationError) as refused:
        credit_reverse(actor=SYSTEM, entry=entry, reason="  ")
    assert "reason" in refused.value.message_dict
    assert CreditEntry.objects.count() == 1


def test_a_reversal_of_a_reversal_and_a_second_reversal_are_refused(learner):
    entry = record(learner, 30)
    reversal = credit_reverse(actor=SYSTEM, entry=entry, reason="错误")
    with pytest.raises(ValidationError) as twice:
        credit_reverse(actor=SYSTEM, entry=entry, reason="再次")
    assert "entry" in twice.value.message_dict
    with pytest.raises(ValidationError) as of_reversal:
        credit_reverse(actor=SYSTEM, entry=reversal, reason="撤销撤销")
    assert "entry" in of_reversal.value.message_dict
    assert CreditEntry.objects.count() == 2


@pytest.mark.parametrize(
    ("credits", "field"),
    [
        ("-5", "credits"),
        ("0", "credits"),
        ("1.25", "credits"),
        ("500", "credits"),
        ("x", "credits"),
    ],
)
def test_bad_credits_are_refused_and_nothing_is_written(learner, credits, field):
    with pytest.raises(ValidationError) as refused:
        record(learner, credits)
    assert field in refused.value.message_dict
    assert not CreditEntry.objects.exists()
    assert not YearStatus.objects.exists()


@pytest.mark.parametrize("year", [YEAR + 1, YEAR - 5])
def test_a_year_outside_the_learners_required_years_is_refused(learner, year):
    with pytest.raises(ValidationError) as refused:
        record(learner, 10, year=year)
    assert "year" in refused.value.message_dict
    assert not CreditEntry.objects.exists()


def test_an_unknown_category_or_a_platform_course_by_hand_is_refused(learner):
    with pytest.raises(ValidationError) as refused:
        record(learner, 10, category="other", source=CreditEntry.Source.PLATFORM_COURSE)
    assert set(refused.value.message_dict) == {"category", "source"}


def test_the_database_refuses_a_negative_entry_that_reverses_nothing(learner):
    entry = CreditEntry(
        learner=learner,
        year=YEAR,
        category="public",
        credits=Decimal("-3"),
        source="other",
        recorded_by_label="x",
        entry_hash="0",
    )
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        entry.save()
