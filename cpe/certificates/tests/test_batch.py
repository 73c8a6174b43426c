"""The officer's batch: one ZIP of every completed learner's certificate of a district and year,
run through the job queue, downloadable by the requester only, audited."""

from __future__ import annotations

import io
import random
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from django.utils import timezone
from pypdf import PdfReader

from cpe.certificates import jobs
from cpe.certificates.models import Certificate
from cpe.certificates.services import certificate_batch_start
from cpe.certificates.testing import complete_year
from cpe.core.models import AuditEntry, Job
from cpe.core.services import Actor, job_run
from cpe.credits.testing import record

pytestmark = pytest.mark.django_db


def _batch(users, regions) -> Job:
    """The officer's batch of Jiang'an (420102) for this year, run here rather than queued."""
    job = certificate_batch_start(
        actor=Actor(user=users["district_officer"]),
        district=regions["420102"],
        year=timezone.localdate().year,
    )
    return job_run(job_id=str(job.pk))


def _files_on_disk() -> list[Path]:
    """Every job file in the storage, finished or scratch."""
    root = Path(Job._meta.get_field("result_file").storage.path("jobs"))
    return [path for path in root.rglob("*") if path.is_file()] if root.is_dir() else []


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
    assert archive.testzip() is None
    for name in names:
        pdf = PdfReader(io.BytesIO(archive.read(name)))
        learner_name = name.removesuffix(".pdf").split("-", 2)[2]
        assert len(pdf.pages) == 1
        assert learner_name in pdf.pages[0].extract_text().replace("\x00", "")
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


def test_the_progress_bar_moves_while_the_certificates_are_made(
    make_learner, users, regions, monkeypatch
):
    for _learner in range(12):
        complete_year(make_learner())
    seen = []

    def pdf(certificate, *, language):
        # What the job page would read from the database while this certificate is made.
        seen.append(Job.objects.get(kind="certificates.batch").progress_done)
        return b"%PDF-1.4 stand-in"

    monkeypatch.setattr(jobs, "certificate_pdf", pdf)
    job = _batch(users, regions)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert seen == sorted(seen) and any(0 < done < 12 for done in seen)
    assert (job.progress_done, job.progress_total, job.percent) == (12, 12, 100)
    assert len(zipfile.ZipFile(job.result_file.open("rb")).namelist()) == 12


def test_a_certificate_failing_midway_fails_the_job_and_leaves_no_file(
    make_learner, users, regions, monkeypatch
):
    for _learner in range(3):
        complete_year(make_learner())
    made = []

    def pdf(certificate, *, language):
        made.append(certificate.number)
        if len(made) == 2:
            raise RuntimeError("the font file is unreadable")
        return b"%PDF-1.4 stand-in"

    monkeypatch.setattr(jobs, "certificate_pdf", pdf)
    job = _batch(users, regions)
    assert job.state == Job.State.FAILED
    assert "RuntimeError" in job.error and "RuntimeError" not in job.message
    assert not job.result_file and _files_on_disk() == []
    assert not AuditEntry.objects.filter(action="certificate.batch").exists()


def test_the_zip_is_written_to_disk_as_it_grows_not_held_in_memory(
    make_learner, users, regions, monkeypatch
):
    # Stand-ins for real PDFs (tens of KB, a few thousand of them): 50 of 400 KB that do not
    # compress make a 20 MB ZIP, while making one real PDF alone peaks near that (fontTools).
    for _learner in range(50):
        complete_year(make_learner())
    noise = random.Random(7)
    monkeypatch.setattr(
        jobs, "certificate_pdf", lambda certificate, *, language: noise.randbytes(400_000)
    )
    tracemalloc.start()
    try:
        job = _batch(users, regions)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.result_file.size > 20_000_000
    assert peak < 6_000_000, f"peak {peak:,} bytes"
