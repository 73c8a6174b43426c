from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from cpe.core.models import AuditEntry
from cpe.core.services import Actor
from cpe.public.models import Notice
from cpe.public.services import notice_save


def test_a_city_administrator_writes_and_publishes_a_notice(users, regions, client_for):
    client = client_for(users["city_admin"])
    response = client.post(
        "/staff/notices/new/",
        {
            "title": "年度通知",
            "body": "请于 **12 月 31 日** 前完成。",
            "region": regions["420100"].pk,
            "publish": "on",
        },
    )
    assert response.status_code == 302
    notice = Notice.objects.get(title="年度通知")
    assert notice.is_published and notice.published_at
    assert "<strong>12 月 31 日</strong>" in notice.body_html
    entry = AuditEntry.objects.get(action="notice.create", target_id=str(notice.pk))
    assert entry.actor == users["city_admin"]
    assert entry.region_path == regions["420100"].path
    home = client_for(None).get("/")
    assert "年度通知" in home.content.decode()


def test_a_script_in_a_notice_never_reaches_the_page(users, regions, client):
    notice = notice_save(
        actor=Actor(user=users["city_admin"]),
        title="t",
        body="<script>alert(1)</script>正文",
        region=regions["420100"],
        publish=True,
    )
    page = client.get(f"/notices/{notice.pk}/").content.decode()
    assert "<script>alert" not in page and "正文" in page


def test_a_draft_is_hidden_from_the_public_but_previewable_by_its_editors(
    users, regions, client_for
):
    notice = notice_save(
        actor=Actor(user=users["city_admin"]), title="草稿", body="x", region=regions["420100"]
    )
    assert client_for(None).get(f"/notices/{notice.pk}/").status_code == 404
    assert client_for(users["learner"]).get(f"/notices/{notice.pk}/").status_code == 404
    assert client_for(users["city_admin"]).get(f"/notices/{notice.pk}/").status_code == 200
    assert (
        client_for(users["city_admin_elsewhere"]).get(f"/notices/{notice.pk}/").status_code == 404
    )
    assert "草稿" not in client_for(None).get("/").content.decode()


def test_a_city_administrator_cannot_write_for_another_city_or_the_whole_platform(users, regions):
    actor = Actor(user=users["city_admin"])
    for region in (regions["420500"], None):
        with pytest.raises(ValidationError):
            notice_save(actor=actor, title="t", body="b", region=region, publish=True)
    assert not Notice.objects.filter(title="t").exists()


def test_the_form_offers_only_regions_in_scope_and_explains_empty_fields(
    users, regions, client_for
):
    client = client_for(users["city_admin"])
    form = client.get("/staff/notices/new/").context["form"]
    assert {r.code for r in form.fields["region"].queryset} == {"420100"}
    response = client.post(
        "/staff/notices/new/", {"title": "", "body": "", "region": regions["420500"].pk}
    )
    errors = response.context["form"].errors
    assert {"title", "body", "region"} <= set(errors)
    assert not Notice.objects.exists()


def test_editing_a_notice_records_what_changed(users, regions, client_for):
    notice = notice_save(
        actor=Actor(user=users["city_admin"]),
        title="旧标题",
        body="正文",
        region=regions["420100"],
        publish=True,
    )
    published_at = notice.published_at
    client = client_for(users["province_admin"])
    response = client.post(
        f"/staff/notices/{notice.pk}/",
        {"title": "新标题", "body": "正文", "region": regions["420100"].pk, "publish": "on"},
    )
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.title == "新标题" and notice.published_at == published_at
    entry = AuditEntry.objects.filter(action="notice.update").latest("id")
    assert entry.changes == {"before": {"title": "旧标题"}, "after": {"title": "新标题"}}


def test_pinned_notices_come_first_on_the_home_page(users, regions, client):
    actor = Actor(user=users["superuser"])
    notice_save(actor=actor, title="普通", body="x", region=None, publish=True)
    notice_save(actor=actor, title="置顶", body="x", region=None, publish=True, pinned=True)
    notice_save(actor=actor, title="更新的普通", body="x", region=None, publish=True)
    titles = [n.title for n in client.get("/").context["notices"]]
    assert titles[0] == "置顶"
    assert titles.index("更新的普通") < titles.index("普通")


def test_the_notices_api_lists_published_notices(users, regions, client):
    notice_save(
        actor=Actor(user=users["superuser"]), title="公开", body="*x*", region=None, publish=True
    )
    notice_save(actor=Actor(user=users["superuser"]), title="草稿", body="x", region=None)
    body = client.get("/api/v1/notices").json()
    assert [n["title"] for n in body] == ["公开"]
    assert body[0]["body_html"] == "<p><em>x</em></p>"
