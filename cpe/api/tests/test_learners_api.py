from __future__ import annotations

import pytest

from cpe.core.models import AuditEntry
from cpe.core.services import Actor
from cpe.registry.models import Learner
from cpe.registry.services import learner_collect
from cpe.registry.testing import ID_NUMBER, learner_details, make_id_number

BODY = {
    "id_number": ID_NUMBER,
    "name": "张晓梅",
    "mobile": "13800138000",
    "employer_name": "武汉市某某会计师事务所",
    "employer_uscc": "91350100M000100Y43",
    "qualification_level": "junior",
    "qualification_year": 2020,
}


@pytest.fixture
def officer(users, client_for):
    return client_for(users["district_officer"])


@pytest.fixture
def learner(users, regions) -> Learner:
    return learner_collect(
        actor=Actor(user=users["district_officer"]),
        district=regions["420102"],
        details=learner_details(),
    )


def test_an_officer_collects_through_the_api_into_their_own_district(officer, regions):
    response = officer.post("/api/v1/learners", BODY, content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    assert body["district_code"] == "420102" and body["id_number_masked"] == "420102********159X"
    assert ID_NUMBER not in response.content.decode()
    assert Learner.objects.get().pk == body["id"]


def test_bad_fields_come_back_as_422_with_every_field_named(officer, regions):
    response = officer.post(
        "/api/v1/learners",
        {**BODY, "id_number": "420102198001011232", "mobile": "1"},
        content_type="application/json",
        headers={"Accept-Language": "zh-hans"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert set(body["fields"]) == {"id_number", "mobile"}
    assert not Learner.objects.exists()


def test_a_duplicate_is_refused_naming_the_holding_district(users, client_for, learner):
    hongshan = client_for(users["officer_elsewhere"])
    response = hongshan.post("/api/v1/learners", BODY, content_type="application/json")
    assert response.status_code == 422
    assert "Jiang'an" in response.json()["fields"]["id_number"][0] or "江岸" in str(response.json())


def test_search_stays_inside_the_callers_district(users, client_for, learner, regions):
    learner_collect(
        actor=Actor(user=users["officer_elsewhere"]),
        district=regions["420111"],
        details=learner_details(id_number=make_id_number("420111", sequence=3), name="王五"),
    )
    jiangan = client_for(users["district_officer"]).get("/api/v1/learners").json()
    assert [item["name"] for item in jiangan["items"]] == ["张晓梅"]
    city = client_for(users["city_admin"]).get("/api/v1/learners").json()
    assert city["count"] == 2
    found = client_for(users["district_officer"]).get("/api/v1/learners", {"q": ID_NUMBER}).json()
    assert found["count"] == 1


def test_another_districts_learner_is_a_404_for_reading_and_changing(users, client_for, learner):
    hongshan = client_for(users["officer_elsewhere"])
    assert hongshan.get(f"/api/v1/learners/{learner.pk}").status_code == 404
    response = hongshan.put(
        f"/api/v1/learners/{learner.pk}",
        {**BODY, "mobile": "13911112222"},
        content_type="application/json",
    )
    assert response.status_code == 404
    learner.refresh_from_db()
    assert learner.mobile == "13800138000"


def test_a_reader_may_look_but_not_change(users, client_for, learner):
    city = client_for(users["city_admin"])
    assert city.get(f"/api/v1/learners/{learner.pk}").status_code == 200
    response = city.put(
        f"/api/v1/learners/{learner.pk}", {**BODY, "id_number": ""}, content_type="application/json"
    )
    assert response.status_code == 403


def test_an_update_keeps_the_number_when_it_is_left_empty(officer, learner):
    response = officer.put(
        f"/api/v1/learners/{learner.pk}",
        {**BODY, "id_number": "", "employer_name": "汉口银行", "reason": "换单位"},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["employer_name"] == "汉口银行"
    learner.refresh_from_db()
    assert learner.reveal_id_number() == ID_NUMBER


def test_a_transfer_goes_through_the_api_and_the_receiver_accepts(
    officer, users, client_for, learner
):
    response = officer.post(
        f"/api/v1/learners/{learner.pk}/transfer",
        {"to_district_code": "420111", "reason": "调往洪山"},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["status"] == "transfer_pending"
    hongshan = client_for(users["officer_elsewhere"])
    incoming = hongshan.get("/api/v1/learners/transfers").json()["incoming"]
    assert [item["id"] for item in incoming] == [learner.pk]
    accepted = hongshan.post(f"/api/v1/learners/{learner.pk}/transfer/accept")
    assert accepted.status_code == 200 and accepted.json()["district_code"] == "420111"


def test_a_transfer_to_an_unknown_district_names_the_field(officer, learner):
    response = officer.post(
        f"/api/v1/learners/{learner.pk}/transfer",
        {"to_district_code": "999999", "reason": "x"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "to_district_code" in response.json()["fields"]


def test_deregistering_needs_a_reason(officer, learner):
    response = officer.post(
        f"/api/v1/learners/{learner.pk}/deregister",
        {"reason": " "},
        content_type="application/json",
    )
    assert response.status_code == 422 and "reason" in response.json()["fields"]
    response = officer.post(
        f"/api/v1/learners/{learner.pk}/deregister",
        {"reason": "离开会计岗位"},
        content_type="application/json",
    )
    assert response.json()["status"] == "deregistered"


def test_the_full_number_is_given_to_the_districts_officer_only_and_audited(
    officer, users, client_for, learner
):
    response = officer.post(f"/api/v1/learners/{learner.pk}/reveal")
    assert response.json() == {"id_number": ID_NUMBER}
    assert AuditEntry.objects.filter(action="learner.reveal_id_number").count() == 1
    assert (
        client_for(users["city_admin"]).post(f"/api/v1/learners/{learner.pk}/reveal").status_code
        == 403
    )


def test_the_learner_api_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/learners",
        "/api/v1/learners/{learner_id}",
        "/api/v1/learners/{learner_id}/transfer",
        "/api/v1/learners/transfers",
    ):
        assert path in paths


def test_a_temporary_password_opens_no_staff_api_until_it_is_changed(users, client_for):
    officer = users["district_officer"]
    officer.must_change_password = True
    officer.save(update_fields=["must_change_password"])
    response = client_for(officer).get("/api/v1/learners", headers={"Accept-Language": "en"})
    assert response.status_code == 403
    assert "password" in response.json()["message"]
