"""Offices' API keys: issued and revoked by province administrators (audited), stored only as
a digest, accepted without a proof-of-work under their own limit, counted per key."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from cpe.core.models import AuditEntry
from cpe.core.services import Actor
from cpe.core.testing import database_dump
from cpe.public.models import OfficeApiKey
from cpe.public.services import office_key_issue, office_key_revoke
from cpe.public.tests.conftest import NAME
from cpe.regions.services import region_upsert
from cpe.registry.testing import make_id_number

pytestmark = pytest.mark.django_db


@pytest.fixture
def office_key(users, regions):
    return office_key_issue(
        actor=Actor(user=users["province_admin"]),
        office="湖北省会计考试办公室",
        region=regions["420000"],
    )


def test_an_office_key_skips_the_proof_of_work_and_counts_each_query(
    ask, person, id_number, office_key
):
    key, raw = office_key
    for sequence in range(6):  # well past the free queries of one address
        response = ask(
            {"id_number": make_id_number(sequence=100 + sequence), "name": NAME},
            authorization=f"Bearer {raw}",
        )
        assert response.status_code == 404
    answer = ask(
        {"id_number": id_number, "name": NAME, "year": person.qualification_year + 1},
        authorization=f"Bearer {raw}",
    )

    assert answer.status_code == 200
    assert answer.json()["complete"] is True
    key.refresh_from_db()
    assert key.query_count == 7
    assert key.last_used_at is not None


def test_an_office_key_has_its_own_limit(ask, office_key, settings):
    settings.PUBLIC_QUERY_RATE_OFFICE = "2/3600"
    _key, raw = office_key
    for sequence in range(2):
        ask(
            {"id_number": make_id_number(sequence=150 + sequence), "name": NAME},
            authorization=f"Bearer {raw}",
        )

    refused = ask(
        {"id_number": make_id_number(sequence=160), "name": NAME}, authorization=f"Bearer {raw}"
    )

    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_queries"
    assert 0 < int(refused["Retry-After"]) <= 3600


def test_a_revoked_key_is_refused(ask, person, id_number, office_key, users):
    key, raw = office_key
    office_key_revoke(actor=Actor(user=users["province_admin"]), key=key, reason="合作结束")

    response = ask({"id_number": id_number, "name": NAME}, authorization=f"Bearer {raw}")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_api_key"
    key.refresh_from_db()
    assert key.query_count == 0


def test_an_unknown_key_is_refused_rather_than_treated_as_anyone(ask, person, id_number):
    response = ask({"id_number": id_number, "name": NAME}, authorization="Bearer cpeq_guess")

    assert response.status_code == 401


def test_only_the_digest_of_a_key_is_stored_and_issuing_is_audited(office_key):
    key, raw = office_key

    assert raw.startswith(key.prefix) and len(raw) > 40
    assert raw not in database_dump()
    entry = AuditEntry.objects.get(action="office_key.issue")
    assert entry.target_id == str(key.pk)
    assert raw not in str(entry.changes)


def test_revoking_needs_a_reason_happens_once_and_is_audited(office_key, users):
    key, _raw = office_key
    actor = Actor(user=users["province_admin"])
    with pytest.raises(ValidationError):
        office_key_revoke(actor=actor, key=key, reason="  ")

    office_key_revoke(actor=actor, key=key, reason="合作结束")
    with pytest.raises(ValidationError):
        office_key_revoke(actor=actor, key=key, reason="再次")

    entry = AuditEntry.objects.get(action="office_key.revoke")
    assert entry.reason == "合作结束"


def test_keys_are_issued_only_for_a_province_in_the_administrators_scope(users, regions):
    from cpe.regions.models import Region
    from cpe.regions.services import region_upsert

    hunan = region_upsert(
        actor=Actor.for_system("tests"), code="430000", name="湖南省", name_en="Hunan", parent=None
    )
    actor = Actor(user=users["province_admin"])
    with pytest.raises(ValidationError):
        office_key_issue(actor=actor, office="考试办", region=regions["420100"])
    with pytest.raises(PermissionDenied):
        office_key_issue(actor=actor, office="考试办", region=hunan)
    assert hunan.level == Region.Level.PROVINCE
    assert not OfficeApiKey.objects.exists()


def test_the_staff_page_shows_a_new_key_once_and_revokes_with_a_reason(users, regions, client_for):
    client = client_for(users["province_admin"])

    issued = client.post(
        "/staff/office-keys/", {"office": "湖北省职称评审办公室", "region": regions["420000"].pk}
    )
    raw = re.search(r"data-key-value>([^<]+)<", issued.content.decode()).group(1)
    listed = client.get("/staff/office-keys/")
    key = OfficeApiKey.objects.get()
    revoked = client.post(f"/staff/office-keys/{key.pk}/revoke/", {"reason": "密钥泄露"})

    assert issued.status_code == 200 and "no-store" in issued["Cache-Control"]
    assert raw.startswith("cpeq_")
    assert raw not in listed.content.decode()
    assert key.prefix in listed.content.decode()
    assert revoked.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_by == users["province_admin"]
    assert key.revoke_reason == "密钥泄露"


def test_a_key_elsewhere_is_not_found_for_a_province_administrator(users, regions, client_for):
    from cpe.regions.services import region_upsert

    hunan = region_upsert(
        actor=Actor.for_system("tests"), code="430000", name="湖南省", name_en="Hunan", parent=None
    )
    key, _raw = office_key_issue(
        actor=Actor(user=users["superuser"]), office="湖南省考试院", region=hunan
    )
    client = client_for(users["province_admin"])

    assert key.prefix not in client.get("/staff/office-keys/").content.decode()
    response = client.post(f"/staff/office-keys/{key.pk}/revoke/", {"reason": "不是我的"})
    assert response.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_the_staff_console_offers_the_keys_to_province_administrators_only(users, client_for):
    assert (
        "/staff/office-keys/" in client_for(users["province_admin"]).get("/staff/").content.decode()
    )
    assert (
        "/staff/office-keys/" not in client_for(users["city_admin"]).get("/staff/").content.decode()
    )


def test_the_django_admin_shows_keys_but_changes_nothing(office_key, users, client_for):
    key, raw = office_key
    client = client_for(users["superuser"])

    listed = client.get("/admin/public/officeapikey/")
    opened = client.get(f"/admin/public/officeapikey/{key.pk}/change/")

    assert listed.status_code == 200 and key.prefix in listed.content.decode()
    assert opened.status_code == 200
    assert key.key_hash not in opened.content.decode() and raw not in opened.content.decode()
    assert client.get("/admin/public/officeapikey/add/").status_code == 403


def test_a_key_answers_only_for_the_province_that_issued_it(ask, person, id_number, users):
    hunan = region_upsert(actor=Actor.for_system("tests"), code="430000", name="湖南省")
    _key, raw = office_key_issue(
        actor=Actor(user=users["superuser"]), office="湖南省会计考试办公室", region=hunan
    )
    elsewhere = ask({"id_number": id_number, "name": NAME}, authorization=f"Bearer {raw}")
    assert elsewhere.status_code == 404
    assert elsewhere.json()["code"] == "no_match"
