"""Offices' API keys: issued and revoked by province administrators (audited), stored only as
a digest, accepted without a proof-of-work under their own limit, counted per key. The staff
page issues on POST and shows the new key once, on the GET after the redirect."""

from __future__ import annotations

import base64
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


def test_an_id_number_in_the_reason_for_revoking_is_kept_masked(id_number, office_key, users):
    key, _raw = office_key
    office_key_revoke(
        actor=Actor(user=users["province_admin"]), key=key, reason=f"查询了 {id_number}"
    )
    key.refresh_from_db()
    assert key.revoke_reason == f"查询了 {id_number[:6]}********{id_number[-4:]}"


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


def _shown_keys(response) -> list[str]:
    return re.findall(r"data-key-value>([^<]+)<", response.content.decode())


def _issue_on_the_page(client, regions, office: str = "湖北省职称评审办公室"):
    return client.post("/staff/office-keys/", {"office": office, "region": regions["420000"].pk})


def test_the_staff_page_shows_a_new_key_once_and_revokes_with_a_reason(users, regions, client_for):
    client = client_for(users["province_admin"])

    issued = _issue_on_the_page(client, regions)
    shown = client.get(issued["Location"])
    (raw,) = _shown_keys(shown)
    listed = client.get("/staff/office-keys/")
    key = OfficeApiKey.objects.get()
    revoked = client.post(f"/staff/office-keys/{key.pk}/revoke/", {"reason": "密钥泄露"})

    assert shown.status_code == 200 and "no-store" in shown["Cache-Control"]
    assert raw.startswith("cpeq_")
    assert raw not in listed.content.decode()
    assert key.prefix in listed.content.decode()
    assert revoked.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_by == users["province_admin"]
    assert key.revoke_reason == "密钥泄露"


def test_issuing_on_the_page_redirects_and_the_page_after_shows_the_key_once(
    users, regions, client_for
):
    client = client_for(users["province_admin"])

    issued = _issue_on_the_page(client, regions)
    shown = client.get(issued["Location"])
    again = client.get("/staff/office-keys/")

    assert issued.status_code == 302 and issued["Location"] == "/staff/office-keys/"
    assert issued.content == b""  # the key is never in the answer to the POST
    (raw,) = _shown_keys(shown)
    assert "不会再次显示" in shown.content.decode()  # "it will not be shown again"
    assert _shown_keys(again) == [] and raw not in again.content.decode()
    assert raw.startswith(OfficeApiKey.objects.get().prefix)


def test_reloading_the_page_after_issuing_shows_no_key_and_issues_none(users, regions, client_for):
    client = client_for(users["province_admin"])
    issued = _issue_on_the_page(client, regions)
    client.get(issued["Location"])

    reloaded = [client.get("/staff/office-keys/") for _ in range(3)]

    assert all(_shown_keys(page) == [] for page in reloaded)
    assert OfficeApiKey.objects.count() == 1
    assert AuditEntry.objects.filter(action="office_key.issue").count() == 1


def test_a_key_waiting_to_be_shown_is_not_kept_in_the_clear(users, regions, client_for):
    client = client_for(users["province_admin"])
    _issue_on_the_page(client, regions)
    stored = database_dump() + repr(dict(client.session))  # between the POST and the GET

    (raw,) = _shown_keys(client.get("/staff/office-keys/"))

    assert raw not in stored
    assert raw not in database_dump() + repr(dict(client.session))


def test_two_keys_issued_before_the_page_is_shown_are_both_shown_once(users, regions, client_for):
    client = client_for(users["province_admin"])
    _issue_on_the_page(client, regions)
    _issue_on_the_page(client, regions)  # a double click

    shown = _shown_keys(client.get("/staff/office-keys/"))

    assert len(shown) == 2 and len(set(shown)) == 2
    prefixes = OfficeApiKey.objects.values_list("prefix", flat=True)
    assert all(any(key.startswith(prefix) for key in shown) for prefix in prefixes)
    assert _shown_keys(client.get("/staff/office-keys/")) == []


def test_a_key_the_server_can_no_longer_decrypt_is_not_shown_and_the_page_says_so(
    users, regions, client_for, settings
):
    client = client_for(users["province_admin"])
    _issue_on_the_page(client, regions)
    settings.FIELD_ENCRYPTION_KEYS = "k9:" + base64.b64encode(bytes(32)).decode()  # rotated

    page = client.get("/staff/office-keys/")

    assert page.status_code == 200 and _shown_keys(page) == []
    assert "新密钥未能显示" in page.content.decode()
    assert _shown_keys(client.get("/staff/office-keys/")) == []


def test_a_refused_form_issues_nothing_and_shows_the_problem(users, regions, client_for):
    client = client_for(users["province_admin"])

    refused = _issue_on_the_page(client, regions, office="   ")

    assert refused.status_code == 200
    assert _shown_keys(refused) == []
    assert not OfficeApiKey.objects.exists()


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
