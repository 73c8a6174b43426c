"""The ledger is append-only and hash-chained under the ledger key, with a sealed head per
learner; `verify_ledger` finds what was changed behind the application's back; bad input is
refused with the field it concerns."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from cpe.core.models import AppendOnlyError, AuditEntry
from cpe.credits.chain import LedgerIntegrityError, entry_digest, ledger_verify
from cpe.credits.models import CreditEntry, LedgerHead, YearStatus, YearStatusChange
from cpe.credits.services import credit_reverse
from cpe.credits.testing import SYSTEM, record, sha256_as_before
from cpe.learning.testing import collected_learner

pytestmark = pytest.mark.django_db
YEAR = timezone.localdate().year
HOUR = datetime.timedelta(hours=1)


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


@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        ("UPDATE credits_creditentry SET credits = 60 WHERE id = %s", "append-only"),
        ("DELETE FROM credits_creditentry WHERE id = %s", "append-only"),
        ("DELETE FROM credits_ledgerhead WHERE last_entry_id = %s", "never deleted"),
    ],
)
def test_the_database_refuses_to_change_or_delete_an_entry_or_a_head_on_postgresql(
    learner, statement, refusal
):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only")
    entry = record(learner, 30)
    with (
        pytest.raises(Exception, match=refusal),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [entry.pk])
    assert CreditEntry.objects.filter(pk=entry.pk, credits=30).exists()
    assert LedgerHead.objects.filter(learner=learner).exists()


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


# --- Edits behind the application's back ------------------------------------------------------


def _as_the_database_owner(cursor, sql: str, params: list) -> None:
    """Run SQL as someone with database access and no ledger key: on PostgreSQL with the
    session's triggers off (the append-only guard and the foreign-key checks alike)."""
    if connection.vendor == "postgresql":
        cursor.execute("SET session_replication_role = replica")
    try:
        cursor.execute(sql, params)
    finally:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


@contextmanager
def _deleted_behind_the_applications_back(table: str, ids: list[int]) -> Iterator[None]:
    """Delete rows with raw SQL; put them back afterwards, so the foreign keys of the test
    database hold when the test ends."""
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id IN ({marks})", ids)  # noqa: S608
        columns = [column[0] for column in cursor.description]
        rows = cursor.fetchall()
        _as_the_database_owner(cursor, f"DELETE FROM {table} WHERE id IN ({marks})", ids)  # noqa: S608
    try:
        yield
    finally:
        names = ", ".join(columns)
        values = ", ".join(["%s"] * len(columns))
        with connection.cursor() as cursor:
            for row in rows:
                _as_the_database_owner(
                    cursor,
                    f"INSERT INTO {table} ({names}) VALUES ({values})",  # noqa: S608
                    list(row),
                )


def _kinds(problems) -> set[tuple[int, int | None, str]]:
    return {(problem.learner_id, problem.entry_id, problem.kind) for problem in problems}


def test_an_untouched_ledger_verifies_clean(make_learner, capsys):
    one, two = make_learner(), make_learner()
    first = record(one, 30)
    record(one, 40, category=CreditEntry.Category.PUBLIC, reference="会议-1")
    credit_reverse(actor=SYSTEM, entry=first, reason="重复登记")
    record(one, 60, reference="考试-1")
    record(two, 90, reference="考试-2")
    head = LedgerHead.objects.get(learner=one)
    assert head.entry_count == 4
    assert head.last_entry_id == CreditEntry.objects.filter(learner=one).latest("id").pk
    assert ledger_verify() == []
    call_command("verify_ledger")
    assert "intact" in capsys.readouterr().out


def test_a_deleted_newest_entry_is_caught_by_the_learners_head(make_learner, capsys):
    learner, honest = make_learner(), make_learner()
    record(honest, 10)
    record(learner, 10)
    tail = record(learner, 20, reference="B")  # no status change names it
    with _deleted_behind_the_applications_back("credits_creditentry", [tail.pk]):
        problems = ledger_verify()
        assert {(learner.pk, tail.pk, "count"), (learner.pk, tail.pk, "tail")} <= _kinds(problems)
        assert all(problem.learner_id == learner.pk for problem in problems)
        with pytest.raises(CommandError):
            call_command("verify_ledger")
    assert f"learner {learner.pk} entry {tail.pk}: the chain head counts 2" in (
        capsys.readouterr().err
    )


def test_a_learners_whole_chain_deleted_is_caught_by_the_head_left_behind(learner):
    entries = [record(learner, 10), record(learner, 20, reference="B")]
    # The status history names the entries, so it goes first (a foreign key protects them).
    changes = list(YearStatusChange.objects.filter(learner=learner).values_list("id", flat=True))
    with (
        _deleted_behind_the_applications_back("credits_yearstatuschange", changes),
        _deleted_behind_the_applications_back("credits_creditentry", [e.pk for e in entries]),
    ):
        problems = ledger_verify()
    assert (learner.pk, entries[-1].pk, "tail") in _kinds(problems)
    assert any("ledger has 0" in problem.problem for problem in problems)


def test_an_entry_edited_and_rehashed_without_the_key_is_caught(learner):
    record(learner, 10)
    edited = record(learner, 20, reference="B")
    edited.credits = Decimal("80")
    rehashed = sha256_as_before(edited)
    with connection.cursor() as cursor:
        _as_the_database_owner(
            cursor,
            "UPDATE credits_creditentry SET credits = 80, entry_hash = %s WHERE id = %s",
            [rehashed, edited.pk],
        )
        # The head and the year's status are brought in line too, as far as SQL can.
        _as_the_database_owner(
            cursor,
            "UPDATE credits_ledgerhead SET last_hash = %s WHERE learner_id = %s",
            [rehashed, learner.pk],
        )
    call_command("recompute_year_status", "--reason", "covering the edit")
    problems = ledger_verify()
    assert (learner.pk, edited.pk, "seal") in _kinds(problems)
    assert (learner.pk, edited.pk, "head_seal") in _kinds(problems)
    # The running sums written on append no longer add up to the credits: the recomputation
    # does not settle the year from them, and counts the credits as they now stand (met
    # with the edited entry), never a complete year without its moment.
    assert (learner.pk, edited.pk, "running") in _kinds(problems)
    status = YearStatus.objects.get(learner=learner, year=YEAR)
    assert (status.status, status.total_credits) == (YearStatus.Status.COMPLETE, 90)
    assert status.met_at == edited.created_at


def test_evidence_is_part_of_the_seal_so_editing_it_is_caught(learner):
    entry = record(learner, 10, evidence="鄂财会〔2026〕12号")
    assert CreditEntry.objects.get(pk=entry.pk).evidence == "鄂财会〔2026〕12号"
    with connection.cursor() as cursor:
        _as_the_database_owner(
            cursor,
            "UPDATE credits_creditentry SET evidence = %s WHERE id = %s",
            ["鄂财会〔2026〕99号", entry.pk],
        )
    assert _kinds(ledger_verify()) == {(learner.pk, entry.pk, "seal")}


def test_an_entry_sealed_with_a_key_no_longer_listed_is_reported_and_a_retired_key_verifies(
    learner, settings
):
    old_key = settings.LEDGER_KEYS.split(",")[0]
    entry = record(learner, 10)
    settings.LEDGER_KEYS = "l9:" + "E" * 43 + "=," + old_key
    assert ledger_verify() == []  # the old key still verifies what it sealed
    newer = record(learner, 20, reference="B")
    assert (newer.key_id, LedgerHead.objects.get(learner=learner).key_id) == ("l9", "l9")
    settings.LEDGER_KEYS = "l9:" + "E" * 43 + "="
    kinds = _kinds(ledger_verify())
    assert (learner.pk, entry.pk, "key") in kinds
    assert not any(entry_id == newer.pk for _l, entry_id, _k in kinds)


@pytest.mark.parametrize("tampering", ["edited", "deleted"])
def test_a_stored_yearly_status_that_the_ledger_does_not_give_is_reported(
    learner, tampering, capsys
):
    record(learner, 30)
    stored = YearStatus.objects.filter(learner=learner, year=YEAR)
    if tampering == "edited":
        stored.update(status=YearStatus.Status.COMPLETE, total_credits=90)
    else:
        stored.delete()
    problems = ledger_verify()
    assert [(p.learner_id, p.year, p.kind) for p in problems] == [(learner.pk, YEAR, "year_status")]
    assert "in_progress 30.0" in problems[0].problem
    with pytest.raises(CommandError):
        call_command("verify_ledger")
    assert f"learner {learner.pk} year {YEAR}:" in capsys.readouterr().err


def test_no_entry_is_appended_to_a_chain_whose_head_was_tampered_with(learner):
    record(learner, 10)
    with connection.cursor() as cursor:
        _as_the_database_owner(
            cursor,
            "UPDATE credits_ledgerhead SET entry_count = 5 WHERE learner_id = %s",
            [learner.pk],
        )
    with pytest.raises(LedgerIntegrityError):
        record(learner, 20, reference="B")
    assert CreditEntry.objects.filter(learner=learner).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_check_reports_the_same_when_run_outside_a_transaction_as_the_command_is(
    make_learner,
):
    # Outside a transaction the check streams through open cursors and re-reads a learner
    # with a problem in a transaction of its own.
    honest, edited = make_learner(), make_learner()
    record(honest, 30)
    record(edited, 30)
    YearStatus.objects.filter(learner=edited).update(total_credits=60)
    problems = ledger_verify()
    assert [(p.learner_id, p.kind) for p in problems] == [(edited.pk, "year_status")]


# --- Running sums ------------------------------------------------------------------------------


def _sums(*entries: CreditEntry) -> list[tuple[int | None, int | None]]:
    rows = dict(
        (pk, (total, professional))
        for pk, total, professional in CreditEntry.objects.filter(
            pk__in=[entry.pk for entry in entries]
        ).values_list("pk", "running_total", "running_professional")
    )
    return [rows[entry.pk] for entry in entries]


def test_each_entry_carries_its_years_running_sums_in_tenths(regions):
    learner = collected_learner(district=regions["420102"], qualification_year=YEAR - 3)
    start = timezone.now() - datetime.timedelta(hours=5)
    first = record(learner, 30, now=start)
    second = record(
        learner, Decimal("12.5"), category=CreditEntry.Category.PUBLIC, now=start + HOUR
    )
    elsewhere = record(learner, 7, year=YEAR - 1, now=start + HOUR)
    reversal = credit_reverse(actor=SYSTEM, entry=first, reason="重复登记", now=start + 2 * HOUR)
    # Each year sums on its own; a reversal takes its credits off the sums.
    assert _sums(first, second, elsewhere, reversal) == [
        (300, 300),
        (425, 300),
        (70, 70),
        (125, 0),
    ]
    assert ledger_verify() == []


def test_an_entry_dated_before_the_years_latest_has_no_running_sums(learner):
    start = timezone.now() - datetime.timedelta(hours=5)
    later = record(learner, 30, now=start + 2 * HOUR)
    earlier = record(learner, 10, now=start)
    # Same moment as the latest: recorded after it (a larger id), so in order.
    tied = record(learner, 5, now=start + 2 * HOUR)
    last = record(learner, 5, now=start + 3 * HOUR)
    # The sums of the entry after it would leave it out: it gets none, and the year is
    # left to the recomputation's second pass. Those after it count it.
    assert _sums(later, earlier, tied, last) == [(300, 300), (None, None), (450, 450), (500, 500)]
    assert ledger_verify() == []


def test_verify_ledger_catches_running_sums_edited_with_raw_sql(make_learner):
    learner, honest = make_learner(), make_learner()
    first = record(learner, 30)
    record(learner, 40)
    record(honest, 90)
    with connection.cursor() as cursor:
        _as_the_database_owner(
            cursor,
            "UPDATE credits_creditentry SET running_total = 900 WHERE id = %s",
            [first.pk],
        )
    problems = ledger_verify()
    assert _kinds(problems) == {(learner.pk, first.pk, "running")}
    assert "running sums are 90.0 and 30.0" in problems[0].problem
    assert "add up to 30.0 and 30.0" in problems[0].problem
