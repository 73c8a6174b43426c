from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from cpe.accounts.models import User
from cpe.accounts.roles import Role
from cpe.accounts.services import staff_password_reset, staff_user_create, staff_user_update
from cpe.accounts.testing import staff_sign_in
from cpe.core.models import AuditEntry
from cpe.core.services import Actor
from cpe.core.testing import TEST_PASSWORD as PASSWORD


@pytest.fixture
def city(users) -> Actor:
    return Actor(user=users["city_admin"], ip="192.0.2.50")


def test_a_city_administrator_creates_an_officer_for_one_of_their_districts(city, regions):
    user, password = staff_user_create(
        actor=city,
        username="officer.qiaokou",
        role=Role.DISTRICT_OFFICER,
        region=regions["420104"],
        display_name="硚口区 赵科员",
    )
    assert user.must_change_password and user.check_password(password) and len(password) >= 12
    entry = AuditEntry.objects.get(action="user.create", target_id=str(user.pk))
    assert entry.actor == city.user and entry.changes["after"]["role"] == "district_officer"
    assert password not in str(entry.changes)


@pytest.mark.parametrize(
    ("role", "region_code", "field"),
    [
        (Role.DISTRICT_OFFICER, "420502", "region"),  # another city's district
        (Role.CITY_ADMIN, "420100", "role"),  # a city administrator cannot make another
        (Role.SUPERUSER, None, "role"),
        (Role.AUDITOR, None, "region"),  # platform-wide roles only from platform-wide staff
        (Role.DISTRICT_OFFICER, "420100", "region"),  # wrong level
    ],
)
def test_an_administrator_cannot_give_what_is_not_theirs_to_give(
    city, regions, role, region_code, field
):
    region = regions[region_code] if region_code else None
    with pytest.raises(ValidationError) as error:
        staff_user_create(actor=city, username="x", role=role, region=region)
    assert field in error.value.message_dict
    assert not User.objects.filter(username="x").exists()


def test_nobody_edits_their_own_role_or_an_account_above_them(users, regions, city):
    with pytest.raises(PermissionDenied):
        staff_user_update(
            actor=city,
            user=users["city_admin"],
            role=Role.CITY_ADMIN,
            region=regions["420100"],
            display_name="me",
            email="",
            is_active=True,
        )
    with pytest.raises(PermissionDenied):
        staff_password_reset(actor=city, user=users["province_admin"])
    with pytest.raises(PermissionDenied):
        staff_password_reset(
            actor=city,
            user=users["officer_elsewhere"].__class__.objects.get(username="city-yichang"),
        )


def test_disabling_an_account_stops_its_sign_in_and_is_audited_with_the_reason(
    users, regions, city, client
):
    officer = users["district_officer"]
    staff_user_update(
        actor=city,
        user=officer,
        role=officer.role,
        region=officer.region,
        display_name=officer.display_name,
        email="",
        is_active=False,
        reason="调离岗位",
    )
    entry = AuditEntry.objects.get(action="user.update", target_id=str(officer.pk))
    assert entry.changes == {"before": {"is_active": True}, "after": {"is_active": False}}
    assert entry.reason == "调离岗位"
    response = client.post("/staff/login/", {"username": officer.username, "password": PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_a_temporary_password_opens_only_the_password_page_until_changed(
    users, regions, city, client
):
    user, password = staff_user_create(
        actor=city, username="new.officer", role=Role.DISTRICT_OFFICER, region=regions["420102"]
    )
    # An officer sets up the authenticator first (the second factor), then the password.
    response = staff_sign_in(client, "new.officer", password)
    assert response["Location"] == "/account/password/"
    assert client.get("/staff/contacts/")["Location"] == "/account/password/"

    mismatch = client.post(
        "/account/password/",
        {"old_password": password, "new_password": "Qiaokou-2026!", "new_password_again": "other"},
    )
    assert "new_password_again" in mismatch.context["form"].errors
    too_weak = client.post(
        "/account/password/",
        {"old_password": password, "new_password": "12345678", "new_password_again": "12345678"},
    )
    assert too_weak.context["form"].errors["new_password"]
    done = client.post(
        "/account/password/",
        {
            "old_password": password,
            "new_password": "Qiaokou-2026!",
            "new_password_again": "Qiaokou-2026!",
        },
    )
    assert done["Location"] == "/staff/"
    assert client.get("/staff/contacts/").status_code == 200  # still signed in
    user.refresh_from_db()
    assert not user.must_change_password and user.check_password("Qiaokou-2026!")
    assert AuditEntry.objects.filter(action="user.password_change", target_id=str(user.pk)).exists()


def test_the_pages_create_list_and_reset(users, regions, client_for):
    client = client_for(users["city_admin"])
    created = client.post(
        "/staff/users/new/",
        {
            "username": "auditor.wuhan",
            "display_name": "武汉审计",
            "role": "auditor",
            "region": regions["420100"].pk,
        },
    )
    assert created.status_code == 200 and created.context["password"]
    person = User.objects.get(username="auditor.wuhan")
    listing = client.get("/staff/users/", {"q": "auditor.wu"})
    assert [p.username for p in listing.context["page"]] == ["auditor.wuhan"]
    # Only accounts in Wuhan are listed: not Yichang's administrator, not platform-wide staff.
    everyone = {p.username for p in client.get("/staff/users/").context["page"]}
    assert "city-yichang" not in everyone and "support" not in everyone
    assert "district_officer" in everyone
    reset = client.post(f"/staff/users/{person.pk}/password/")
    assert reset.status_code == 200
    person.refresh_from_db()
    assert person.check_password(reset.context["password"])


def test_the_form_shows_a_taken_user_name_next_to_the_field(users, regions, client_for):
    response = client_for(users["city_admin"]).post(
        "/staff/users/new/",
        {
            "username": "AUDITOR",
            "display_name": "x",
            "role": "auditor",
            "region": regions["420100"].pk,
        },
    )
    assert "username" in response.context["form"].errors


def test_page_links_keep_a_search_with_spaces_and_ampersands(users, regions, client_for):
    from cpe.accounts.services import staff_user_create

    city = Actor(user=users["city_admin"])
    for number in range(51):  # more than one page
        staff_user_create(
            actor=city,
            username=f"auditor{number:02d}",
            role=Role.AUDITOR,
            region=regions["420100"],
            display_name=f"审计 & 复核 {number:02d}",
        )
    page = client_for(users["city_admin"]).get("/staff/users/", {"q": "审计 & 复核"})
    assert page.context["page"].paginator.count == 51
    assert 'href="?q=%E5%AE%A1%E8%AE%A1+%26+%E5%A4%8D%E6%A0%B8&amp;page=2"' in page.content.decode()
