from __future__ import annotations

import pytest
from django.db import connection
from django.test import RequestFactory, override_settings

from cpe.core.models import AppendOnlyError, AuditEntry
from cpe.core.privacy import contains_id_number, id_check_character
from cpe.core.services import Actor, audit_record, client_ip


@pytest.fixture
def entry(regions, system_actor) -> AuditEntry:
    return audit_record(actor=system_actor, action="test.thing", target=regions["420102"])


def test_it_keeps_only_the_fields_that_changed(regions, system_actor):
    entry = audit_record(
        actor=system_actor,
        action="bureau.update",
        target=regions["420102"],
        before={"phones": "1", "address": "same"},
        after={"phones": "2", "address": "same"},
    )
    assert entry.changes == {"before": {"phones": "1"}, "after": {"phones": "2"}}
    assert entry.region_path == "420000/420100/420102/"
    assert entry.target_type == "regions.region"
    assert entry.actor_label == "system:tests"


def test_id_numbers_typed_into_a_reason_or_a_changed_field_are_kept_masked(regions, system_actor):
    entry = audit_record(
        actor=system_actor,
        action="bureau.update",
        target=regions["420102"],
        before={"note": ["交给 420102198503120024 处理"]},
        after={"note": ["order 420102198503120021 and 420102198503120024x"]},
        reason="身份证号420102198503120024的学员申请转出",
    )
    entry.refresh_from_db()
    assert entry.reason == "身份证号420102********0024的学员申请转出"
    assert entry.changes["before"] == {"note": ["交给 420102********0024 处理"]}
    # A long number whose check character does not fit, or glued to a letter, is not one.
    assert entry.changes["after"] == {"note": ["order 420102198503120021 and 420102198503120024x"]}
    stored = AuditEntry.objects.filter(pk=entry.pk).values_list("reason", "changes").get()
    assert "198503120024" not in str(stored).replace("420102198503120024x", "")


def test_a_long_number_whose_check_character_fits_but_whose_birth_date_does_not_exist_is_kept(
    regions, system_actor
):
    """One long number of another kind in eleven has a check character that fits."""
    body = "42010219851350001"  # born in the thirteenth month
    number = body + id_check_character(body)
    entry = audit_record(
        actor=system_actor, action="bureau.update", target=regions["420102"], reason=number
    )
    assert entry.reason == number
    assert not contains_id_number(f"证书编号 {number}")
    assert contains_id_number("证书编号 420102198503120024")


def test_it_refuses_to_change_an_entry_through_the_model(entry):
    entry.action = "forged"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()


def test_it_refuses_bulk_updates_and_deletes(entry):
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="forged")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "test.thing"


@pytest.mark.postgres
def test_postgresql_refuses_an_update_behind_the_applications_back(entry):
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL only")
    from django.db import DatabaseError, transaction

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE core_auditentry SET action = 'forged' WHERE id = %s", [entry.pk])
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM core_auditentry WHERE id = %s", [entry.pk])


def test_it_records_the_callers_address():
    request = RequestFactory().get("/", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="1.1.1.1")
    assert client_ip(request) == "10.1.2.3"  # no proxy configured: the header is not trusted


@override_settings(NUM_PROXIES=1)
def test_it_trusts_forwarded_for_only_as_far_as_the_configured_proxies():
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9"
    )
    assert client_ip(request) == "203.0.113.9"


def test_an_actor_from_a_request_carries_the_user_and_address(users):
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.7")
    request.user = users["auditor"]
    actor = Actor.from_request(request)
    entry = audit_record(actor=actor, action="test.view")
    assert (entry.actor, entry.actor_label, entry.ip) == (users["auditor"], "auditor", "192.0.2.7")


def test_a_snapshot_names_related_records_and_uses_local_time(users, regions):
    from django.utils import translation

    from cpe.core.services import snapshot
    from cpe.public.services import notice_save

    notice = notice_save(
        actor=Actor(user=users["city_admin"]),
        title="t",
        body="b",
        region=regions["420100"],
        publish=True,
    )
    with translation.override("en"):
        values = snapshot(notice, ["region", "published_at", "created_by"])
    assert values["region"] == f"武汉市 #{regions['420100'].pk}"
    assert values["published_at"].endswith("+08:00")
    assert values["created_by"] == f"city_admin #{users['city_admin'].pk}"
