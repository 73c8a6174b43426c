"""The officer's batch: one ZIP of every completed learner's certificate of a district and year,
run through the job queue, downloadable by the requester only, audited."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.utils import timezone

from cpe.certificates.models import Certificate
from cpe.certificates.testing import complete_year
from cpe.core.models import AuditEntry, Job
from cpe.credits.testing import record

pytestmark = pytest.mark.django_db


def _zip(client, job: Job) -> zipfile.ZipFile:
    response = client.get(f"/staff/jobs/{job.pk}/download/")
    assert response.status_code == 200
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_the_batch_zips_every_completed_learner_of_the_district(
    make_learner, users, client_for, django_capture_on_commit_callbacks
):
    year = timezone.localdate().year
    done = [make_learner(), make_learner()]
    for learner in done:
        complete_year(learner)
    record(make_learner(), 30)  # in progress: no certificate
    complete_year(make_learner(district="420111"))  # another district
    client = client_for(users["district_officer"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/staff/certificates/batch/",
            {"district": "420102", "year": year, "language": "zh-hans"},
        )
    job = Job.objects.get(kind="certificates.batch")
    assert response["Location"] == f"/staff/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.result["certificates"] == 2 and job.percent == 100
    archive = _zip(client, job)
    names = archive.namelist()
    assert len(names) == 2
    numbers = set(Certificate.objects.filter(learner__in=done).values_list("number", flat=True))
    assert {name.split("-")[1] for name in names} == numbers
    assert all(archive.read(name).startswith(b"%PDF") for name in names)
    batch = AuditEntry.objects.get(action="certificate.batch")
    assert batch.changes["after"]["certificates"] == 2
    assert AuditEntry.objects.filter(action="certificate.issue").count() == 2


def test_only_the_requester_downloads_the_zip(
    make_learner, users, client_for, django_capture_on_commit_callbacks
):
    complete_year(make_learner())
    with django_capture_on_commit_callbacks(execute=True):
        client_for(users["district_officer"]).post(
            "/staff/certificates/batch/",
            {"district": "420102", "year": timezone.localdate().year, "language": "en"},
        )
    job = Job.objects.get(kind="certificates.batch")
    # Support sees every job of its region (to answer questions about them), not this file.
    assert client_for(users["support"]).get(f"/staff/jobs/{job.pk}/").status_code == 200
    for other in ("officer_elsewhere", "city_admin", "auditor", "support"):
        assert client_for(users[other]).get(f"/staff/jobs/{job.pk}/download/").status_code == 404
    assert not AuditEntry.objects.filter(action="job.download").exists()


def test_every_download_of_a_result_file_is_audited(
    make_learner, users, client_for, django_capture_on_commit_callbacks
):
    complete_year(make_learner())
    officer = client_for(users["district_officer"])
    with django_capture_on_commit_callbacks(execute=True):
        officer.post(
            "/staff/certificates/batch/",
            {"district": "420102", "year": timezone.localdate().year, "language": "en"},
        )
    job = Job.objects.get(kind="certificates.batch")
    _zip(officer, job)
    entry = AuditEntry.objects.get(action="job.download")
    assert entry.actor_id == users["district_officer"].pk
    assert entry.target_id == str(job.pk)


def test_an_officer_cannot_ask_for_another_district(users, client_for):
    client = client_for(users["district_officer"])
    response = client.post(
        "/staff/certificates/batch/",
        {"district": "420111", "year": timezone.localdate().year, "language": "zh-hans"},
    )
    assert response.status_code == 200  # the form again, with the district refused
    assert "district" in response.context["form"].errors
    assert not Job.objects.filter(kind="certificates.batch").exists()


def test_a_city_administrator_may_ask_for_any_district_of_the_city(
    make_learner, users, client_for, django_capture_on_commit_callbacks
):
    complete_year(make_learner(district="420111"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(users["city_admin"]).post(
            "/api/v1/staff/certificate-batches",
            {"district": "420111", "year": timezone.localdate().year},
            content_type="application/json",
        )
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["id"])
    assert job.state == Job.State.SUCCEEDED and job.result["certificates"] == 1


def test_the_batch_api_answers_404_outside_the_scope_and_422_for_a_future_year(users, client_for):
    client = client_for(users["city_admin_elsewhere"])
    year = timezone.localdate().year
    outside = client.post(
        "/api/v1/staff/certificate-batches",
        {"district": "420102", "year": year},
        content_type="application/json",
    )
    assert outside.status_code == 404
    future = client_for(users["district_officer"]).post(
        "/api/v1/staff/certificate-batches",
        {"district": "420102", "year": year + 1},
        content_type="application/json",
    )
    assert future.status_code == 422 and "year" in future.json()["fields"]
    assert not Job.objects.filter(kind="certificates.batch").exists()
