"""The import pages: upload, the preview with its errors, the error file, confirm; and the
background jobs that check and apply, with their progress."""

from __future__ import annotations

import io
import re

from django.utils import translation

from cpe.core.models import AuditEntry, Job
from cpe.registry import imports
from cpe.registry.imports import IMPORT_APPLY, IMPORT_CHECK, read_sheet
from cpe.registry.models import Learner, LearnerImport
from cpe.registry.tests.conftest import csv_bytes, rows, upload, xlsx


def _upload(client, content: bytes, name: str = "people.xlsx"):
    return client.post("/staff/imports/", {"file": upload(content, name)})


def _people_with_two_bad() -> list[list[object]]:
    people = rows(60)
    people[4][2] = "12345"
    people[40][1] = "Smith"
    return people


def test_an_officer_uploads_previews_downloads_the_errors_and_confirms(
    users, client_for, django_capture_on_commit_callbacks
):
    client = client_for(users["district_officer"])
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, xlsx(_people_with_two_bad()))
    learner_import = LearnerImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/staff/imports/{learner_import.pk}/"

    page = client.get(response["Location"]).content.decode()
    assert learner_import.get_state_display() in page or "等待确认" in page
    assert re.search(r'data-count="new">58<', page)
    assert re.search(r'data-count="errors">2<', page)
    assert 'data-row="6"' in page and 'data-row="42"' in page
    assert "手机号" in page  # the column named in Chinese

    download = client.get(f"/staff/imports/{learner_import.pk}/errors.xlsx")
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    sheet = read_sheet(io.BytesIO(b"".join(download.streaming_content)), "xlsx")
    assert [number for number, _values in sheet.rows] == [2, 3]  # rows of the error file
    assert AuditEntry.objects.filter(action="learner_import.download_errors").count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(f"/staff/imports/{learner_import.pk}/confirm/")
    assert confirmed.status_code == 302
    learner_import.refresh_from_db()
    assert learner_import.state == LearnerImport.State.APPLIED
    assert Learner.objects.count() == 58
    assert not learner_import.upload
    page = client.get(f"/staff/imports/{learner_import.pk}/").content.decode()
    assert "errors.xlsx" not in page and "/confirm/" not in page


def test_the_check_and_the_apply_run_as_jobs_that_report_their_progress(
    users, client_for, django_capture_on_commit_callbacks
):
    client = client_for(users["district_officer"])
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, csv_bytes(rows(25)), "people.csv")
    learner_import = LearnerImport.objects.get()
    check = Job.objects.get(kind=IMPORT_CHECK)
    assert check.state == Job.State.SUCCEEDED
    assert (check.progress_done, check.progress_total) == (25, 25)
    assert check.result["new"] == 25 and check.result["import"] == str(learner_import.pk)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/staff/imports/{learner_import.pk}/confirm/")
    apply = Job.objects.get(kind=IMPORT_APPLY)
    assert apply.state == Job.State.SUCCEEDED and apply.percent == 100
    assert apply.result["created"] == 25
    assert apply.created_by == users["district_officer"]


def test_a_page_of_a_running_import_shows_the_progress_bar_and_refreshes(users, client_for):
    client = client_for(users["district_officer"])
    _upload(client, xlsx(rows(3)))  # the job stays queued: no commit in this test
    learner_import = LearnerImport.objects.get()
    page = client.get(f"/staff/imports/{learner_import.pk}/").content.decode()
    assert f'data-job-progress="{learner_import.job_id}"' in page
    assert 'http-equiv="refresh"' in page


def test_a_refused_file_shows_the_reason_on_the_import_page(
    users, client_for, django_capture_on_commit_callbacks
):
    client = client_for(users["district_officer"])
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, csv_bytes([["张三"]], headers=["姓名"]), "people.csv")
    learner_import = LearnerImport.objects.get()
    assert learner_import.state == LearnerImport.State.REFUSED
    assert Job.objects.get(kind=IMPORT_CHECK).state == Job.State.FAILED
    page = client.get(f"/staff/imports/{learner_import.pk}/").content.decode()
    assert "身份证号" in page and 'role="alert"' in page
    assert "/confirm/" not in page and "/abandon/" in page


def test_a_file_of_the_wrong_type_is_refused_on_the_upload_page(users, client_for):
    client = client_for(users["district_officer"])
    response = _upload(client, b"%PDF-1.7", "people.pdf")
    assert response.status_code == 200
    assert ".xlsx" in response.content.decode()
    assert not LearnerImport.objects.exists()


def test_an_oversized_request_is_refused_before_its_file_is_read(users, client_for):
    client = client_for(users["district_officer"])
    big = b"a" * (imports.MAX_UPLOAD_BYTES + 2 * 1024 * 1024)
    response = _upload(client, big, "people.csv")
    assert response.status_code == 200
    assert "20 MB" in response.content.decode()
    assert not LearnerImport.objects.exists()


def test_error_messages_follow_the_officers_language(
    users, client_for, django_capture_on_commit_callbacks
):
    client = client_for(users["district_officer"])
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, xlsx(_people_with_two_bad()))
    learner_import = LearnerImport.objects.get()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get(f"/staff/imports/{learner_import.pk}/").content.decode()
    assert "A mobile number has 11 digits and starts with 13 to 19." in page
    assert "Mobile number" in page
    with translation.override("zh-hans"):
        client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    page = client.get(f"/staff/imports/{learner_import.pk}/").content.decode()
    assert "A mobile number has 11 digits" not in page


def test_abandoning_from_the_page_deletes_the_file(
    users, client_for, django_capture_on_commit_callbacks
):
    client = client_for(users["district_officer"])
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, xlsx(rows(3)))
    learner_import = LearnerImport.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/staff/imports/{learner_import.pk}/abandon/")
    learner_import.refresh_from_db()
    assert learner_import.state == LearnerImport.State.ABANDONED and not learner_import.upload
    assert client.get(f"/staff/imports/{learner_import.pk}/errors.xlsx").status_code == 404


def test_the_templates_download_as_attachments(users, client_for):
    client = client_for(users["district_officer"])
    xlsx_response = client.get("/staff/imports/template.xlsx")
    assert xlsx_response.status_code == 200
    assert "attachment" in xlsx_response["Content-Disposition"]
    csv_response = client.get("/staff/imports/template.csv")
    assert b"".join(csv_response.streaming_content).startswith("\ufeff身份证号".encode())
    assert client.get("/staff/imports/template.pdf").status_code == 404


def test_the_staff_home_shows_the_import_tile_to_officers_only(users, client_for):
    officer_home = client_for(users["district_officer"]).get("/staff/").content.decode()
    assert "/staff/imports/" in officer_home
    auditor_home = client_for(users["auditor"]).get("/staff/").content.decode()
    assert "/staff/imports/" not in auditor_home


def test_the_list_shows_only_the_districts_own_imports(
    users, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client_for(users["officer_elsewhere"]), xlsx(rows(2)), "hongshan.xlsx")
        _upload(client_for(users["district_officer"]), xlsx(rows(2, start=5)), "jiangan.xlsx")
    page = client_for(users["district_officer"]).get("/staff/imports/").content.decode()
    assert "jiangan.xlsx" in page and "hongshan.xlsx" not in page
