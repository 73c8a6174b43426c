from __future__ import annotations

import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from cpe.core.jobs import JobError, job_kind
from cpe.core.models import AuditEntry, Job
from cpe.core.services import (
    SCRATCH_DIRECTORY,
    Actor,
    JobContext,
    job_enqueue,
    job_run,
    jobs_fail_stalled,
    jobs_housekeep,
)


@job_kind("tests.count", "Count to a number")
def count_job(context: JobContext) -> dict:
    total = int(context.params["to"])
    context.progress(0, total=total, message="counting")
    for done in range(1, total + 1):
        context.progress(done)
    context.save_file("count.txt", f"{total}\n".encode())
    return {"counted": total}


@job_kind("tests.explode", "Fail unexpectedly")
def explode_job(context: JobContext) -> None:
    raise RuntimeError("secret internals: password=hunter2")


@job_kind("tests.refuse", "Fail with a reason for the person")
def refuse_job(context: JobContext) -> None:
    raise JobError("The file has no rows.")


@job_kind("tests.write", "Write a file piece by piece")
def write_job(context: JobContext) -> dict:
    with context.writing_file("lines.txt") as out:
        for line in range(int(context.params["lines"])):
            out.write(f"{line}\n".encode())
            if line == context.params.get("fail_at"):
                raise RuntimeError("the disk is full")
    return {}


@job_kind("tests.fail_after_saving", "Save a file, then fail")
def fail_after_saving_job(context: JobContext) -> None:
    context.save_file("half.txt", b"half")
    raise JobError("The last step failed.")


def _progress_seen_elsewhere(job_id: object) -> tuple[int, int]:
    """The job's progress as a page would read it: through another connection."""
    other = connections.create_connection(connection.alias)
    try:
        with other.cursor() as cursor:
            cursor.execute(
                f"SELECT progress_done, progress_total FROM {Job._meta.db_table} WHERE id = %s",  # noqa: S608
                [job_id],
            )
            return tuple(cursor.fetchone())
    finally:
        other.close()


@job_kind("tests.record_all_or_nothing", "Record rows in one transaction")
def record_all_or_nothing_job(context: JobContext) -> dict:
    seen = []
    with transaction.atomic():
        if context.params.get("hold_the_row"):  # the handler's transaction holds its job row
            Job.objects.filter(pk=context.job.pk).update(message="held")
        context.progress(0, total=3, message="recording")
        for done in (1, 2, 3):
            context.progress(done)
            seen.append(_progress_seen_elsewhere(context.job.pk))
    return {"seen": seen}


@job_kind("tests.record_with_aside_lost", "Record rows; the progress connection is cut")
def record_with_aside_lost_job(context: JobContext) -> dict:
    seen = []
    with transaction.atomic():
        context.progress(1, total=3)
        seen.append(_progress_seen_elsewhere(context.job.pk))
        with connection.cursor() as cursor:  # as a restart of the database would
            cursor.execute(
                "SELECT pg_terminate_backend(%s)", [context._aside.connection.info.backend_pid]
            )
        for done in (2, 3):
            context.progress(done)
            seen.append(_progress_seen_elsewhere(context.job.pk))
    return {"seen": seen}


def _scratch_files() -> list[Path]:
    directory = Path(Job._meta.get_field("result_file").storage.path(SCRATCH_DIRECTORY))
    return list(directory.glob("*")) if directory.is_dir() else []


def _stored_results() -> list[Path]:
    root = Path(Job._meta.get_field("result_file").storage.path("jobs"))
    return [path for path in root.rglob("*") if path.is_file()] if root.is_dir() else []


@pytest.fixture
def officer_actor(users) -> Actor:
    return Actor(user=users["district_officer"], ip="192.0.2.9")


def test_a_job_runs_to_the_end_with_its_progress_result_and_file(
    officer_actor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = job_enqueue(kind="tests.count", actor=officer_actor, params={"to": 7})
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED
    assert (job.progress_done, job.progress_total, job.percent) == (7, 7, 100)
    assert job.result == {"counted": 7}
    assert job.result_file.read() == b"7\n"
    assert job.started_at and job.finished_at
    assert AuditEntry.objects.filter(action="job.enqueue", target_id=str(job.pk)).exists()


def test_an_unexpected_failure_is_shown_in_plain_words_without_internals(officer_actor):
    job = job_enqueue(kind="tests.explode", actor=officer_actor)
    job = job_run(job_id=str(job.pk))
    assert job.state == Job.State.FAILED
    assert "hunter2" not in job.message
    assert "RuntimeError" in job.error  # kept for support staff


def test_a_job_error_reaches_the_person_as_written(officer_actor):
    job = job_enqueue(kind="tests.refuse", actor=officer_actor)
    job = job_run(job_id=str(job.pk))
    assert (job.state, job.message) == (Job.State.FAILED, "The file has no rows.")


def test_a_file_written_piece_by_piece_becomes_the_result_and_no_scratch_file_stays(
    officer_actor,
):
    job = job_run(
        job_id=str(job_enqueue(kind="tests.write", actor=officer_actor, params={"lines": 3}).pk)
    )
    assert job.state == Job.State.SUCCEEDED
    assert job.result_file.name.endswith(".txt")
    assert job.result_file.read() == b"0\n1\n2\n"
    assert _scratch_files() == []


def test_a_job_failing_while_it_writes_its_file_leaves_no_file(officer_actor):
    job = job_enqueue(kind="tests.write", actor=officer_actor, params={"lines": 5, "fail_at": 2})
    job = job_run(job_id=str(job.pk))
    assert job.state == Job.State.FAILED
    assert not job.result_file
    assert _scratch_files() == [] and _stored_results() == []


def test_a_job_failing_after_it_saved_its_file_offers_no_file(officer_actor):
    job = job_run(job_id=str(job_enqueue(kind="tests.fail_after_saving", actor=officer_actor).pk))
    assert (job.state, job.message) == (Job.State.FAILED, "The last step failed.")
    assert not job.result_file
    assert _stored_results() == []


def test_a_second_delivery_of_the_same_job_does_nothing(officer_actor):
    job = job_enqueue(kind="tests.count", actor=officer_actor, params={"to": 2})
    assert job_run(job_id=str(job.pk)) is not None
    assert job_run(job_id=str(job.pk)) is None


def test_an_unknown_job_kind_is_refused_before_anything_is_recorded(officer_actor):
    with pytest.raises(LookupError):
        job_enqueue(kind="tests.nope", actor=officer_actor)
    assert not Job.objects.exists()


def test_housekeeping_fails_stalled_jobs_and_forgets_old_ones(officer_actor):
    now = timezone.now()
    stalled = job_enqueue(kind="tests.count", actor=officer_actor, params={"to": 1})
    Job.objects.filter(pk=stalled.pk).update(state=Job.State.RUNNING)
    Job.objects.filter(pk=stalled.pk).update(updated_at=now - timedelta(hours=2))
    old = job_enqueue(kind="tests.count", actor=officer_actor, params={"to": 1})
    job_run(job_id=str(old.pk))
    Job.objects.filter(pk=old.pk).update(finished_at=now - timedelta(days=91))
    recent = job_enqueue(kind="tests.count", actor=officer_actor, params={"to": 1})
    job_run(job_id=str(recent.pk))

    assert jobs_housekeep(now=now) == {"stalled": 1, "removed": 1, "scratch_files": 0}
    assert Job.objects.get(pk=stalled.pk).state == Job.State.FAILED
    assert not Job.objects.filter(pk=old.pk).exists()
    assert Job.objects.filter(pk=recent.pk).exists()


def test_a_job_the_queue_never_started_is_failed_after_a_day_and_then_never_runs(officer_actor):
    now = timezone.now()
    lost = job_enqueue(kind="tests.count", actor=officer_actor, params={"to": 1})
    waiting = job_enqueue(kind="tests.count", actor=officer_actor, params={"to": 1})
    Job.objects.filter(pk=lost.pk).update(created_at=now - timedelta(hours=25))
    Job.objects.filter(pk=waiting.pk).update(created_at=now - timedelta(hours=23))

    assert jobs_fail_stalled(now=now) == 1
    lost.refresh_from_db()
    assert lost.state == Job.State.FAILED and lost.finished_at == now
    assert lost.message == "队列从未启动该任务，请重新启动任务。"
    assert Job.objects.get(pk=waiting.pk).state == Job.State.QUEUED
    assert job_run(job_id=str(lost.pk)) is None  # its message, arriving after all: nothing


@pytest.mark.django_db
def test_housekeeping_removes_the_scratch_files_of_killed_workers_not_of_running_ones():
    directory = Path(Job._meta.get_field("result_file").storage.path(SCRATCH_DIRECTORY))
    directory.mkdir(parents=True)
    abandoned, writing = directory / "partial-abandoned.zip", directory / "partial-writing.zip"
    abandoned.write_bytes(b"PK")
    writing.write_bytes(b"PK")
    two_days_ago = (timezone.now() - timedelta(days=2)).timestamp()
    os.utime(abandoned, (two_days_ago, two_days_ago))
    assert jobs_housekeep()["scratch_files"] == 1
    assert _scratch_files() == [writing]


def test_the_job_page_and_api_show_progress_and_the_download(
    users, client_for, officer_actor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = job_enqueue(kind="tests.count", actor=officer_actor, params={"to": 3})
    client = client_for(users["district_officer"])
    page = client.get(f"/staff/jobs/{job.pk}/")
    assert page.status_code == 200
    assert b'value="100"' in page.content
    data = client.get(f"/api/v1/jobs/{job.pk}").json()
    assert (data["state"], data["percent"], data["result"]) == ("succeeded", 100, {"counted": 3})
    download = client.get(data["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"3\n"
    # Another officer may not download it.
    other = client_for(users["officer_elsewhere"])
    assert other.get(data["download_url"]).status_code == 404


def test_only_support_staff_see_the_technical_details_of_a_failure(
    users, client_for, officer_actor
):
    job = job_enqueue(kind="tests.explode", actor=officer_actor)
    job_run(job_id=str(job.pk))
    own = client_for(users["district_officer"]).get(f"/staff/jobs/{job.pk}/")
    assert b"RuntimeError" not in own.content
    support = client_for(users["support"]).get(f"/staff/jobs/{job.pk}/")
    assert b"RuntimeError" in support.content


@pytest.mark.django_db(transaction=True)
def test_a_real_consumer_takes_the_job_from_the_queue_storage(regions, users, monkeypatch):
    """Not inline: the job goes into the configured storage (SQLite file or Redis) and a
    huey consumer thread takes it out and runs it, as `manage.py run_huey` does."""
    # The worker thread must not keep its connection, or the test database cannot be dropped.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    HUEY.immediate = False
    HUEY.flush()
    try:
        job = job_enqueue(
            kind="tests.count", actor=Actor(user=users["district_officer"]), params={"to": 5}
        )
        assert HUEY.pending_count() == 1
        consumer = HUEY.create_consumer(workers=1, worker_type="thread", periodic=False)
        consumer.start()
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                job.refresh_from_db()
                if job.is_finished:
                    break
                time.sleep(0.1)
        finally:
            consumer.stop(graceful=True)
        assert job.state == Job.State.SUCCEEDED, job.error
        assert job.result == {"counted": 5}
        assert HUEY.pending_count() == 0
    finally:
        HUEY.flush()
        HUEY.immediate = True


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_stalled_job_whose_row_an_open_transaction_holds_is_not_failed_nor_waited_for(
    regions, users
):
    """A handler whose progress could not be reported aside writes it in its own
    transaction: its job row stays locked, and silent to others, while the worker is alive."""
    if connection.vendor != "postgresql":
        pytest.skip("a second connection holding a row lock: PostgreSQL")
    job = job_enqueue(
        kind="tests.count", actor=Actor(user=users["district_officer"]), params={"to": 1}
    )
    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING)
    Job.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    holding, release = threading.Event(), threading.Event()

    def live_worker() -> None:
        try:
            with transaction.atomic():
                Job.objects.filter(pk=job.pk).update(progress_done=1)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    worker = threading.Thread(target=live_worker)
    worker.start()
    try:
        assert holding.wait(10)
        with connection.cursor() as cursor:  # waiting on the lock fails instead of hanging
            cursor.execute("SET lock_timeout = '2s'")
        assert jobs_fail_stalled() == 0
    finally:
        release.set()
        worker.join()
    with connection.cursor() as cursor:
        cursor.execute("RESET lock_timeout")
    # Its transaction over, the row's last word is still two hours old: the worker is gone.
    Job.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    assert jobs_fail_stalled() == 1
    assert Job.objects.get(pk=job.pk).state == Job.State.FAILED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_progress_inside_the_handlers_transaction_is_seen_at_once(officer_actor):
    """A recording of thousands of rows is one transaction: its bar still moves."""
    if connection.vendor != "postgresql":
        pytest.skip("progress reported through a second connection: PostgreSQL")
    job = job_enqueue(kind="tests.record_all_or_nothing", actor=officer_actor)  # run at once
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.result == {"seen": [[1, 3], [2, 3], [3, 3]]}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_progress_on_a_row_the_handler_holds_is_written_in_its_transaction(officer_actor):
    """Never waited for (that would be for ever): written with the handler's transaction."""
    if connection.vendor != "postgresql":
        pytest.skip("progress reported through a second connection: PostgreSQL")
    job = job_enqueue(
        kind="tests.record_all_or_nothing", actor=officer_actor, params={"hold_the_row": True}
    )
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.result == {"seen": [[0, 0], [0, 0], [0, 0]]}  # only at the commit
    assert (job.progress_done, job.progress_total) == (3, 3)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_lost_progress_connection_leaves_the_job_running_with_its_progress_at_the_commit(
    officer_actor,
):
    if connection.vendor != "postgresql":
        pytest.skip("progress reported through a second connection: PostgreSQL")
    job = job_enqueue(kind="tests.record_with_aside_lost", actor=officer_actor)  # run at once
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.result == {"seen": [[1, 3], [1, 3], [1, 3]]}  # the rest only at the commit
    assert (job.progress_done, job.progress_total) == (3, 3)


def test_stalled_jobs_are_looked_for_every_ten_minutes():
    from cpe.core.tasks import fail_stalled_jobs

    schedule = fail_stalled_jobs.s().validate_datetime
    runs = [minute for minute in range(60) if schedule(timezone.datetime(2026, 11, 23, 3, minute))]
    assert runs == [0, 10, 20, 30, 40, 50]


def test_the_housekeeping_job_is_scheduled_daily():
    from cpe.core.tasks import housekeeping

    schedule = housekeeping.s().validate_datetime
    runs = [
        timezone.datetime(2026, 11, 23, hour, minute)
        for hour in range(24)
        for minute in range(60)
        if schedule(timezone.datetime(2026, 11, 23, hour, minute))
    ]
    assert runs == [timezone.datetime(2026, 11, 23, 19, 30)]
