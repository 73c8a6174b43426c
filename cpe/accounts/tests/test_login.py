from __future__ import annotations

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher as DjangoDefault
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from cpe.accounts.models import User
from cpe.accounts.roles import Role
from cpe.accounts.services import user_create
from cpe.core.models import AuditEntry
from cpe.core.testing import TEST_PASSWORD as PASSWORD


def _login(client, url, username, password):
    return client.post(url, {"username": username, "password": password})


def test_a_staff_member_signs_in_and_lands_on_the_console(client, users):
    # An auditor needs no second factor (it is optional for the role) and has none.
    response = _login(client, "/staff/login/", "auditor", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/staff/"
    assert AuditEntry.objects.filter(action="user.login", actor=users["auditor"]).exists()
    assert client.get("/staff/").status_code == 200


# Learners sign in by ID number or mobile: cpe/registry/tests/test_signin_views.py.


def test_the_staff_page_refuses_a_learner_with_a_pointer_to_their_own_page(client, users):
    response = _login(client, "/staff/login/", "learner", PASSWORD)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_account_even_with_the_right_password(client, users, settings):
    settings.LOGIN_RATE_LIMIT = "3/300"
    for _ in range(3):
        _login(client, "/staff/login/", "auditor", "wrong-password")
    response = _login(client, "/staff/login/", "auditor", PASSWORD)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(action="user.login_locked").exists()


def test_repeated_failures_from_one_address_block_that_address(client, users, settings):
    settings.LOGIN_RATE_LIMIT = "3/300"
    for name in ["a1", "a2", "a3"]:
        _login(client, "/staff/login/", name, "wrong")
    response = _login(client, "/staff/login/", "auditor", PASSWORD)
    assert "_auth_user_id" not in client.session
    other = client.__class__(REMOTE_ADDR="198.51.100.20")
    assert _login(other, "/staff/login/", "auditor", PASSWORD).status_code == 302
    assert response.status_code == 200


def test_it_does_not_redirect_to_another_site_after_sign_in(client, users):
    response = client.post(
        "/staff/login/?next=https://evil.example/",
        {"username": "auditor", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/staff/"


def test_it_returns_to_the_page_asked_for(client, users):
    response = client.post(
        "/staff/login/", {"username": "auditor", "password": PASSWORD, "next": "/staff/audit/"}
    )
    assert response["Location"] == "/staff/audit/"


def test_signing_out_needs_a_post_and_is_audited(client_for, users):
    client = client_for(users["support"])
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert AuditEntry.objects.filter(action="user.logout", actor=users["support"]).exists()


def test_passwords_are_stored_with_argon2(regions, system_actor, settings):
    settings.PASSWORD_HASHERS = ["cpe.accounts.hashers.Argon2PasswordHasher"]
    user = user_create(actor=system_actor, username="hashed", password=PASSWORD, role=Role.SUPPORT)
    assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")


def test_a_hash_made_with_djangos_heavier_defaults_still_verifies_and_is_upgraded(settings):
    settings.PASSWORD_HASHERS = ["cpe.accounts.hashers.Argon2PasswordHasher"]
    old = DjangoDefault().encode(PASSWORD, DjangoDefault().salt())
    assert "m=102400" in old
    upgraded: list[str] = []
    assert check_password(PASSWORD, old, setter=upgraded.append)
    assert upgraded == [PASSWORD]  # Django calls the setter to store the new-style hash


@pytest.mark.parametrize(
    ("role", "region_code"),
    [
        (Role.DISTRICT_OFFICER, None),
        (Role.DISTRICT_OFFICER, "420100"),
        (Role.CITY_ADMIN, "420102"),
        (Role.PROVINCE_ADMIN, "420100"),
        (Role.LEARNER, None),
    ],
)
def test_a_role_needs_a_region_of_its_level(regions, system_actor, role, region_code):
    region = regions[region_code] if region_code else None
    with pytest.raises(ValidationError) as error:
        user_create(actor=system_actor, username="x", password=None, role=role, region=region)
    assert "region" in error.value.message_dict
    assert not User.objects.filter(username="x").exists()


def test_the_database_refuses_an_officer_without_a_region(regions):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="loose", role=Role.DISTRICT_OFFICER)


def test_a_user_name_is_taken_once_whatever_its_case(users, system_actor):
    with pytest.raises(ValidationError):
        user_create(actor=system_actor, username="AUDITOR", password=None, role=Role.SUPPORT)


def test_a_deactivated_staff_member_loses_every_capability_and_scope(users, client_for):
    officer = users["district_officer"]
    officer.is_active = False
    officer.save()
    assert not officer.has_capability("staff.console")
    assert officer.scope_path is None


def test_the_console_offers_imports_only_to_those_with_a_district(users, client_for):
    officer_page = client_for(users["district_officer"]).get("/staff/").content.decode()
    superuser_page = client_for(users["superuser"]).get("/staff/").content.decode()
    assert 'href="/staff/imports/"' in officer_page
    assert 'href="/staff/imports/"' not in superuser_page
    assert 'href="/staff/learners/"' in superuser_page
