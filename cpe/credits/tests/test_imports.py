"""Officers record credits directly: one learner on a page, or many from an XLSX or CSV file
checked row by row, recorded all or nothing, and idempotent."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from cpe.core.models import AuditEntry, Job
from cpe.core.services import Actor, jobs_housekeep
from cpe.credits import imports
from cpe.credits.models import CreditEntry, CreditImport, YearStatus
from cpe.credits.registration import credit_record_direct
from cpe.learning.testing import collected_learner
from cpe.registry.imports import read_sheet
from cpe.registry.testing import make_id_number

pytestmark = pytest.mark.django_db
THIS_YEAR = timezone.localdate().year
HEADER = [
    "身份证号",
    "姓名",
    "年度",
    "学分类型",
    "科目类别",
    "学分",
    "凭证编号",
    "证明材料",
    "备注",
]
EVIDENCE = "鄂财会〔2026〕12号"


@pytest.fixture(autouse=True)
def _jobs_run_at_commit(django_capture_on_commit_callbacks, monkeypatch):
    """The check and the recording are jobs queued at commit: run them when the call ends."""
    global _commit
    _commit = django_capture_on_commit_callbacks


_commit = None


def committed(call, *args, **kwargs):
    with _commit(execute=True):
        return call(*args, **kwargs)


@pytest.fixture
def people(regions):
    return [collected_learner(district=regions["420102"], sequence=n) for n in (21, 22, 23)]


def xlsx(rows: list[list]) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list], encoding: str = "gb18030") -> bytes:
    lines = [",".join(HEADER)] + [",".join(str(v) for v in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def exam_row(learner, credits=90, reference="2026会计考试合格名单", evidence=EVIDENCE) -> list:
    return [
        learner.reveal_id_number(),
        learner.name,
        THIS_YEAR,
        "考试",
        "专业科目",
        credits,
        reference,
        evidence,
        "",
    ]


def upload(users, content: bytes, name: str = "credits.xlsx") -> CreditImport:
    credit_import = committed(
        imports.credit_import_start,
        actor=Actor(user=users["district_officer"]),
        district=users["district_officer"].region,
        upload=SimpleUploadedFile(name, content),
    )
    credit_import.refresh_from_db()
    return credit_import


def confirm(users, credit_import: CreditImport, **kwargs) -> CreditImport:
    committed(
        imports.credit_import_confirm,
        actor=Actor(user=users["district_officer"]),
        credit_import=credit_import,
        **kwargs,
    )
    credit_import.refresh_from_db()
    return credit_import


def test_a_checked_file_is_recorded_in_one_job_and_the_same_file_again_adds_nothing(people, users):
    content = xlsx([exam_row(person) for person in people])
    first = upload(users, content)
    assert (first.state, first.new_count, first.error_count) == ("checked", 3, 0)
    assert CreditEntry.objects.count() == 0  # nothing before the officer confirms
    assert confirm(users, first).state == "applied"
    entries = CreditEntry.objects.filter(source="exam")
    assert entries.count() == 3 and {e.recorded_by for e in entries} == {users["district_officer"]}
    assert {e.evidence for e in entries} == {EVIDENCE}
    assert not first.upload  # the file with ID numbers is gone
    again = upload(users, content)
    assert (again.new_count, again.unchanged_count) == (0, 3)
    confirm(users, again)
    assert CreditEntry.objects.count() == 3


def test_a_csv_in_gb18030_reads_as_well(people, users):
    credit_import = upload(users, csv_bytes([exam_row(people[0])]), name="名单.csv")
    assert (credit_import.file_format, credit_import.new_count) == ("csv", 1)


def test_each_bad_row_gets_its_errors_by_column_in_each_language(people, users, regions):
    stranger = collected_learner(district=regions["420111"], sequence=24)
    rows = [
        exam_row(people[0]),
        [
            people[1].reveal_id_number(),
            "别人",
            THIS_YEAR,
            "考试",
            "专业科目",
            90,
            "名单",
            EVIDENCE,
            "",
        ],
        exam_row(stranger),
        [
            people[2].reveal_id_number(),
            people[2].name,
            THIS_YEAR + 1,
            "考试",
            "",
            -5,
            "",
            EVIDENCE,
            "",
        ],
        [
            make_id_number("420102", sequence=99)[:-1] + "0",
            "谁",
            THIS_YEAR,
            "未知",
            "",
            9,
            "x",
            EVIDENCE,
            "",
        ],
        exam_row(people[0]),
    ]
    credit_import = upload(users, xlsx(rows))
    assert (credit_import.new_count, credit_import.error_count) == (1, 5)
    by_row = {row["row"]: row["errors"] for row in credit_import.error_rows}
    assert set(by_row[3]) == {"name"}
    assert set(by_row[4]["id_number"]) == {"zh-hans", "en"}
    assert "district" in by_row[4]["id_number"]["en"][0]
    assert {"year", "credits", "reference"} <= set(by_row[5])
    assert {"id_number", "kind"} <= set(by_row[6])
    assert "row 2" in by_row[7]["reference"]["en"][0]
    assert "*" in credit_import.error_rows[0]["id_number"]  # masked, never in plain text


def test_a_file_with_bad_rows_records_nothing_unless_the_officer_takes_the_valid_rows(
    people, users
):
    rows = [
        exam_row(people[0]),
        [people[1].reveal_id_number(), "别人", THIS_YEAR, "考试", "", 90, "x", EVIDENCE, ""],
    ]
    credit_import = upload(users, xlsx(rows))
    with pytest.raises(ValidationError):
        confirm(users, credit_import)
    assert CreditEntry.objects.count() == 0
    assert confirm(users, credit_import, valid_rows_only=True).state == "applied"
    assert CreditEntry.objects.get().learner == people[0]


def test_the_table_limits_a_kinds_credits_and_a_source_needs_a_category(people, users):
    rows = [
        [
            people[0].reveal_id_number(),
            people[0].name,
            THIS_YEAR,
            "paper_sole",
            "",
            45,
            "论文",
            EVIDENCE,
            "",
        ],
        [
            people[1].reveal_id_number(),
            people[1].name,
            THIS_YEAR,
            "面授培训",
            "",
            12,
            "面授",
            EVIDENCE,
            "",
        ],
        [
            people[2].reveal_id_number(),
            people[2].name,
            THIS_YEAR,
            "面授培训",
            "公需科目",
            12,
            "面授",
            EVIDENCE,
            "",
        ],
    ]
    credit_import = upload(users, xlsx(rows))
    by_row = {row["row"]: row["errors"] for row in credit_import.error_rows}
    assert set(by_row) == {2, 3}
    assert "credits" in by_row[2] and "category" in by_row[3]


def test_the_error_file_holds_the_bad_rows_as_uploaded_with_an_error_column(people, users):
    rows = [
        exam_row(people[0]),
        [people[1].reveal_id_number(), "别人", THIS_YEAR, "考试", "", 90, "x", EVIDENCE, ""],
    ]
    credit_import = upload(users, xlsx(rows))
    content = imports.error_rows_xlsx(credit_import)
    sheet = read_sheet(io.BytesIO(content), "xlsx", imports.COLUMNS)
    assert sheet.header[-1] == "错误"
    bad = list(sheet.rows)
    assert len(bad) == 1 and bad[0][1][1] == "别人" and "姓名" in bad[0][1][-1]


def test_a_row_refused_at_recording_leaves_nothing_half_written(people, users):
    credit_import = upload(users, xlsx([exam_row(people[0]), exam_row(people[1])]))
    # Between the check and the recording, the second learner's plan line is made invalid.
    plan = credit_import.plan
    plan[1]["credits"] = "900"
    CreditImport.objects.filter(pk=credit_import.pk).update(plan=plan)
    credit_import.refresh_from_db()
    confirm(users, credit_import)
    credit_import.refresh_from_db()
    assert credit_import.state == "checked" and "3" in credit_import.message
    assert CreditEntry.objects.count() == 0


def test_an_unreadable_file_is_refused_with_the_reason(users):
    with pytest.raises(ValidationError) as refused:
        upload(users, b"not a workbook", name="x.xlsx")
    assert "file" in refused.value.message_dict
    credit_import = upload(users, "姓名,学分\r\n".encode(), name="x.csv")
    assert credit_import.state == "refused" and "身份证号" in credit_import.message


def test_an_officer_records_one_learners_credits_once(people, users):
    actor = Actor(user=users["district_officer"])
    entry = credit_record_direct(
        actor=actor,
        learner=people[0],
        year=THIS_YEAR,
        kind="professional_meeting",
        credits="20",
        reference="湖北省会计学会年会",
        evidence="鄂会学〔2026〕3号会议通知",
    )
    assert (entry.source, entry.category, entry.credits) == (
        "professional_meeting",
        "professional",
        20,
    )
    assert AuditEntry.objects.filter(action="credit.record").count() == 1
    with pytest.raises(ValidationError) as again:
        credit_record_direct(
            actor=actor,
            learner=people[0],
            year=THIS_YEAR,
            kind="professional_meeting",
            credits="20",
            reference="湖北省会计学会年会",
            evidence="鄂会学〔2026〕3号会议通知",
        )
    assert str(entry.pk) in again.value.message_dict["reference"][0]
    with pytest.raises(ValidationError) as bad:
        credit_record_direct(
            actor=actor,
            learner=people[1],
            year=THIS_YEAR,
            source="other",
            credits="-3",
            reference="",
        )
    assert {"credits", "category", "reference"} <= set(bad.value.message_dict)
    assert CreditEntry.objects.count() == 1


def test_the_record_page_finds_the_learner_by_id_number_in_the_district_only(
    people, users, regions, client_for
):
    officer = client_for(users["district_officer"])
    stranger = collected_learner(district=regions["420111"], sequence=25)
    data = {
        "year": THIS_YEAR,
        "kind": "source:face_to_face",
        "category": "public",
        "credits": "6",
        "reference": "面授-1",
        "evidence": "培训签到表 2026-03",
    }
    refused = officer.post(
        "/staff/credits/record/", data | {"id_number": stranger.reveal_id_number()}
    )
    assert refused.status_code == 422 and CreditEntry.objects.count() == 0
    done = officer.post(
        "/staff/credits/record/", data | {"id_number": people[0].reveal_id_number()}
    )
    assert done.status_code == 302
    assert CreditEntry.objects.get().learner == people[0]


def test_the_import_pages_upload_show_the_errors_and_confirm(people, users, client_for):
    officer = client_for(users["district_officer"])
    template = officer.get("/staff/credits/imports/template.xlsx")
    assert template.status_code == 200
    header = read_sheet(io.BytesIO(b"".join(template.streaming_content)), "xlsx", imports.COLUMNS)
    assert len(header.columns) == len(imports.COLUMNS)
    rows = [
        exam_row(people[0]),
        [people[1].reveal_id_number(), "别人", THIS_YEAR, "考试", "", 90, "x", EVIDENCE, ""],
    ]
    response = committed(
        officer.post, "/staff/credits/imports/", {"file": SimpleUploadedFile("c.xlsx", xlsx(rows))}
    )
    assert response.status_code == 302
    page = officer.get(response["Location"]).content.decode()
    assert 'data-row="3"' in page and 'data-action="confirm-valid"' in page
    errors = officer.get(response["Location"] + "errors.xlsx")
    assert errors.status_code == 200
    committed(officer.post, response["Location"] + "confirm/", {"valid_rows_only": "1"})
    assert CreditEntry.objects.count() == 1
    other = client_for(users["officer_elsewhere"])
    assert other.get(response["Location"]).status_code == 404


def test_checking_costs_the_same_queries_for_ten_rows_or_sixty(regions, users):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    learners = [collected_learner(district=regions["420102"], sequence=n) for n in range(50, 110)]

    def queries_for(count: int) -> int:
        credit_import = CreditImport.objects.create(
            district=regions["420102"], file_name="x.xlsx", file_format="xlsx"
        )
        content = xlsx(
            [exam_row(learner, reference=f"名单{count}") for learner in learners[:count]]
        )
        credit_import.upload.save("upload", SimpleUploadedFile("x.xlsx", content), save=True)
        with CaptureQueriesContext(connection) as captured:
            checked = imports.credit_import_check(
                credit_import=credit_import, progress=lambda *a, **k: None
            )
        assert checked.new_count == count
        return len(captured)

    assert queries_for(60) == queries_for(10)


def test_a_check_that_fails_unexpectedly_stops_the_import_and_the_officer_checks_it_again(
    people, users, client_for, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("disk gone")

    with monkeypatch.context() as patched:
        patched.setattr(imports, "read_sheet", broken)
        credit_import = upload(users, xlsx([exam_row(people[0])]))
    assert credit_import.state == "failed"
    assert credit_import.job.refresh_from_db() is None and credit_import.job.state == "failed"
    officer = client_for(users["district_officer"])
    url = f"/staff/credits/imports/{credit_import.pk}/"
    page = officer.get(url).content.decode()
    assert 'data-import-state="failed"' in page and "检查未完成即停止" in page
    assert 'data-action="recheck"' in page and 'data-action="abandon"' in page
    assert 'data-action="confirm"' not in page and 'http-equiv="refresh"' not in page

    assert committed(officer.post, url + "recheck/").status_code == 302
    credit_import.refresh_from_db()
    assert (credit_import.state, credit_import.new_count) == ("checked", 1)
    assert AuditEntry.objects.filter(action="credit_import.recheck").count() == 1


def test_an_unexpected_error_while_recording_writes_nothing_and_stops_the_import(
    people, users, monkeypatch
):
    credit_import = upload(users, xlsx([exam_row(people[0]), exam_row(people[1])]))
    real_record = imports.credit_record
    calls = []

    def record_then_break(**kwargs):
        calls.append(kwargs["learner"])
        if len(calls) == 2:
            raise RuntimeError("connection lost")
        return real_record(**kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(imports, "credit_record", record_then_break)
        credit_import = confirm(users, credit_import)
    assert len(calls) == 2  # the first row was written before the error, then rolled back
    assert credit_import.state == "failed" and credit_import.upload
    assert CreditEntry.objects.count() == 0
    assert not YearStatus.objects.filter(learner__in=people).exists()
    assert not AuditEntry.objects.filter(action__in=["credit.record", "credit_import.apply"])
    assert credit_import.job.state == "failed" and "connection lost" in credit_import.job.error
    with translation.override("en"):
        assert "Nothing was recorded" in imports.credit_import_message(credit_import)

    credit_import = committed(
        imports.credit_import_recheck,
        actor=Actor(user=users["district_officer"]),
        credit_import=credit_import,
    )
    credit_import.refresh_from_db()
    assert (credit_import.state, credit_import.new_count) == ("checked", 2)
    assert confirm(users, credit_import).state == "applied"
    assert CreditEntry.objects.count() == 2


def _worker_dies(job) -> None:
    """As the queue leaves a job whose worker was killed mid-way: running, and silent for
    longer than the housekeeping waits."""
    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING)
    Job.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(hours=2))


def test_a_recording_whose_worker_died_can_be_checked_again_or_abandoned_after_housekeeping(
    people, users, client_for
):
    credit_import = upload(users, xlsx([exam_row(people[0])]))
    officer_actor = Actor(user=users["district_officer"])
    # Confirmed, but the recording's job is never run to its end.
    imports.credit_import_confirm(actor=officer_actor, credit_import=credit_import)
    credit_import.refresh_from_db()
    _worker_dies(credit_import.job)
    officer = client_for(users["district_officer"])
    url = f"/staff/credits/imports/{credit_import.pk}/"
    page = officer.get(url).content.decode()
    assert 'http-equiv="refresh"' in page and 'data-action="abandon"' not in page
    with pytest.raises(ValidationError):
        imports.credit_import_abandon(actor=officer_actor, credit_import=credit_import)

    assert jobs_housekeep()["stalled"] == 1
    page = officer.get(url).content.decode()
    assert 'data-import-state="failed"' in page and 'http-equiv="refresh"' not in page
    assert "记录未完成即停止" in page and "没有记录任何学分" in page
    assert 'data-action="recheck"' in page and 'data-action="abandon"' in page
    listed = officer.get("/staff/credits/imports/").content.decode()
    assert 'data-state="failed"' in listed

    committed(officer.post, url + "abandon/")
    credit_import.refresh_from_db()
    assert credit_import.state == "abandoned" and not credit_import.upload
    audit = AuditEntry.objects.get(action="credit_import.abandon")
    assert audit.changes["after"]["from_state"] == "failed"
    assert CreditEntry.objects.count() == 0


def _uploaded_unchecked(people, users) -> CreditImport:
    """A one-row file uploaded, its check's job queued and left alone."""
    return imports.credit_import_start(
        actor=Actor(user=users["district_officer"]),
        district=users["district_officer"].region,
        upload=SimpleUploadedFile("credits.xlsx", xlsx([exam_row(people[0])])),
    )


def test_a_check_whose_worker_died_is_checked_again_after_housekeeping(people, users):
    officer = Actor(user=users["district_officer"])
    credit_import = _uploaded_unchecked(people, users)  # its check never run to its end
    _worker_dies(credit_import.job)
    assert not imports.credit_import_stopped(credit_import)
    jobs_housekeep()
    credit_import.refresh_from_db()
    assert credit_import.state == "checking"  # as left; read with its failed job:
    assert imports.credit_import_state(credit_import)[0] == "failed"
    assert imports.credit_import_may_be_checked_again(credit_import)
    committed(imports.credit_import_recheck, actor=officer, credit_import=credit_import)
    credit_import.refresh_from_db()
    assert (credit_import.state, credit_import.new_count) == ("checked", 1)
    assert credit_import.job.state == "succeeded"


def test_a_file_named_after_an_id_number_is_kept_under_a_masked_name(people, users):
    number = make_id_number(sequence=321)
    credit_import = upload(users, xlsx([exam_row(people[0])]), name=f"考试合格名单{number}.xlsx")
    assert credit_import.file_name == f"考试合格名单{number[:6]}********{number[-4:]}.xlsx"


def test_a_check_the_queue_lost_is_checked_again_after_a_day(people, users):
    officer = Actor(user=users["district_officer"])
    # Its check's message never reaches a worker (the queue was flushed).
    credit_import = _uploaded_unchecked(people, users)
    Job.objects.filter(pk=credit_import.job.pk).update(
        created_at=timezone.now() - timedelta(days=1, minutes=1)
    )
    jobs_housekeep()
    credit_import.refresh_from_db()
    assert imports.credit_import_state(credit_import)[0] == "failed"
    committed(imports.credit_import_recheck, actor=officer, credit_import=credit_import)
    credit_import.refresh_from_db()
    assert (credit_import.state, credit_import.new_count) == ("checked", 1)


def test_an_import_recorded_before_its_worker_died_stays_recorded(people, users):
    credit_import = confirm(users, upload(users, xlsx([exam_row(people[0])])))
    Job.objects.filter(pk=credit_import.job_id).update(state=Job.State.FAILED)
    credit_import.refresh_from_db()
    assert not imports.credit_import_stopped(credit_import)
    with pytest.raises(ValidationError):
        imports.credit_import_recheck(
            actor=Actor(user=users["district_officer"]), credit_import=credit_import
        )
    assert imports.credit_import_state(credit_import)[0] == "applied"


def test_an_import_row_for_credits_recorded_directly_under_another_spelling_adds_nothing(
    people, users
):
    credit_record_direct(
        actor=Actor(user=users["district_officer"]),
        learner=people[0],
        year=THIS_YEAR,
        kind="exam_subject",
        credits="90",
        reference="z2024-0001",
        evidence=EVIDENCE,
    )
    checked = upload(
        users, xlsx([exam_row(people[0], reference="Ｚ2024 - 0001".replace(" - ", "-"))])
    )
    assert (checked.new_count, checked.unchanged_count) == (0, 1)
    confirm(users, checked)
    assert CreditEntry.objects.count() == 1


def test_a_row_without_evidence_is_refused_where_the_table_requires_it(people, users):
    rows = [exam_row(people[0]), exam_row(people[1], evidence="")]
    credit_import = upload(users, xlsx(rows))
    assert (credit_import.new_count, credit_import.error_count) == (1, 1)
    errors = credit_import.error_rows[0]["errors"]
    assert set(errors) == {"evidence"}
    assert "conversion table requires evidence" in errors["evidence"]["en"][0]


def test_a_file_without_the_evidence_column_still_reads_but_its_rows_need_evidence(people, users):
    header = [name for name in HEADER if name != "证明材料"]
    lines = [",".join(header)] + [
        ",".join(str(v) for v in (row[:7] + row[8:])) for row in [exam_row(people[0])]
    ]
    credit_import = upload(users, ("\r\n".join(lines) + "\r\n").encode(), name="旧模板.csv")
    assert credit_import.state == "checked" and credit_import.error_count == 1
    assert set(credit_import.error_rows[0]["errors"]) == {"evidence"}


# --- Imports left unconfirmed -------------------------------------------------------------

SYSTEM = Actor.for_system("test")


def _left_for(credit_import: CreditImport, days: int) -> None:
    CreditImport.objects.filter(pk=credit_import.pk).update(
        updated_at=timezone.now() - timedelta(days=days)
    )


def _stored(credit_import: CreditImport) -> bool:
    return credit_import.upload.storage.exists(credit_import.upload.name)


def test_an_import_left_unconfirmed_for_a_week_is_abandoned_and_its_file_deleted(
    people, users, client_for
):
    credit_import = upload(users, xlsx([exam_row(people[0])]))
    assert credit_import.state == "checked" and _stored(credit_import)
    now = timezone.now()
    assert committed(imports.credit_imports_expire, actor=SYSTEM, now=now + timedelta(days=6)) == 0
    assert committed(imports.credit_imports_expire, actor=SYSTEM, now=now + timedelta(days=8)) == 1
    expired = CreditImport.objects.get(pk=credit_import.pk)
    assert (expired.state, expired.upload.name, expired.plan) == ("abandoned", "", [])
    assert not _stored(credit_import)
    audit = AuditEntry.objects.get(action="credit_import.abandon")
    assert (audit.actor_label, audit.reason) == (SYSTEM.label, "unconfirmed for 7 days")
    assert audit.changes["after"] == {"file": "credits.xlsx", "from_state": "checked"}
    assert CreditEntry.objects.count() == 0

    officer = client_for(users["district_officer"])
    listed = officer.get("/staff/credits/imports/").content.decode()
    assert 'data-state="abandoned"' in listed and "7 天内未记录" in listed
    page = officer.get(f"/staff/credits/imports/{credit_import.pk}/").content.decode()
    assert 'data-import-state="abandoned"' in page and "没有记录任何学分，文件已删除" in page
    assert 'data-action="confirm"' not in page and 'data-action="recheck"' not in page


def test_failed_and_stopped_imports_are_abandoned_after_a_week_too(people, users, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk gone")

    with monkeypatch.context() as patched:
        patched.setattr(imports, "read_sheet", broken)
        failed = upload(users, xlsx([exam_row(people[0])]))
    assert failed.state == "failed" and _stored(failed)
    # Confirmed, and the recording's worker died: read as stopped after the housekeeping.
    stopped = upload(users, xlsx([exam_row(people[1])]))
    officer = Actor(user=users["district_officer"])
    imports.credit_import_confirm(actor=officer, credit_import=stopped)
    stopped.refresh_from_db()
    _worker_dies(stopped.job)
    jobs_housekeep()
    for credit_import in (failed, stopped):
        _left_for(credit_import, days=8)

    assert committed(imports.credit_imports_expire, actor=SYSTEM) == 2
    for credit_import in (failed, stopped):
        assert CreditImport.objects.get(pk=credit_import.pk).state == "abandoned"
        assert not _stored(credit_import)
    audits = AuditEntry.objects.filter(action="credit_import.abandon")
    assert [audit.changes["after"]["from_state"] for audit in audits] == ["failed", "failed"]


def test_recent_recorded_and_recording_imports_are_left_alone(people, users):
    officer = Actor(user=users["district_officer"])
    recent = upload(users, xlsx([exam_row(people[0])]))
    recorded = confirm(users, upload(users, xlsx([exam_row(people[1])])))
    # Its job queued and running, never finished here.
    recording = upload(users, xlsx([exam_row(people[2])]))
    imports.credit_import_confirm(actor=officer, credit_import=recording)
    recording.refresh_from_db()
    Job.objects.filter(pk=recording.job_id).update(state=Job.State.RUNNING)
    # Uploaded long ago, but checked again today: a week from now.
    rechecked = upload(users, xlsx([exam_row(people[0], reference="另一份名单")]))
    _left_for(rechecked, days=30)
    committed(imports.credit_import_recheck, actor=officer, credit_import=rechecked)
    for credit_import in (recorded, recording):
        _left_for(credit_import, days=30)

    assert committed(imports.credit_imports_expire, actor=SYSTEM) == 0
    states = dict(CreditImport.objects.values_list("pk", "state"))
    assert [states[i.pk] for i in (recent, recorded, recording, rechecked)] == [
        "checked",
        "applied",
        "applying",
        "checked",
    ]
    assert _stored(recent) and _stored(recording) and _stored(rechecked)
    assert not AuditEntry.objects.filter(action="credit_import.abandon").exists()


def test_the_nightly_task_abandons_the_imports_left_unconfirmed(people, users):
    from cpe.credits.jobs import expire_credit_imports

    credit_import = upload(users, xlsx([exam_row(people[0])]))
    _left_for(credit_import, days=8)
    with _commit(execute=True):
        expire_credit_imports.call_local()
    assert CreditImport.objects.get(pk=credit_import.pk).state == "abandoned"
    assert not _stored(credit_import)
