from __future__ import annotations

import csv
import io

import pytest
from django.core.exceptions import ValidationError

from cpe.core.models import AuditEntry
from cpe.core.services import Actor
from cpe.regions.models import Bureau, Region
from cpe.regions.services import bureau_save, region_upsert


def test_the_demo_tree_is_hubei_wuhan_and_thirteen_districts(regions):
    wuhan = regions["420100"]
    assert (wuhan.level, wuhan.parent.code) == ("city", "420000")
    districts = Region.objects.filter(parent=wuhan)
    assert districts.count() == 13
    assert {d.level for d in districts} == {"district"}
    assert regions["420111"].path == "420000/420100/420111/"
    assert set(Region.objects.within(wuhan.path).districts().values_list("code", flat=True)) == {
        d.code for d in districts
    }


def test_a_district_cannot_contain_regions(regions, system_actor):
    with pytest.raises(ValidationError):
        region_upsert(actor=system_actor, code="420199", name="x", parent=regions["420102"])


def test_a_region_code_has_six_digits(regions, system_actor):
    with pytest.raises(ValidationError):
        region_upsert(actor=system_actor, code="42A100", name="x", parent=regions["420000"])


def test_upserting_the_same_region_again_changes_nothing(regions, system_actor):
    before = AuditEntry.objects.count()
    region_upsert(
        actor=system_actor,
        code="420102",
        name="江岸区",
        name_en="Jiang'an District",
        parent=regions["420100"],
    )
    assert AuditEntry.objects.count() == before


def test_saving_bureau_contacts_audits_only_what_changed(regions, users):
    actor = Actor(user=users["district_officer"], ip="192.0.2.5")
    bureau = Bureau.objects.get(region=regions["420102"])
    bureau_save(
        actor=actor,
        region=regions["420102"],
        name=bureau.name,
        address=bureau.address,
        phones="027-11112222, 027-33334444",
    )
    entry = AuditEntry.objects.filter(action="bureau.update").latest("id")
    assert entry.changes["after"] == {"phones": "027-11112222, 027-33334444"}
    assert entry.actor == users["district_officer"] and entry.ip == "192.0.2.5"
    assert Bureau.objects.get(pk=bureau.pk).phone_list == ["027-11112222", "027-33334444"]
    # Saving the same values again writes no audit entry.
    count = AuditEntry.objects.count()
    bureau_save(
        actor=actor,
        region=regions["420102"],
        name=bureau.name,
        address=bureau.address,
        phones="027-11112222, 027-33334444",
    )
    assert AuditEntry.objects.count() == count


def test_the_edit_page_saves_and_rejects_a_form_without_phones(regions, users, client_for):
    client = client_for(users["district_officer"])
    response = client.post(
        "/staff/contacts/420102/",
        {"name": "江岸区财政局", "address": "新地址 1 号", "phones": ""},
    )
    assert response.status_code == 200
    assert "phones" in response.context["form"].errors
    assert Bureau.objects.get(region__code="420102").address != "新地址 1 号"

    response = client.post(
        "/staff/contacts/420102/",
        {"name": "江岸区财政局", "address": "新地址 1 号", "phones": "027-1"},
    )
    assert response.status_code == 302
    assert Bureau.objects.get(region__code="420102").address == "新地址 1 号"


def test_the_help_page_lists_every_wuhan_district(client, regions):
    response = client.get("/help/")
    assert response.status_code == 200
    text = response.content.decode()
    for name in ["江岸区财政局", "洪山区财政局", "新洲区财政局", "武汉市会计考办", "400-628-6677"]:
        assert name in text
    assert response.context["contacts"].own_district is None


def test_a_signed_in_learner_sees_their_own_district_first(regions, make_user, client_for):
    learner = make_user("learner", "420111")
    response = client_for(learner).get("/help/")
    contacts = response.context["contacts"]
    assert contacts.own_district.region.code == "420111"
    text = response.content.decode()
    assert text.index("洪山区财政局") < text.index("江岸区财政局")
    # ...and it is not listed a second time further down.
    assert text.count("洪山区财政局") == 1


def test_the_help_page_lists_the_learners_city_first(regions, make_user, client_for):
    learner = make_user("learner", "420502")
    cities = client_for(learner).get("/help/").context["contacts"].cities
    assert [c.city.code for c in cities][:2] == ["420500", "420100"]


def test_the_contacts_export_is_a_csv_of_the_starters_scope(
    regions, users, client_for, django_capture_on_commit_callbacks
):
    client = client_for(users["district_officer"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/staff/contacts/export/")
    job_url = response["Location"]
    data = client.get(job_url.replace("/staff/jobs/", "/api/v1/jobs/").rstrip("/")).json()
    assert data["state"] == "succeeded"
    content = b"".join(client.get(data["download_url"]).streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0][0] == "区划代码"
    assert [r[0] for r in rows[1:]] == ["420102"]  # an officer's scope is their district


def test_the_regions_api_lists_districts_with_their_bureaus(client, regions):
    response = client.get("/api/v1/regions", {"parent": "420100"})
    assert response.status_code == 200
    body = response.json()
    assert len(body) == 13
    jiangan = next(r for r in body if r["code"] == "420102")
    assert jiangan["bureau"]["name"] == "江岸区财政局"
    assert jiangan["parent_code"] == "420100"
    assert client.get("/api/v1/regions/420102").json()["name"] == "江岸区"
