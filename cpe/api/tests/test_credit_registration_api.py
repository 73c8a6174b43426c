"""The credit registration API: the same services and answers as the pages."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from cpe.accounts.roles import Role
from cpe.core.models import AuditEntry, Job
from cpe.core.services import jobs_housekeep
from cpe.credits.models import CreditApplication, CreditEntry, CreditImport, YearStatus
from cpe.credits.testing import EXAM_DETAILS, apply_for_credits, evidence_file
from cpe.learning.testing import collected_learner

pytestmark = pytest.mark.django_db
THIS_YEAR = timezone.localdate().year


@pytest.fixture
def applicant(regions, make_user):
    user = make_user(Role.LEARNER, "420102")
    return collected_learner(district=regions["420102"], sequence=31, user=user)


def test_a_learner_reads_the_table_applies_with_a_file_and_withdraws(applicant, client_for):
    client = client_for(applicant.user)
    table = client.get("/api/v1/learner/credit-conversion").json()
    exam = next(rule for rule in table["rules"] if rule["kind"] == "exam_subject")
    assert float(exam["credits_per_unit"]) == 90 and exam["evidence_required"]
    missing = client.post(
        "/api/v1/learner/credit-applications",
        {"year": THIS_YEAR, "kind": "exam_subject", "details": json.dumps(EXAM_DETAILS)},
    )
    assert missing.status_code == 422 and "evidence" in missing.json()["fields"]
    created = client.post(
        "/api/v1/learner/credit-applications",
        {
            "year": THIS_YEAR,
            "kind": "exam_subject",
            "details": json.dumps(EXAM_DETAILS),
            "evidence": evidence_file(),
        },
    )
    assert created.status_code == 201, created.json()
    assert created.json()["state"] == "pending"
    listed = client.get("/api/v1/learner/credit-applications").json()
    assert [a["id"] for a in listed] == [created.json()["id"]]
    withdrawn = client.post(f"/api/v1/learner/credit-applications/{created.json()['id']}/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"


def test_the_officer_approves_through_the_api_and_a_second_approval_is_refused(
    applicant, users, client_for
):
    application = apply_for_credits(applicant)
    officer = client_for(users["district_officer"])
    queue = officer.get("/api/v1/staff/credit-applications").json()
    assert [a["id"] for a in queue] == [application.pk]
    url = f"/api/v1/staff/credit-applications/{application.pk}/approve"
    changed = officer.post(url, {"credits": "60"}, content_type="application/json")
    assert changed.status_code == 422 and "credits" in changed.json()["fields"]
    done = officer.post(url, {}, content_type="application/json")
    assert done.status_code == 200 and done.json()["entry_id"]
    again = officer.post(url, {}, content_type="application/json")
    assert again.status_code == 422 and "state" in again.json()["fields"]
    assert CreditEntry.objects.filter(learner=applicant).count() == 1
    assert YearStatus.objects.get(learner=applicant, year=THIS_YEAR).total_credits == 90


def test_a_rejection_through_the_api_needs_a_reason(applicant, users, client_for):
    application = apply_for_credits(applicant)
    officer = client_for(users["district_officer"])
    url = f"/api/v1/staff/credit-applications/{application.pk}/reject"
    assert officer.post(url, {"reason": ""}, content_type="application/json").status_code == 422
    assert (
        officer.post(url, {"reason": "证书不符"}, content_type="application/json").json()["state"]
        == "rejected"
    )


def test_an_officer_records_credits_through_the_api_once(applicant, users, client_for):
    officer = client_for(users["district_officer"])
    body = {
        "learner_id": applicant.pk,
        "year": THIS_YEAR,
        "kind": "degree_course",
        "credits": "90",
        "reference": "中南财经政法大学 中级财务会计",
        "evidence": "成绩单 2026-07",
    }
    first = officer.post("/api/v1/staff/credit-entries", body, content_type="application/json")
    assert first.status_code == 201 and first.json()["source"] == "degree_course"
    again = officer.post("/api/v1/staff/credit-entries", body, content_type="application/json")
    assert again.status_code == 422 and "reference" in again.json()["fields"]
    elsewhere = client_for(users["officer_elsewhere"]).post(
        "/api/v1/staff/credit-entries", body, content_type="application/json"
    )
    assert elsewhere.status_code == 404
    assert CreditEntry.objects.count() == 1


def test_a_city_administrator_edits_the_citys_table_with_field_errors(applicant, users, client_for):
    city = client_for(users["city_admin"])
    url = f"/api/v1/staff/credit-conversion/420100/{THIS_YEAR}/paper_sole"
    line = {
        "credits_per_unit": "40",
        "min_credits": "50",
        "max_credits": "40",
        "detail_fields": ["title", "journal", "issn", "cn"],
    }
    bad = city.put(url, line, content_type="application/json")
    assert bad.status_code == 422 and "min_credits" in bad.json()["fields"]
    good = city.put(url, line | {"min_credits": "20"}, content_type="application/json")
    assert good.status_code == 200 and float(good.json()["credits_per_unit"]) == 40
    # The learner of a Wuhan district now sees Wuhan's table.
    table = client_for(applicant.user).get("/api/v1/learner/credit-conversion").json()
    assert table["region"] == "420100"
    paper = next(rule for rule in table["rules"] if rule["kind"] == "paper_sole")
    assert float(paper["credits_per_unit"]) == 40
    other = client_for(users["city_admin_elsewhere"]).put(
        url, line, content_type="application/json"
    )
    assert other.status_code == 404


def test_the_registration_calls_are_in_the_openapi_document(client_for):
    paths = client_for(None).get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/learner/credit-applications",
        "/api/v1/staff/credit-applications/{application_id}/approve",
        "/api/v1/staff/credit-entries",
        "/api/v1/staff/credit-imports",
        "/api/v1/staff/credit-imports/{import_id}/confirm",
        "/api/v1/staff/credit-imports/{import_id}/recheck",
        "/api/v1/staff/credit-imports/{import_id}/abandon",
        "/api/v1/staff/credit-conversion/{region_code}/{year}/{kind}",
    ):
        assert path in paths, path


def test_the_import_api_uploads_checks_and_confirms(
    applicant, users, client_for, django_capture_on_commit_callbacks
):
    header = "身份证号,姓名,年度,学分类型,科目类别,学分,凭证编号,证明材料"
    row = (
        f"{applicant.reveal_id_number()},{applicant.name},{THIS_YEAR},考试,专业科目,90,名单A,"
        "鄂财会〔2026〕12号"
    )
    officer = client_for(users["district_officer"])
    from django.core.files.uploadedfile import SimpleUploadedFile

    with django_capture_on_commit_callbacks(execute=True):
        uploaded = officer.post(
            "/api/v1/staff/credit-imports",
            {"file": SimpleUploadedFile("c.csv", f"{header}\r\n{row}\r\n".encode())},
        )
    assert uploaded.status_code == 202
    detail = officer.get(f"/api/v1/staff/credit-imports/{uploaded.json()['id']}").json()
    assert (detail["state"], detail["new"], detail["errors"]) == ("checked", 1, 0)
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = officer.post(
            f"/api/v1/staff/credit-imports/{detail['id']}/confirm",
            {},
            content_type="application/json",
        )
    assert confirmed.status_code == 202
    assert CreditEntry.objects.get().reference == "名单A"
    assert not CreditApplication.objects.exists()


def _stalled_upload(officer, applicant) -> dict:
    """An upload whose check's worker is killed mid-way: the job left running, silent for
    longer than the housekeeping waits."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    header = "身份证号,姓名,年度,学分类型,科目类别,学分,凭证编号,证明材料"
    row = (
        f"{applicant.reveal_id_number()},{applicant.name},{THIS_YEAR},考试,专业科目,90,名单B,"
        "合格名单 2026-3"
    )
    uploaded = officer.post(  # the check's job is queued at a commit that never comes
        "/api/v1/staff/credit-imports",
        {"file": SimpleUploadedFile("c.csv", f"{header}\r\n{row}\r\n".encode())},
    ).json()
    Job.objects.filter(pk=uploaded["job_id"]).update(state=Job.State.RUNNING)
    Job.objects.filter(pk=uploaded["job_id"]).update(updated_at=timezone.now() - timedelta(hours=2))
    return uploaded


def test_an_officer_abandons_a_stopped_import_through_the_api_in_their_district_only(
    applicant, users, client_for, django_capture_on_commit_callbacks
):
    officer = client_for(users["district_officer"])
    uploaded = _stalled_upload(officer, applicant)
    url = f"/api/v1/staff/credit-imports/{uploaded['id']}/abandon"
    still_running = officer.post(url)
    assert still_running.status_code == 422
    assert "state" in still_running.json()["fields"]

    jobs_housekeep()
    detail = officer.get(f"/api/v1/staff/credit-imports/{uploaded['id']}").json()
    assert detail["state"] == "failed" and "检查未完成即停止" in detail["message"]
    assert client_for(users["officer_elsewhere"]).post(url).status_code == 404
    assert client_for(users["city_admin"]).post(url).status_code == 403
    assert client_for(users["support"]).post(url).status_code == 403
    assert client_for(None).post(url).status_code == 401
    assert CreditImport.objects.get(pk=uploaded["id"]).state == "checking"

    with django_capture_on_commit_callbacks(execute=True):
        abandoned = officer.post(url)
    assert abandoned.status_code == 200 and abandoned.json()["state"] == "abandoned"
    credit_import = CreditImport.objects.get(pk=uploaded["id"])
    assert credit_import.state == "abandoned" and not credit_import.upload
    audit = AuditEntry.objects.get(action="credit_import.abandon")
    assert audit.actor == users["district_officer"]
    assert audit.region_path == credit_import.district.path


def test_a_stopped_import_is_checked_again_through_the_api(
    applicant, users, client_for, django_capture_on_commit_callbacks
):
    officer = client_for(users["district_officer"])
    uploaded = _stalled_upload(officer, applicant)
    url = f"/api/v1/staff/credit-imports/{uploaded['id']}/recheck"
    assert officer.post(url).status_code == 422  # not stopped yet: its job may still run
    jobs_housekeep()
    assert client_for(users["officer_elsewhere"]).post(url).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        rechecked = officer.post(url)
    assert rechecked.status_code == 202
    detail = officer.get(f"/api/v1/staff/credit-imports/{uploaded['id']}").json()
    assert (detail["state"], detail["new"]) == ("checked", 1)
    assert AuditEntry.objects.filter(action="credit_import.recheck").count() == 1


def test_an_officer_recording_1e30_credits_gets_a_field_error_not_a_server_error(
    applicant, users, client_for
):
    officer = client_for(users["district_officer"])
    body = {
        "learner_id": applicant.pk,
        "year": THIS_YEAR,
        "source": "face_to_face",
        "category": "professional",
        "credits": "1e30",
        "reference": "培训班",
    }
    refused = officer.post("/api/v1/staff/credit-entries", body, content_type="application/json")
    assert refused.status_code == 422 and "credits" in refused.json()["fields"]
    assert CreditEntry.objects.count() == 0


def test_the_conversion_call_refuses_a_huge_value_and_a_year_outside_1900_to_2099(
    users, client_for
):
    city = client_for(users["city_admin"])
    line = {
        "credits_per_unit": "1e30",
        "min_credits": "20",
        "max_credits": "40",
        "detail_fields": ["title", "journal", "issn", "cn"],
    }
    huge = city.put(
        f"/api/v1/staff/credit-conversion/420100/{THIS_YEAR}/paper_sole",
        line,
        content_type="application/json",
    )
    assert huge.status_code == 422 and "credits_per_unit" in huge.json()["fields"]
    for year in (-5, 40000):
        url = f"/api/v1/staff/credit-conversion/420100/{year}/paper_sole"
        put = city.put(url, line | {"credits_per_unit": "40"}, content_type="application/json")
        assert put.status_code == 422 and "year" in put.json()["fields"]
        read = city.get(f"/api/v1/staff/credit-conversion/420100/{year}")
        assert read.status_code == 422


def test_an_officer_recording_a_year_before_the_make_up_start_gets_a_422_on_the_year(
    regions, users, client_for
):
    # Qualified in 2015: required from 2016, but Hubei's make-up study starts in 2019.
    learner = collected_learner(district=regions["420102"], sequence=32, qualification_year=2015)
    body = {
        "learner_id": learner.pk,
        "year": 2018,
        "source": "face_to_face",
        "category": "professional",
        "credits": "12",
        "reference": "面授培训 2018",
        "evidence": "培训签到表 2018-06",
    }
    officer = client_for(users["district_officer"])
    refused = officer.post("/api/v1/staff/credit-entries", body, content_type="application/json")
    assert refused.status_code == 422
    assert set(refused.json()["fields"]) == {"year"}
    assert "2019" in refused.json()["fields"]["year"][0]
    assert not CreditEntry.objects.exists()
    assert not YearStatus.objects.filter(learner=learner).exists()
