"""A credit recording taken for dead while it still runs: abandoning the import waits for it,
and then finds it recorded (PostgreSQL, one connection per thread)."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from cpe.core import tasks
from cpe.core.models import Job
from cpe.core.services import Actor, job_run
from cpe.credits import imports
from cpe.credits.models import CreditEntry, CreditImport
from cpe.credits.tests.test_imports import exam_row, xlsx
from cpe.learning.testing import collected_learner

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_abandoning_a_recording_that_still_runs_waits_for_it_and_is_then_refused(
    regions, users, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("threads with their own connections: PostgreSQL")
    officer = Actor(user=users["district_officer"])
    learner = collected_learner(district=regions["420102"], sequence=61)
    credit_import = imports.credit_import_start(
        actor=officer,
        district=regions["420102"],
        upload=SimpleUploadedFile("credits.xlsx", xlsx([exam_row(learner)])),
    )
    credit_import.refresh_from_db()
    assert credit_import.state == "checked"  # the check ran at the commit
    # The recording is queued but run below, by hand, in a thread of its own.
    monkeypatch.setattr(tasks, "job_run_task", lambda job_id: None)
    credit_import = imports.credit_import_confirm(actor=officer, credit_import=credit_import)
    recording, release = threading.Event(), threading.Event()
    real_record = imports.credit_record

    def slow_record(**kwargs):
        entry = real_record(**kwargs)
        recording.set()
        release.wait(10)
        return entry

    monkeypatch.setattr(imports, "credit_record", slow_record)
    outcome: dict[str, object] = {}

    def worker() -> None:
        try:
            job_run(job_id=str(credit_import.job_id))
        finally:
            connection.close()

    def abandon() -> None:
        try:
            imports.credit_import_abandon(actor=officer, credit_import=credit_import)
            outcome["abandon"] = "done"
        except ValidationError as refused:
            outcome["abandon"] = refused
        finally:
            connection.close()

    running = threading.Thread(target=worker)
    running.start()
    assert recording.wait(10)
    # Taken for dead (as if its worker had gone quiet), though it runs on.
    Job.objects.filter(pk=credit_import.job_id).update(state=Job.State.FAILED)
    officer_thread = threading.Thread(target=abandon)
    officer_thread.start()
    time.sleep(0.5)
    assert officer_thread.is_alive()  # waiting for the recording's lock on the import
    release.set()
    running.join()
    officer_thread.join()

    assert isinstance(outcome["abandon"], ValidationError)
    assert CreditImport.objects.get(pk=credit_import.pk).state == "applied"
    assert CreditEntry.objects.filter(learner=learner).count() == 1
