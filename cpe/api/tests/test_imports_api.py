from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from cpe.core.models import Job
from cpe.registry import import_samples
from cpe.registry.models import Learner, LearnerImport


def _upload(client, people, name="名单.xlsx"):
    content = import_samples.xlsx_bytes(people)
    return client.post("/api/v1/learner-imports", {"file": SimpleUploadedFile(name, content)})


def test_an_officer_uploads_reads_the_check_and_confirms_over_the_api(
    users, client_for, django_capture_on_commit_callbacks
):
    officer = client_for(users["district_officer"])
    people = list(import_samples.people(5))
    people[2][2] = "123"  # a mobile number too short
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(officer, people)
    assert response.status_code == 202
    body = response.json()
    # The queued check ran when the upload committed (jobs run inline in tests).
    detail = officer.get(f"/api/v1/learner-imports/{body['id']}").json()
    assert (detail["state"], detail["new"], detail["errors"]) == ("checked", 4, 1)
    assert [row["row"] for row in detail["error_rows"]] == [4]
    assert str(people[2][0]) not in str(detail)  # error rows carry masked numbers only
    job = officer.get(f"/api/v1/jobs/{detail['job_id']}").json()
    assert job["state"] == "succeeded" and job["percent"] == 100

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = officer.post(f"/api/v1/learner-imports/{body['id']}/confirm")
    assert confirmed.status_code == 202
    final = officer.get(f"/api/v1/learner-imports/{body['id']}").json()
    assert final["state"] == "applied"
    assert Learner.objects.filter(name__in=[p[1] for p in people]).count() == 4
    assert Job.objects.filter(pk=final["job_id"], state="succeeded").exists()


def test_a_file_that_is_not_a_spreadsheet_is_refused_with_a_field_error(users, client_for):
    officer = client_for(users["district_officer"])
    response = officer.post(
        "/api/v1/learner-imports",
        {"file": SimpleUploadedFile("名单.xlsx", b"%PDF-1.4 not a workbook")},
    )
    assert response.status_code == 422
    assert "file" in response.json()["fields"]
    assert not LearnerImport.objects.exists()


def test_only_the_districts_officers_see_its_imports(users, client_for):
    response = _upload(client_for(users["district_officer"]), list(import_samples.people(2)))
    import_id = response.json()["id"]
    assert (
        client_for(users["officer_elsewhere"])
        .get(f"/api/v1/learner-imports/{import_id}")
        .status_code
        == 404
    )
    for role in ("city_admin", "auditor", "superuser"):
        assert (
            client_for(users[role]).get(f"/api/v1/learner-imports/{import_id}").status_code == 403
        )
    assert client_for(users["officer_elsewhere"]).get("/api/v1/learner-imports").json() == []


def test_an_abandoned_import_cannot_be_confirmed(
    users, client_for, django_capture_on_commit_callbacks
):
    officer = client_for(users["district_officer"])
    with django_capture_on_commit_callbacks(execute=True):
        import_id = _upload(officer, list(import_samples.people(2))).json()["id"]
    assert officer.post(f"/api/v1/learner-imports/{import_id}/abandon").json()["state"] == (
        "abandoned"
    )
    response = officer.post(f"/api/v1/learner-imports/{import_id}/confirm")
    assert response.status_code == 422
    assert LearnerImport.objects.get(pk=import_id).state == "abandoned"
