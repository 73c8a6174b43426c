from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cpe.core.models import AuditEntry
from cpe.core.services import Actor
from cpe.registry.models import Learner
from cpe.registry.services import learner_collect
from cpe.registry.testing import ID_NUMBER, PDF_BYTES, learner_details, make_id_number


@pytest.fixture
def officer_client(users, client_for):
    return client_for(users["district_officer"])


@pytest.fixture
def learner(users, regions) -> Learner:
    return learner_collect(
        actor=Actor(user=users["district_officer"]),
        district=regions["420102"],
        details=learner_details(),
    )


FORM = {
    "id_number": ID_NUMBER,
    "name": "张晓梅",
    "mobile": "13800138000",
    "employer_name": "武汉市某某会计师事务所",
    "employer_uscc": "91350100M000100Y43",
    "qualification_level": "junior",
    "certificate_number": "",
    "qualification_year": "2020",
}


def test_an_officer_collects_a_learner_in_their_own_district(officer_client, regions):
    response = officer_client.post(
        "/staff/learners/new/", {**FORM, "district": regions["420102"].pk}
    )
    learner = Learner.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/staff/learners/{learner.pk}/"
    assert learner.district.code == "420102"


def test_an_officer_cannot_collect_into_another_district_by_editing_the_form(
    officer_client, regions
):
    response = officer_client.post(
        "/staff/learners/new/", {**FORM, "district": regions["420111"].pk}
    )
    assert response.status_code == 200
    assert "district" in response.context["form"].errors
    assert not Learner.objects.exists()


def test_field_errors_appear_next_to_their_fields_in_chinese(officer_client, regions):
    response = officer_client.post(
        "/staff/learners/new/",
        {
            **FORM,
            "id_number": "420102198001011232",
            "mobile": "123",
            "district": regions["420102"].pk,
        },
    )
    errors = response.context["form"].errors
    assert set(errors) == {"id_number", "mobile"}
    page = response.content.decode()
    assert "校验码" in page or "身份证" in page
    assert not Learner.objects.exists()


def test_the_search_box_finds_by_id_number_mobile_name_and_employer(officer_client, users, regions):
    actor = Actor(user=users["district_officer"])
    learner_collect(actor=actor, district=regions["420102"], details=learner_details())
    learner_collect(
        actor=actor,
        district=regions["420102"],
        details=learner_details(
            id_number=make_id_number(sequence=5),
            name="李四",
            mobile="13900000001",
            employer_name="汉口银行",
        ),
    )

    def names(query: str) -> list[str]:
        response = officer_client.get("/staff/learners/", {"q": query})
        return [learner.name for learner in response.context["page"]]

    assert names(ID_NUMBER.lower()) == ["张晓梅"]
    assert names("13900000001") == ["李四"]
    assert names("晓梅") == ["张晓梅"]
    assert names("汉口") == ["李四"]
    assert names("420102") == []  # part of a number finds nothing: numbers match exactly
    assert sorted(names("")) == ["张晓梅", "李四"]


def test_other_districts_learners_do_not_appear_and_cannot_be_opened(users, client_for, learner):
    hongshan = client_for(users["officer_elsewhere"])
    assert list(hongshan.get("/staff/learners/").context["page"]) == []
    assert list(hongshan.get("/staff/learners/", {"q": ID_NUMBER}).context["page"]) == []
    assert hongshan.get(f"/staff/learners/{learner.pk}/").status_code == 404


def test_the_page_shows_the_masked_number_until_show_is_pressed(officer_client, users, learner):
    page = officer_client.get(f"/staff/learners/{learner.pk}/").content.decode()
    assert "420102********159X" in page and ID_NUMBER not in page
    response = officer_client.post(f"/staff/learners/{learner.pk}/reveal/")
    assert ID_NUMBER in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert AuditEntry.objects.filter(
        action="learner.reveal_id_number", actor=users["district_officer"]
    ).exists()


def test_the_edit_form_never_carries_the_full_number(officer_client, learner):
    page = officer_client.get(f"/staff/learners/{learner.pk}/edit/").content.decode()
    assert ID_NUMBER not in page and "420102********159X" in page
    data = {**FORM, "id_number": "", "mobile": "13912345678", "reason": "换号"}
    response = officer_client.post(f"/staff/learners/{learner.pk}/edit/", data)
    assert response.status_code == 302
    learner.refresh_from_db()
    assert learner.mobile == "13912345678" and learner.reveal_id_number() == ID_NUMBER


def test_a_document_uploads_and_opens_for_the_district(officer_client, learner):
    upload = SimpleUploadedFile("在职证明.pdf", PDF_BYTES, content_type="application/pdf")
    response = officer_client.post(
        f"/staff/learners/{learner.pk}/evidence/", {"kind": "employment", "file": upload}
    )
    assert response.status_code == 302
    evidence = learner.evidence.get()
    download = officer_client.get(f"/staff/learners/{learner.pk}/evidence/{evidence.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF_BYTES
    assert download["Content-Type"] == "application/pdf"


def test_a_wrong_file_is_refused_with_a_reason_on_the_page(officer_client, learner):
    upload = SimpleUploadedFile("证明.pdf", b"just some text", content_type="application/pdf")
    response = officer_client.post(
        f"/staff/learners/{learner.pk}/evidence/", {"kind": "employment", "file": upload}
    )
    assert response.status_code == 422
    assert "PDF" in response.context["evidence_form"].errors["file"][0]
    assert not learner.evidence.exists()


def test_a_transfer_is_asked_listed_and_accepted_through_the_pages(
    officer_client, users, client_for, regions, learner
):
    response = officer_client.post(
        f"/staff/learners/{learner.pk}/transfer/",
        {"to_district": regions["420111"].pk, "reason": "调往洪山区单位"},
    )
    assert response.status_code == 302
    hongshan = client_for(users["officer_elsewhere"])
    incoming = hongshan.get("/staff/learners/transfers/").context["incoming"]
    assert [item.pk for item in incoming] == [learner.pk]
    assert hongshan.get(f"/staff/learners/{learner.pk}/").status_code == 200
    # The receiving district decides on the record but does not open its documents.
    assert officer_client.post(f"/staff/learners/{learner.pk}/transfer/accept/").status_code == 403
    assert hongshan.post(f"/staff/learners/{learner.pk}/transfer/accept/").status_code == 302
    learner.refresh_from_db()
    assert learner.district.code == "420111" and learner.status == "collected"
    assert officer_client.get(f"/staff/learners/{learner.pk}/").status_code == 404
