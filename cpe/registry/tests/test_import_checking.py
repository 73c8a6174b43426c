"""Checking and applying imports: exactly the bad rows reported, idempotency, updates, other
districts, duplicates in a file, and imports that never half-apply."""

from __future__ import annotations

import gzip
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from cpe.core.models import AuditEntry, Job
from cpe.core.services import jobs_housekeep, snapshot
from cpe.core.testing import database_dump
from cpe.registry import imports
from cpe.registry.import_samples import HEADERS_ZH
from cpe.registry.imports import (
    error_rows_xlsx,
    learner_import_abandon,
    learner_import_apply,
    learner_import_confirm,
    learner_import_recheck,
    learner_imports_expire,
    read_sheet,
)
from cpe.registry.models import Learner, LearnerImport, LearnerStatusChange
from cpe.registry.services import (
    LEARNER_AUDIT_FIELDS,
    LearnerDetails,
    learner_collect,
    learner_find_by_id_number,
)
from cpe.registry.testing import make_id_number
from cpe.registry.tests.conftest import applied, checked, csv_bytes, no_progress, rows, xlsx

# Ten ways a row goes wrong, each in a different field.
BAD_CELLS = [
    (0, "42010219800101159"),  # 17 characters
    (0, "420102198001011591"),  # wrong check character
    (1, "X"),  # not a name
    (2, "12345"),  # not a mobile
    (3, "某"),  # employer too short
    (4, "91350100M000100Y44"),  # wrong check character
    (5, "特级"),  # no such level
    (7, "1890"),  # year out of range
    (7, "去年"),  # not a year
    (6, "证" * 41),  # certificate number too long
]


def _thousand_with_ten_bad() -> tuple[list[list[object]], set[int]]:
    people = rows(1000)
    bad_rows = set()
    for position, (column, value) in zip(range(37, 1000, 97), BAD_CELLS, strict=False):
        people[position][column] = value
        if column in (7, 6):
            people[position][5] = "中级"  # a level that needs a year
        bad_rows.add(position + 2)  # row 1 is the header
    return people, bad_rows


def test_a_thousand_row_file_with_ten_bad_rows_reports_exactly_those_ten(officer):
    people, bad_rows = _thousand_with_ten_bad()
    learner_import = checked(officer, xlsx(people))
    assert learner_import.state == LearnerImport.State.CHECKED
    assert set(learner_import.row_errors.values_list("row_number", flat=True)) == bad_rows
    assert (learner_import.total_rows, learner_import.new_count, learner_import.error_count) == (
        1000,
        990,
        10,
    )
    assert not Learner.objects.exists()  # checking writes no learner


def test_a_file_named_after_an_id_number_is_kept_and_recorded_under_a_masked_name(officer):
    number = make_id_number(sequence=321)
    learner_import = applied(officer, checked(officer, xlsx(rows(1)), name=f"{number}.xlsx"))
    masked = f"{number[:6]}********{number[-4:]}.xlsx"
    assert learner_import.file_name == masked
    change = LearnerStatusChange.objects.get(to_status="collected")
    assert number not in change.reason and masked in change.reason


def test_each_bad_row_names_its_field_in_chinese_and_english(officer):
    people, _bad = _thousand_with_ten_bad()
    learner_import = checked(officer, xlsx(people))
    fields = {next(iter(error.messages)) for error in learner_import.row_errors.all()}
    assert fields == {
        "id_number",
        "name",
        "mobile",
        "employer_name",
        "employer_uscc",
        "qualification_level",
        "qualification_year",
        "certificate_number",
    }
    mobile = learner_import.row_errors.get(row_number=37 + 3 * 97 + 2).messages["mobile"]
    assert mobile["en"] == ["A mobile number has 11 digits and starts with 13 to 19."]
    assert "手机号" in mobile["zh-hans"][0] and "11" in mobile["zh-hans"][0]


def test_every_error_of_one_row_is_reported_at_once(officer):
    person = rows(1)[0]
    person[1], person[2], person[3] = "X", "123", ""
    learner_import = checked(officer, xlsx([person]))
    error = learner_import.row_errors.get()
    assert set(error.messages) == {"name", "mobile", "employer_name"}
    assert error.row_number == 2 and error.name == "X"


def test_invisible_characters_in_free_text_are_a_row_error_not_a_failed_apply(officer):
    people = rows(3)
    people[0][3] = "武汉\n会计服务有限公司"  # Alt+Enter in an Excel cell
    people[1][6] = "证\t12345"
    learner_import = checked(officer, xlsx(people))
    errors = {error.row_number: set(error.messages) for error in learner_import.row_errors.all()}
    assert errors == {2: {"employer_name"}, 3: {"certificate_number"}}
    applied(officer, learner_import)
    assert Learner.objects.count() == 1


def test_the_same_id_number_twice_in_a_file_is_an_error_on_the_later_row(officer):
    people = rows(3)
    twin = list(people[0])
    twin[0] = str(twin[0]).lower()  # the same number, written differently
    learner_import = checked(officer, csv_bytes([*people, twin]), "people.csv")
    error = learner_import.row_errors.get()
    assert error.row_number == 5
    assert error.messages["id_number"]["en"] == [
        "The same ID number is already on row 2 of this file."
    ]
    assert learner_import.new_count == 3


def test_a_person_collected_by_another_district_is_refused_naming_that_district(
    officer, hongshan_officer, regions
):
    person = rows(1)[0]
    learner_collect(
        actor=hongshan_officer,
        district=regions["420111"],
        details=LearnerDetails(
            id_number=person[0],
            name="李四",
            mobile="13900139000",
            employer_name="洪山某单位",
            qualification_level="none",
        ),
    )
    learner_import = checked(officer, xlsx([person, *rows(2, start=1)]))
    error = learner_import.row_errors.get()
    assert "洪山区" in error.messages["id_number"]["zh-hans"][0]
    assert "Hongshan" in error.messages["id_number"]["en"][0]
    assert error.id_number_masked == Learner.objects.get().id_number_masked
    applied(officer, learner_import)
    held = learner_find_by_id_number(str(person[0]))
    assert held.district.code == "420111" and held.name == "李四"


def test_a_legacy_15_digit_number_and_a_lowercase_x_are_accepted(officer):
    person = rows(1)[0]
    person[0] = "420102800101159"
    other = rows(1, start=1)[0]
    other[0] = "11010519491231002x"
    learner_import = applied(officer, checked(officer, xlsx([person, other])))
    assert learner_import.new_count == 2 and learner_import.error_count == 0
    assert learner_find_by_id_number("42010219800101159X") is not None
    assert learner_find_by_id_number("11010519491231002X") is not None


def test_an_id_number_that_excel_turned_into_a_number_gets_a_specific_error(officer):
    person = rows(1)[0]
    person[0] = 4.20102198001012e17
    learner_import = checked(officer, xlsx([person]))
    messages = learner_import.row_errors.get().messages["id_number"]["en"]
    assert any("format the column as text" in text for text in messages)


def test_applying_writes_learners_status_history_and_audit_entries(officer, users):
    learner_import = applied(officer, checked(officer, xlsx(rows(5))))
    assert learner_import.state == LearnerImport.State.APPLIED
    assert Learner.objects.filter(district__code="420102").count() == 5
    assert LearnerStatusChange.objects.filter(to_status="collected").count() == 5
    entries = AuditEntry.objects.filter(action="learner.collect")
    assert entries.count() == 5
    learner = Learner.objects.select_related("district").first()
    entry = entries.get(target_id=str(learner.pk))
    # An imported learner's entry reads like one collected through the form.
    assert entry.changes == {"after": snapshot(learner, LEARNER_AUDIT_FIELDS)}
    assert entry.actor == users["district_officer"] and entry.ip == "192.0.2.40"
    assert entry.region_path == learner.district.path
    summary = AuditEntry.objects.get(action="learner.import")
    assert summary.changes["after"]["new"] == 5
    assert summary.target_id == str(learner_import.pk)


def test_the_same_file_again_changes_nothing(officer):
    content = xlsx(rows(20))
    applied(officer, checked(officer, content))
    before = list(Learner.objects.order_by("pk").values())
    audit_count = AuditEntry.objects.filter(action__startswith="learner.").count()

    again = checked(officer, content)
    assert (again.new_count, again.updated_count, again.unchanged_count) == (0, 0, 20)
    applied(officer, again)
    assert again.state == LearnerImport.State.APPLIED
    assert list(Learner.objects.order_by("pk").values()) == before
    assert (
        not AuditEntry.objects.filter(action__in=["learner.collect", "learner.update"])
        .exclude(
            pk__in=AuditEntry.objects.filter(action__startswith="learner.")
            .order_by("id")[:audit_count]
            .values("pk")
        )
        .exists()
    )
    assert LearnerStatusChange.objects.count() == 20


def test_a_changed_row_updates_the_learner_and_audits_before_and_after(officer):
    people = rows(3)
    applied(officer, checked(officer, xlsx(people)))
    people[1][2] = "13700137000"
    people[1][5], people[1][7] = "高级", 2024
    learner_import = checked(officer, xlsx(people))
    assert (learner_import.updated_count, learner_import.unchanged_count) == (1, 2)
    applied(officer, learner_import)
    learner = learner_find_by_id_number(str(people[1][0]))
    assert (learner.mobile, learner.qualification_level, learner.qualification_year) == (
        "13700137000",
        "senior",
        2024,
    )
    entry = AuditEntry.objects.get(action="learner.update")
    assert entry.changes["after"]["mobile"] == "13700137000"
    assert entry.changes["before"]["qualification_level"] == "junior"
    assert "name" not in entry.changes["after"]


def test_an_optional_column_left_out_of_the_file_leaves_that_field_alone(officer):
    people = rows(2)
    applied(officer, checked(officer, xlsx(people)))
    narrow = [[p[0], p[1], p[2], p[3], p[5], p[7]] for p in people]
    headers = [HEADERS_ZH[i] for i in (0, 1, 2, 3, 5, 7)]
    learner_import = checked(officer, csv_bytes(narrow, headers=headers), "narrow.csv")
    assert learner_import.unchanged_count == 2
    learner = learner_find_by_id_number(str(people[1][0]))
    assert learner.employer_uscc == people[1][4]


def test_nothing_is_written_when_someone_collects_a_person_after_the_check(
    officer, hongshan_officer, regions
):
    people = rows(30)
    learner_import = checked(officer, xlsx(people))
    learner_collect(
        actor=hongshan_officer,
        district=regions["420111"],
        details=LearnerDetails(
            id_number=str(people[17][0]),
            name="王五",
            mobile="13900139001",
            employer_name="洪山某单位",
            qualification_level="none",
        ),
    )
    learner_import_confirm(actor=officer, learner_import=learner_import)
    result = learner_import_apply(
        actor=officer, learner_import=learner_import, progress=no_progress
    )
    assert not result.applied and result.stale_rows == [19]
    learner_import.refresh_from_db()
    assert learner_import.state == LearnerImport.State.STALE
    assert (
        "19" in learner_import.message["en"]
        and "Nothing was imported" in learner_import.message["en"]
    )
    assert Learner.objects.count() == 1  # only Hongshan's own collection
    assert not AuditEntry.objects.filter(action="learner.import").exists()

    learner_import_recheck(actor=officer, learner_import=learner_import)
    learner_import = checked_again(learner_import)
    assert (learner_import.new_count, learner_import.error_count) == (29, 1)
    applied(officer, learner_import)
    assert Learner.objects.count() == 30


def checked_again(learner_import: LearnerImport) -> LearnerImport:
    imports.learner_import_check(learner_import=learner_import, progress=no_progress)
    learner_import.refresh_from_db()
    return learner_import


def test_nothing_is_written_when_a_learner_changes_after_the_check(officer):
    people = rows(3)
    applied(officer, checked(officer, xlsx(people)))
    people[0][2] = "13600136000"
    learner_import = checked(officer, xlsx(people))
    learner = learner_find_by_id_number(str(people[0][0]))
    learner.employer_name = "另一家单位"
    learner.save()
    learner_import_confirm(actor=officer, learner_import=learner_import)
    result = learner_import_apply(
        actor=officer, learner_import=learner_import, progress=no_progress
    )
    assert not result.applied and result.stale_rows == [2]
    learner.refresh_from_db()
    assert learner.mobile != "13600136000"


def test_a_failure_half_way_through_leaves_nothing_written(officer, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_SIZE", 10)
    monkeypatch.setattr(imports, "APPLY_BATCH_SIZE", 10)
    learner_import = checked(officer, xlsx(rows(35)))
    calls = []
    original = imports._Writer.write

    def write_then_fail(self, lines, holders):
        calls.append(len(lines))
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return original(self, lines, holders)

    monkeypatch.setattr(imports._Writer, "write", write_then_fail)
    learner_import_confirm(actor=officer, learner_import=learner_import)
    with pytest.raises(RuntimeError):
        learner_import_apply(actor=officer, learner_import=learner_import, progress=no_progress)
    assert calls == [10, 10, 10]
    assert not Learner.objects.exists()
    assert not LearnerStatusChange.objects.exists()
    assert not AuditEntry.objects.filter(action__in=["learner.collect", "learner.import"]).exists()


def test_confirming_twice_queues_one_apply(officer):
    learner_import = checked(officer, xlsx(rows(2)))
    learner_import_confirm(actor=officer, learner_import=learner_import)
    with translation.override("en"), pytest.raises(ValidationError, match="not waiting"):
        learner_import_confirm(actor=officer, learner_import=learner_import)


def test_an_officer_cannot_import_into_another_district(hongshan_officer, officer):
    from django.core.exceptions import PermissionDenied

    learner_import = checked(officer, xlsx(rows(2)))
    with pytest.raises(PermissionDenied):
        learner_import_confirm(actor=hongshan_officer, learner_import=learner_import)


def _private_root() -> Path:
    return Path(settings.STORAGES["private"]["OPTIONS"]["location"])


def _stored_files() -> list[Path]:
    return [path for path in _private_root().rglob("*") if path.is_file()]


def test_no_plaintext_id_number_is_stored_and_the_files_go_when_applied(
    officer, django_capture_on_commit_callbacks
):
    people = rows(10)
    people[3][1] = "X"  # an error row keeps its masked number only
    learner_import = checked(officer, xlsx(people))
    numbers = [str(person[0]) for person in people]
    plan = _private_root() / learner_import.plan.name
    plan_text = gzip.decompress(plan.read_bytes()).decode()
    for number in numbers:
        assert number not in plan_text and number[:17] not in plan_text
    with django_capture_on_commit_callbacks(execute=True):
        applied(officer, learner_import)
    dump = database_dump()
    assert "********" in dump
    for number in numbers:
        assert number not in dump and number[:17] not in dump
    assert _stored_files() == []  # upload and plan deleted
    assert not learner_import.upload and not learner_import.plan


def test_abandoning_deletes_the_uploaded_file_and_writes_nothing(
    officer, django_capture_on_commit_callbacks
):
    learner_import = checked(officer, xlsx(rows(3)))
    assert len(_stored_files()) == 2
    with django_capture_on_commit_callbacks(execute=True):
        learner_import_abandon(actor=officer, learner_import=learner_import)
    learner_import.refresh_from_db()
    assert learner_import.state == LearnerImport.State.ABANDONED
    assert _stored_files() == []
    assert not Learner.objects.exists()
    assert AuditEntry.objects.filter(action="learner_import.abandon").count() == 1


def test_the_error_file_holds_only_the_bad_rows_with_an_error_column(officer):
    people, bad_rows = _thousand_with_ten_bad()
    learner_import = checked(officer, xlsx(people))
    content = error_rows_xlsx(learner_import)
    sheet = read_sheet(io.BytesIO(content), "xlsx")
    data = list(sheet.rows)
    assert len(data) == 10
    assert [str(v) for v in sheet.header] == [*HEADERS_ZH, "错误"]
    first_bad = people[min(bad_rows) - 2]
    assert data[0][1][0] == first_bad[0]  # the number as uploaded, so it can be corrected
    assert "身份证号" in data[0][1][-1]


def test_the_corrected_error_file_imports_just_those_rows(officer):
    people, bad_rows = _thousand_with_ten_bad()
    applied(officer, checked(officer, xlsx(people)))
    first = checked(officer, xlsx(people))
    content = error_rows_xlsx(first)
    # The officer corrects every bad row from the original data and uploads that file.
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(content))
    sheet = workbook.active
    good = dict(enumerate(rows(1000)))
    for index, number in enumerate(sorted(bad_rows), start=2):
        for column, value in enumerate(good[number - 2], start=1):
            sheet.cell(row=index, column=column, value=value)
    out = io.BytesIO()
    workbook.save(out)
    fixed = checked(officer, out.getvalue(), "fixed.xlsx")
    assert (fixed.total_rows, fixed.new_count, fixed.error_count) == (10, 10, 0)
    applied(officer, fixed)
    assert Learner.objects.count() == 1000


def test_imports_left_unconfirmed_for_a_week_are_abandoned_with_their_files(
    officer, system_actor, django_capture_on_commit_callbacks
):
    learner_import = checked(officer, xlsx(rows(2)))
    now = timezone.now()
    assert learner_imports_expire(actor=system_actor, now=now + timedelta(days=6)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert learner_imports_expire(actor=system_actor, now=now + timedelta(days=8)) == 1
    learner_import.refresh_from_db()
    assert learner_import.state == LearnerImport.State.ABANDONED and not learner_import.upload
    assert _stored_files() == []


def test_an_import_whose_worker_died_is_abandoned_after_a_week_too(
    officer, system_actor, django_capture_on_commit_callbacks
):
    learner_import = checked(officer, xlsx(rows(2)))
    # Checked again, and the worker killed mid-way: the import still says checking, its job
    # says running and has been silent for longer than the housekeeping waits.
    LearnerImport.objects.filter(pk=learner_import.pk).update(state=LearnerImport.State.CHECKING)
    Job.objects.filter(pk=learner_import.job_id).update(state=Job.State.RUNNING)
    Job.objects.filter(pk=learner_import.job_id).update(
        updated_at=timezone.now() - timedelta(hours=2)
    )
    jobs_housekeep()
    later = timezone.now() + timedelta(days=8)
    with django_capture_on_commit_callbacks(execute=True):
        assert learner_imports_expire(actor=system_actor, now=later) == 1
    learner_import.refresh_from_db()
    assert learner_import.state == LearnerImport.State.ABANDONED and not learner_import.upload
    assert _stored_files() == []


def _outcome(learner_import: LearnerImport) -> tuple:
    plan = [
        {key: value for key, value in line.items() if key not in ("encrypted", "cells")}
        for line in imports._plan_lines(learner_import)
    ]
    errors = list(learner_import.row_errors.values_list("row_number", "name", "messages"))
    counts = (learner_import.new_count, learner_import.unchanged_count, learner_import.error_count)
    return plan, errors, counts


def test_a_large_file_checked_by_several_processes_gives_what_one_process_gives(
    officer, monkeypatch
):
    people, _bad = _thousand_with_ten_bad()
    people.append(list(people[5]))  # the same person twice, across the batches
    content = csv_bytes(people)
    monkeypatch.setattr(imports, "BATCH_SIZE", 100)
    alone = checked(officer, content, "people.csv")
    monkeypatch.setattr(imports, "PARALLEL_FROM_ROWS", 0)
    monkeypatch.setattr(imports, "MAX_CHECKING_PROCESSES", 2)
    monkeypatch.setattr(imports.os, "sched_getaffinity", lambda pid: {0, 1})
    shared = checked(officer, content, "people.csv")
    assert _outcome(shared) == _outcome(alone)
    assert shared.error_count == 11 and shared.new_count == 990
    applied(officer, shared)
    assert Learner.objects.count() == 990


def test_the_error_file_comes_from_the_rows_kept_at_the_check_not_the_upload(officer):
    people, bad_rows = _thousand_with_ten_bad()
    learner_import = checked(officer, xlsx(people))
    learner_import.upload.storage.delete(learner_import.upload.name)  # not read again
    sheet = read_sheet(io.BytesIO(error_rows_xlsx(learner_import)), "xlsx")
    data = list(sheet.rows)
    assert [number for number, _values in data] == list(range(2, 12))
    assert data[0][1][0] == people[min(bad_rows) - 2][0]
