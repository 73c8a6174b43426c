"""Administrators edit their region's study rules per year; a change that decides years with
credits is refused with their count until a recomputation is asked for with a reason."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from cpe.accounts.roles import Role
from cpe.core.models import AuditEntry, Job
from cpe.core.services import jobs_housekeep
from cpe.credits.models import CreditEntry, YearStatus, YearStatusChange
from cpe.credits.testing import record
from cpe.learning.testing import collected_learner
from cpe.regions.models import RegionPolicy, RegionPolicyCap
from cpe.regions.policy import policy_for
from cpe.regions.services import POLICY_FIELDS
from cpe.registry.testing import make_id_number

pytestmark = pytest.mark.django_db

YEAR = timezone.localdate().year
CALLER = make_id_number(sequence=9)  # an ID number someone types into a reason


def form_data(region, year, **changes) -> dict:
    """The edit form as the page fills it (the rules in force), with `changes` made."""
    policy = policy_for(region, year)
    data = {name: getattr(policy, name) for name in POLICY_FIELDS}
    data = {k: ("" if v is None else v) for k, v in data.items()}
    for name in ("sequential_years", "exam_shuffle_options", "exam_reset_on_exhaustion"):
        if not data[name]:
            data.pop(name)
    if not data["exam_show_review"]:
        data.pop("exam_show_review")
    data["effective_from"] = year
    data.update(changes)
    return {k: v for k, v in data.items() if v is not False}


@pytest.fixture
def city_admin(make_user, client_for):
    return client_for(make_user(Role.CITY_ADMIN, "420100"))


@pytest.fixture
def complete_learner(regions):
    """A Jiang'an learner whose current year is complete with 65 professional credits."""
    learner = collected_learner(district=regions["420102"])
    record(learner, 65)
    record(learner, 25, category=CreditEntry.Category.PUBLIC)
    assert YearStatus.objects.get(learner=learner).status == "complete"
    return learner


def test_a_city_admin_adds_wuhans_rules_from_a_year_audited_with_before_and_after(
    regions, city_admin
):
    response = city_admin.post(
        "/staff/rules/420100/new/",
        form_data(regions["420100"], YEAR + 1, heartbeat_seconds=30, cap_face_to_face=30),
    )
    assert response.status_code == 302
    row = RegionPolicy.objects.get(region=regions["420100"], effective_from=YEAR + 1)
    assert row.heartbeat_seconds == 30
    assert list(row.caps.values_list("source", "max_credits")) == [("face_to_face", 30)]
    assert policy_for(regions["420102"], YEAR + 1).source_caps == (("face_to_face", 30),)
    entry = AuditEntry.objects.filter(action="region_policy.create").latest("id")
    assert entry.changes["after"]["heartbeat_seconds"] == 30
    assert entry.changes["after"]["caps"] == {"face_to_face": 30}
    assert entry.region_path == regions["420100"].path
    # Correcting the row keeps its year and records only what changed.
    city_admin.post(
        f"/staff/rules/420100/{YEAR + 1}/",
        form_data(regions["420100"], YEAR + 1, heartbeat_seconds=20, cap_face_to_face=""),
    )
    entry = AuditEntry.objects.filter(action="region_policy.update").latest("id")
    assert entry.changes == {
        "before": {"heartbeat_seconds": 30, "caps": {"face_to_face": 30}},
        "after": {"heartbeat_seconds": 20, "caps": {}},
    }
    assert not RegionPolicyCap.objects.filter(policy=row).exists()


def test_the_rules_page_lists_the_regions_rows_and_who_may_edit_them(
    regions, make_user, client_for, city_admin
):
    page = city_admin.get("/staff/rules/").content.decode()
    assert 'data-region="420000"' in page and 'data-region="420102"' in page
    assert 'href="/staff/rules/420100/new/' in page
    assert 'href="/staff/rules/420000/new/' not in page  # Hubei is read only for Wuhan
    officer = client_for(make_user(Role.DISTRICT_OFFICER, "420102"))
    page = officer.get("/staff/rules/").content.decode()
    assert 'data-region="420102"' in page and 'data-region="420100"' in page
    assert "/new/" not in page
    assert 'data-region="420103"' not in page


def test_a_city_admin_cannot_edit_hubeis_rules_and_an_officer_edits_none(
    regions, make_user, client_for, city_admin
):
    hubei_year = RegionPolicy.objects.filter(region=regions["420000"]).first().effective_from
    assert city_admin.get(f"/staff/rules/420000/{hubei_year}/").status_code == 404
    assert city_admin.post("/staff/rules/420000/new/", {}).status_code == 404
    officer = client_for(make_user(Role.DISTRICT_OFFICER, "420102"))
    assert officer.get("/staff/rules/420102/new/").status_code == 403
    assert officer.get("/staff/rules/").status_code == 200


def test_bad_values_are_refused_by_field_and_nothing_is_saved(regions, city_admin):
    before = AuditEntry.objects.count()
    response = city_admin.post(
        "/staff/rules/420100/new/",
        form_data(
            regions["420100"],
            YEAR,
            annual_credits=50,
            professional_credits=60,
            cap_paper=-1,
        ),
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "cap_paper" in form.errors
    assert not RegionPolicy.objects.filter(region=regions["420100"]).exists()
    assert AuditEntry.objects.count() == before
    response = city_admin.post(
        "/staff/rules/420100/new/",
        form_data(regions["420100"], YEAR, annual_credits=50, professional_credits=60),
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not RegionPolicy.objects.filter(region=regions["420100"]).exists()


def test_a_change_deciding_years_with_credits_is_refused_with_their_count(
    regions, city_admin, complete_learner
):
    collected_learner(district=regions["420103"], sequence=2)  # no credits: not counted
    other = collected_learner(district=regions["420103"], sequence=3)
    record(other, 10)
    before = AuditEntry.objects.count()
    response = city_admin.post(
        "/staff/rules/420100/new/",
        form_data(regions["420100"], YEAR, professional_credits=70),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["recompute"]
    assert "2" in errors[0]
    assert not RegionPolicy.objects.filter(region=regions["420100"]).exists()
    assert AuditEntry.objects.count() == before
    assert YearStatus.objects.get(learner=complete_learner).status == "complete"


def test_asked_with_a_reason_the_change_is_saved_and_the_years_recomputed_and_audited(
    regions, city_admin, complete_learner
):
    response = city_admin.post(
        "/staff/rules/420100/new/",
        form_data(regions["420100"], YEAR, professional_credits=70, recompute="on"),
    )
    assert "reason" in response.context["form"].errors
    assert not RegionPolicy.objects.filter(region=regions["420100"]).exists()
    response = city_admin.post(
        "/staff/rules/420100/new/",
        form_data(
            regions["420100"],
            YEAR,
            professional_credits=70,
            recompute="on",
            reason="市会计考办通知：专业科目不少于70学分",
        ),
    )
    assert response.status_code == 302
    status = YearStatus.objects.get(learner=complete_learner)
    assert status.status == "in_progress"
    change = YearStatusChange.objects.filter(learner=complete_learner).latest("id")
    assert (change.from_status, change.to_status, change.entry_id) == (
        "complete",
        "in_progress",
        None,
    )
    audit = AuditEntry.objects.get(action="region_policy.recompute")
    assert audit.reason == "市会计考办通知：专业科目不少于70学分"
    assert audit.actor.role == Role.CITY_ADMIN
    assert audit.changes["after"] == {"years": [YEAR, None], "changed": 1, "status_changed": 1}


def test_a_large_recomputation_runs_in_a_background_job_with_a_progress_bar(
    regions, city_admin, complete_learner, settings, django_capture_on_commit_callbacks
):
    settings.POLICY_RECOMPUTE_INLINE_MAX = 0
    row = RegionPolicy.objects.create(region=regions["420100"], effective_from=YEAR - 1)
    with django_capture_on_commit_callbacks(execute=True):
        response = city_admin.post(
            f"/staff/rules/420100/{YEAR - 1}/",
            form_data(
                regions["420100"],
                YEAR - 1,
                annual_credits=100,
                recompute="on",
                reason=f"新规定，{CALLER}来电",
            ),
        )
    job = Job.objects.get(kind="regions.recompute_year_status")
    assert response.status_code == 302 and response["Location"] == f"/staff/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, (job.message, job.error)
    assert (job.progress_done, job.progress_total) == (2, 2)  # last year and this one
    assert job.result == {"changed": 1, "status_changed": 1}
    assert YearStatus.objects.get(learner=complete_learner).status == "in_progress"
    audit = AuditEntry.objects.get(action="region_policy.recompute")
    masked = f"新规定，{CALLER[:6]}********{CALLER[-4:]}来电"
    assert audit.reason == masked and audit.target_id == str(row.pk)
    assert job.params["reason"] == masked  # kept with the job: masked too
    assert city_admin.get(f"/staff/jobs/{job.pk}/").status_code == 200


def test_changing_rules_that_do_not_decide_completion_needs_no_recomputation(
    regions, city_admin, complete_learner
):
    response = city_admin.post(
        "/staff/rules/420100/new/", form_data(regions["420100"], YEAR, heartbeat_seconds=30)
    )
    assert response.status_code == 302
    assert RegionPolicy.objects.get(region=regions["420100"]).heartbeat_seconds == 30
    assert not AuditEntry.objects.filter(action="region_policy.recompute").exists()


def test_a_cap_on_the_page_applies_to_the_learners_year_after_recomputation(regions, city_admin):
    learner = collected_learner(district=regions["420102"])
    record(learner, 60, source="face_to_face")
    record(learner, 30, category=CreditEntry.Category.PUBLIC, source="paper")
    city_admin.post(
        "/staff/rules/420100/new/",
        form_data(regions["420100"], YEAR, cap_face_to_face=40, recompute="on", reason="上限"),
    )
    status = YearStatus.objects.get(learner=learner)
    assert (status.status, status.total_credits, status.professional_credits) == (
        "in_progress",
        70,
        40,
    )


# --- The API: the same service ----------------------------------------------------------


def put(client, path: str, body: dict):
    return client.put(path, data=json.dumps(body), content_type="application/json")


def post(client, path: str, body: dict):
    return client.post(path, data=json.dumps(body), content_type="application/json")


def test_the_api_refuses_with_the_count_then_recomputes_when_asked(
    regions, city_admin, complete_learner
):
    response = put(
        city_admin, f"/api/v1/staff/regions/420100/rules/{YEAR}", {"professional_credits": 70}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "recompute_required"
    assert "1" in body["fields"]["recompute"][0]
    assert not RegionPolicy.objects.filter(region=regions["420100"]).exists()
    response = put(
        city_admin,
        f"/api/v1/staff/regions/420100/rules/{YEAR}",
        {"professional_credits": 70, "recompute": True, "reason": "新规定"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["affected"] == 1
    assert body["recomputed"]["status_changed"] == 1
    assert body["policy"]["professional_credits"] == 70
    assert body["policy"]["annual_credits"] == 90  # the rest as in force before
    assert YearStatus.objects.get(learner=complete_learner).status == "in_progress"
    rows = city_admin.get("/api/v1/staff/regions/420100/rules").json()
    assert [r["effective_from"] for r in rows] == [YEAR]


def test_the_api_gives_field_errors_and_keeps_to_the_callers_region(
    regions, city_admin, make_user, client_for
):
    response = put(
        city_admin,
        f"/api/v1/staff/regions/420100/rules/{YEAR}",
        {"caps": {"face_to_face": -3}},
    )
    assert response.status_code == 422
    assert "cap_face_to_face" in response.json()["fields"]
    response = put(
        city_admin,
        f"/api/v1/staff/regions/420100/rules/{YEAR}",
        {"annual_credits": 30, "professional_credits": 60},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert put(city_admin, f"/api/v1/staff/regions/420000/rules/{YEAR}", {}).status_code == 404
    assert city_admin.get("/api/v1/staff/regions/420000/rules").status_code == 200
    officer = client_for(make_user(Role.DISTRICT_OFFICER, "420102"))
    assert put(officer, f"/api/v1/staff/regions/420102/rules/{YEAR}", {}).status_code == 403
    assert not RegionPolicy.objects.filter(region__code__in=["420100", "420102"]).exists()


def test_the_staff_console_shows_the_rules_tile_to_those_who_read_them(make_user, client_for):
    admin = client_for(make_user(Role.CITY_ADMIN, "420100"))
    assert 'href="/staff/rules/"' in admin.get("/staff/").content.decode()
    manager = client_for(make_user(Role.COURSE_MANAGER))
    assert 'href="/staff/rules/"' not in manager.get("/staff/").content.decode()


# --- The Django admin: read only ----------------------------------------------------------


def test_the_django_admin_shows_the_rules_and_their_caps_but_changes_nothing(
    regions, users, client_for
):
    row = RegionPolicy.objects.create(region=regions["420100"], effective_from=YEAR)
    RegionPolicyCap.objects.create(policy=row, source="face_to_face", max_credits=30)
    superuser = client_for(users["superuser"])
    before = AuditEntry.objects.count()

    listed = superuser.get("/admin/regions/regionpolicy/")
    assert listed.status_code == 200 and 'href="/staff/rules/"' in listed.content.decode()
    opened = superuser.get(f"/admin/regions/regionpolicy/{row.pk}/change/")
    assert opened.status_code == 200
    assert "face_to_face" in opened.content.decode() and 'href="/staff/rules/"' in (
        opened.content.decode()
    )
    assert superuser.get("/admin/regions/regionpolicy/add/").status_code == 403
    changed = superuser.post(
        f"/admin/regions/regionpolicy/{row.pk}/change/",
        {"region": row.region_id, "effective_from": YEAR, "annual_credits": 30},
    )
    assert changed.status_code == 403
    assert superuser.post(f"/admin/regions/regionpolicy/{row.pk}/delete/").status_code == 403
    superuser.post(
        "/admin/regions/regionpolicy/",
        {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"},
    )
    row.refresh_from_db()
    assert row.annual_credits == 90 and row.caps.count() == 1
    assert AuditEntry.objects.count() == before


def test_no_admin_page_writes_rules_caps_or_conversion_rows(users):
    from django.contrib import admin
    from django.test import RequestFactory

    from cpe.credits.models import ConversionRule

    request = RequestFactory().get("/admin/")
    request.user = users["superuser"]
    for model in (RegionPolicy, RegionPolicyCap, ConversionRule):
        model_admin = admin.site._registry.get(model)
        if model_admin is None:
            continue  # no admin page at all
        assert not model_admin.has_add_permission(request), model
        assert not model_admin.has_change_permission(request), model
        assert not model_admin.has_delete_permission(request), model
    inline = admin.site._registry[RegionPolicy].get_inline_instances(request)
    assert inline and not any(i.has_change_permission(request) for i in inline)


# --- A background recomputation that stops ----------------------------------------------


def _change_in_background(client, regions, year: int, **changes):
    """A change whose recomputation runs as a job (queued at commit: run it only if the
    caller captures the commit)."""
    return client.post(
        f"/staff/rules/420100/{year}/",
        form_data(regions["420100"], year, recompute="on", reason="新规定", **changes),
    )


def test_a_failed_recomputation_shows_on_the_rules_page_and_is_run_again_with_a_reason(
    regions,
    city_admin,
    complete_learner,
    make_user,
    client_for,
    settings,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    from cpe.regions import jobs

    settings.POLICY_RECOMPUTE_INLINE_MAX = 0
    RegionPolicy.objects.create(region=regions["420100"], effective_from=YEAR - 1)

    def broken(scope, **kwargs):
        raise RuntimeError("database went away")

    with monkeypatch.context() as patched, django_capture_on_commit_callbacks(execute=True):
        patched.setattr(jobs.hooks, "policy_recompute", broken)
        _change_in_background(city_admin, regions, YEAR - 1, annual_credits=100)
    stopped = Job.objects.get(kind="regions.recompute_year_status")
    assert stopped.state == Job.State.FAILED
    assert YearStatus.objects.get(learner=complete_learner).status == "complete"  # stale

    page = city_admin.get("/staff/rules/").content.decode()
    assert f'data-recomputation="{YEAR - 1}" data-job-state="failed"' in page
    assert stopped.message in page and f'href="/staff/jobs/{stopped.pk}/"' in page
    assert 'data-action="recompute-again"' in page
    # Those who only read Wuhan's rules see that its statuses may be stale, not the button.
    officer = client_for(make_user(Role.DISTRICT_OFFICER, "420102")).get("/staff/rules/")
    assert 'data-job-state="failed"' in officer.content.decode()
    assert 'data-action="recompute-again"' not in officer.content.decode()
    assert f'href="/staff/jobs/{stopped.pk}/"' not in officer.content.decode()

    url = f"/staff/rules/420100/{YEAR - 1}/recompute/"
    assert city_admin.post(url, {"reason": "  "}).status_code == 302
    assert Job.objects.filter(kind="regions.recompute_year_status").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = city_admin.post(url, {"reason": "作业中断，重新计算"})
    again = Job.objects.exclude(pk=stopped.pk).get(kind="regions.recompute_year_status")
    assert response.status_code == 302 and response["Location"] == f"/staff/jobs/{again.pk}/"
    again.refresh_from_db()
    assert again.state == Job.State.SUCCEEDED, again.error
    assert YearStatus.objects.get(learner=complete_learner).status == "in_progress"
    asked = AuditEntry.objects.get(action="region_policy.recompute_again")
    assert asked.reason == "作业中断，重新计算" and asked.actor.role == Role.CITY_ADMIN
    assert asked.changes["after"]["stopped_job"] == str(stopped.pk)
    assert asked.changes["after"]["years"] == [YEAR - 1, None]
    done = AuditEntry.objects.get(action="region_policy.recompute")
    assert done.reason == "作业中断，重新计算" and done.changes["after"]["status_changed"] == 1
    assert 'data-job-state="failed"' not in city_admin.get("/staff/rules/").content.decode()

    # Nothing stopped any more: a second click queues nothing.
    city_admin.post(url, {"reason": "再来一次"})
    assert Job.objects.filter(kind="regions.recompute_year_status").count() == 2


def test_a_recomputation_whose_worker_died_is_failed_by_the_housekeeping_and_run_again_by_api(
    regions, city_admin, complete_learner, settings, django_capture_on_commit_callbacks
):
    settings.POLICY_RECOMPUTE_INLINE_MAX = 0
    RegionPolicy.objects.create(region=regions["420100"], effective_from=YEAR - 1)
    _change_in_background(city_admin, regions, YEAR - 1, annual_credits=100)
    job = Job.objects.get(kind="regions.recompute_year_status")
    # The worker is killed mid-way: the job left running, silent for longer than allowed.
    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING)
    Job.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    page = city_admin.get("/staff/rules/").content.decode()
    assert f'data-recomputation="{YEAR - 1}" data-job-state="running"' in page
    url = f"/api/v1/staff/regions/420100/rules/{YEAR - 1}/recompute"
    body = {"reason": "作业中断"}
    assert post(city_admin, url, body).status_code == 422  # it may still be running

    assert jobs_housekeep()["stalled"] == 1
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and job.finished_at is not None
    rows = city_admin.get("/api/v1/staff/regions/420100/rules").json()
    listed = {row["effective_from"]: row["recomputation"] for row in rows}
    assert listed[YEAR - 1]["job"] == str(job.pk) and listed[YEAR - 1]["state"] == "failed"
    assert 'data-job-state="failed"' in city_admin.get("/staff/rules/").content.decode()

    assert post(city_admin, url, {"reason": ""}).status_code == 422
    with django_capture_on_commit_callbacks(execute=True):
        response = post(city_admin, url, body)
    assert response.status_code == 202
    again = Job.objects.get(pk=response.json()["job"])
    assert again.state == Job.State.SUCCEEDED, again.error
    assert YearStatus.objects.get(learner=complete_learner).status == "in_progress"
    assert AuditEntry.objects.filter(action="region_policy.recompute_again").count() == 1
    rows = city_admin.get("/api/v1/staff/regions/420100/rules").json()
    assert all(row["recomputation"] is None for row in rows)


def test_the_housekeeping_keeps_a_failed_recomputation_after_it_forgets_other_old_jobs(
    regions, city_admin
):
    row = RegionPolicy.objects.create(region=regions["420100"], effective_from=YEAR - 1)
    long_ago = timezone.now() - timedelta(days=91)
    stopped = Job.objects.create(
        kind="regions.recompute_year_status",
        state=Job.State.FAILED,
        params={"policy": row.pk},
        region_path=regions["420100"].path,
        finished_at=long_ago,
    )
    export = Job.objects.create(
        kind="regions.export_contacts", state=Job.State.FAILED, finished_at=long_ago
    )
    assert jobs_housekeep()["removed"] == 1
    assert Job.objects.filter(pk=stopped.pk).exists()
    assert not Job.objects.filter(pk=export.pk).exists()
    page = city_admin.get("/staff/rules/").content.decode()
    assert f'data-recomputation="{YEAR - 1}" data-job-state="failed"' in page


def test_only_an_administrator_of_the_region_runs_a_recomputation_again(
    regions, users, client_for, make_user
):
    row = RegionPolicy.objects.create(region=regions["420100"], effective_from=YEAR - 1)
    stopped = Job.objects.create(
        kind="regions.recompute_year_status",
        state=Job.State.FAILED,
        params={"policy": row.pk},
        region_path=regions["420100"].path,
    )
    url = f"/api/v1/staff/regions/420100/rules/{YEAR - 1}/recompute"
    body = {"reason": "作业中断"}
    officer = client_for(make_user(Role.DISTRICT_OFFICER, "420102"))
    assert post(officer, url, body).status_code == 403
    assert post(client_for(users["city_admin_elsewhere"]), url, body).status_code == 404
    assert post(client_for(users["auditor"]), url, body).status_code == 403
    hubei = RegionPolicy.objects.filter(region=regions["420000"]).first()
    hubei_url = f"/api/v1/staff/regions/420000/rules/{hubei.effective_from}/recompute"
    assert post(client_for(users["city_admin"]), hubei_url, body).status_code == 404
    assert officer.post(f"/staff/rules/420100/{YEAR - 1}/recompute/", body).status_code == 403
    assert Job.objects.exclude(pk=stopped.pk).count() == 0
    assert not AuditEntry.objects.filter(action="region_policy.recompute_again").exists()
