from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from cpe.core.services import audit_record
from cpe.regions.services import bureau_save


def _change_bureau(actor, region, phones):
    return bureau_save(actor=actor, region=region, name="局", address="地址", phones=phones)


def test_the_audit_page_filters_by_person_action_and_record(users, regions, client_for):
    from cpe.core.services import Actor

    officer = Actor(user=users["district_officer"], ip="192.0.2.1")
    bureau = _change_bureau(officer, regions["420102"], "027-1")
    audit_record(
        actor=Actor(user=users["city_admin"]), action="notice.create", target=regions["420100"]
    )

    client = client_for(users["auditor"])
    page = client.get("/staff/audit/", {"person": "district_officer"})
    assert page.status_code == 200
    shown = list(page.context["page"])
    assert shown and all(e.actor_label == "district_officer" for e in shown)

    by_action = client.get("/staff/audit/", {"action": "notice."}).context["page"]
    assert {e.action for e in by_action} == {"notice.create"}

    by_record = client.get("/staff/audit/", {"record": str(bureau.pk)}).context["page"]
    assert {e.target_type for e in by_record} >= {"regions.bureau"}


def test_the_audit_page_filters_by_date(users, regions, client_for, system_actor):
    audit_record(actor=system_actor, action="test.today", target=regions["420102"])
    client = client_for(users["auditor"])
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert not list(client.get("/staff/audit/", {"date_from": tomorrow}).context["page"])
    today = timezone.localdate().isoformat()
    shown = client.get("/staff/audit/", {"date_from": today, "date_to": today}).context["page"]
    assert "test.today" in {e.action for e in shown}


def test_a_reversed_date_range_is_explained(users, client_for):
    page = client_for(users["auditor"]).get(
        "/staff/audit/", {"date_from": "2026-02-01", "date_to": "2026-01-01"}
    )
    assert page.status_code == 200
    assert "date_to" in page.context["form"].errors


def test_a_city_administrator_sees_only_their_citys_entries(
    users, regions, client_for, system_actor
):
    audit_record(actor=system_actor, action="test.wuhan", target=regions["420102"])
    audit_record(actor=system_actor, action="test.yichang", target=regions["420502"])
    page = client_for(users["city_admin"]).get("/staff/audit/", {"action": "test."})
    seen = {e.action for e in page.context["page"]}
    assert seen == {"test.wuhan"}
    page = client_for(users["province_admin"]).get("/staff/audit/", {"action": "test."})
    assert {e.action for e in page.context["page"]} == {"test.wuhan", "test.yichang"}


def test_the_audit_api_gives_the_same_entries(users, regions, client_for, system_actor):
    audit_record(actor=system_actor, action="test.api", target=regions["420102"])
    response = client_for(users["auditor"]).get("/api/v1/audit", {"action": "test.api"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["items"][0]["action"] == "test.api"
