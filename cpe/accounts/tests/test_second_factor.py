"""The staff second factor: authenticator codes (TOTP), their set-up, throttling and reset."""

from __future__ import annotations

import base64
import io
import threading
import time

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.test import Client

from cpe.accounts import totp
from cpe.accounts.models import TOTPDevice, User
from cpe.accounts.roles import Role
from cpe.accounts.services import (
    PENDING_SESSION_KEY,
    second_factor_step,
    totp_enrolment_confirm,
    totp_enrolment_start,
    totp_reset,
)
from cpe.accounts.testing import device_secret, fresh_code, secret_on_page, staff_sign_in
from cpe.core.crypto import DecryptionError, key_id_of
from cpe.core.models import AuditEntry
from cpe.core.services import Actor
from cpe.core.testing import TEST_PASSWORD as PASSWORD

KEY_A = base64.b64encode(b"a" * 32).decode()
KEY_B = base64.b64encode(b"b" * 32).decode()


def _password_step(client, username, password=PASSWORD, **extra):
    return client.post("/staff/login/", {"username": username, "password": password, **extra})


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def _enrolled(client, username) -> str:
    """Sign `username` in with a new authenticator, sign out again; return its secret."""
    response = staff_sign_in(client, username)
    assert response.status_code == 302 and _signed_in(client), response
    client.post("/logout/")
    return device_secret(User.objects.get(username=username))[0]


# --- The codes themselves (RFC 6238) ------------------------------------------------------


def test_codes_follow_rfc_6238():
    # RFC 6238, appendix B: SHA-1, secret "12345678901234567890", T = 59 s -> 94287082;
    # the six-digit code is its last six digits.
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert totp.code_at_step(secret, totp.time_step(59)) == "287082"
    assert totp.code_at_step(secret, totp.time_step(1111111109)) == "081804"


def test_a_code_is_accepted_one_step_either_side_of_now_and_not_further():
    secret, now = totp.new_secret(), 1_700_000_000.0
    step = totp.time_step(now)
    for offset in (-1, 0, 1):
        code = totp.code_at_step(secret, step + offset)
        assert totp.matching_step(secret, code, after_step=0, at=now) == step + offset
    for offset in (-3, -2, 2, 3):
        code = totp.code_at_step(secret, step + offset)
        assert totp.matching_step(secret, code, after_step=0, at=now) is None


def test_a_code_of_a_step_already_used_or_older_is_refused():
    secret, now = totp.new_secret(), 1_700_000_000.0
    step = totp.time_step(now)
    assert (
        totp.matching_step(secret, totp.code_at_step(secret, step), after_step=step, at=now) is None
    )
    assert (
        totp.matching_step(secret, totp.code_at_step(secret, step - 1), after_step=step, at=now)
        is None
    )
    assert (
        totp.matching_step(secret, totp.code_at_step(secret, step + 1), after_step=step, at=now)
        == step + 1
    )


def test_full_width_digits_and_spaces_count_and_other_input_does_not():
    secret, now = totp.new_secret(), 1_700_000_000.0
    code = totp.code_at_step(secret, totp.time_step(now))
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in code)  # １２３… from a Chinese keyboard
    for typed in (code, f" {code[:3]} {code[3:]} ", f"{code[:3]}-{code[3:]}", full_width):
        assert totp.matching_step(secret, typed, after_step=0, at=now), typed
    for typed in ("", code[:5], code + "0", "abcdef", "١٢٣٤٥٦"):
        assert totp.matching_step(secret, typed, after_step=0, at=now) is None, typed


def test_the_secret_is_encrypted_at_rest_and_opens_only_for_its_owner(users):
    officer = users["district_officer"]
    device = totp_enrolment_start(actor=Actor(user=officer), user=officer)
    secret = totp.open_secret(device.secret_encrypted, user_id=officer.pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_encrypted FROM accounts_totpdevice")
        stored = [row[0] for row in cursor.fetchall()]
    assert stored == [device.secret_encrypted] and secret not in stored[0]
    # Copied onto another person's row, the secret does not decrypt.
    with pytest.raises(DecryptionError):
        totp.open_secret(device.secret_encrypted, user_id=users["city_admin"].pk)


# --- Which roles need it ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "step"),
    [
        ("district_officer", "enrol"),
        ("city_admin", "enrol"),
        ("province_admin", "enrol"),
        ("superuser", "enrol"),
        ("course_manager", ""),
        ("support", ""),
        ("auditor", ""),
    ],
)
def test_officers_administrators_and_superusers_must_set_one_up_other_staff_may(users, role, step):
    assert second_factor_step(users[role]) == step


def test_the_roles_that_must_are_a_setting(users, settings):
    settings.TOTP_REQUIRED_ROLES = ["auditor"]
    assert second_factor_step(users["auditor"]) == "enrol"
    assert second_factor_step(users["district_officer"]) == ""


# --- Signing in ---------------------------------------------------------------------------


def test_an_officer_sets_up_the_authenticator_at_first_sign_in_by_qr_code(client, users):
    response = _password_step(client, "district_officer", next="/staff/contacts/")
    assert response["Location"] == "/staff/login/enrol/"
    assert not _signed_in(client)  # only the pending note, no signed-in user
    assert client.get("/staff/").status_code == 302

    page = client.get("/staff/login/enrol/")
    html = page.content.decode()
    assert page.status_code == 200 and "<svg" in html and 'class="qr"' in html
    secret = secret_on_page(page)
    assert totp.grouped(secret) in html
    # Reloading shows the same key: the person may have scanned it already.
    assert secret_on_page(client.get("/staff/login/enrol/")) == secret

    wrong = client.post("/staff/login/enrol/", {"code": "000000"})
    assert wrong.status_code == 200 and wrong.context["form"].errors["code"]
    assert not _signed_in(client)

    done = client.post("/staff/login/enrol/", {"code": fresh_code(secret)})
    assert done["Location"] == "/staff/contacts/" and _signed_in(client)
    assert client.get("/staff/contacts/").status_code == 200
    device = TOTPDevice.objects.get(user=users["district_officer"])
    assert device.confirmed and device.confirmed_at and device.last_used_step
    assert AuditEntry.objects.filter(
        action="user.totp_enrol", target_id=str(users["district_officer"].pk)
    ).exists()


def test_a_later_sign_in_asks_for_the_current_code(client, users):
    secret = _enrolled(client, "city_admin")
    _, last = device_secret(users["city_admin"])

    response = _password_step(client, "city_admin")
    assert response["Location"] == "/staff/login/code/" and not _signed_in(client)
    page = client.get("/staff/login/code/")
    assert page.status_code == 200 and "data-totp-secret" not in page.content.decode()

    done = client.post("/staff/login/code/", {"code": fresh_code(secret, after_step=last)})
    assert done["Location"] == "/staff/" and _signed_in(client)
    assert client.get("/staff/users/").status_code == 200
    assert AuditEntry.objects.filter(
        action="user.login_second_factor", actor=users["city_admin"]
    ).exists()


def test_a_wrong_code_is_refused_and_does_not_sign_in(client, users):
    _enrolled(client, "city_admin")
    _password_step(client, "city_admin")
    response = client.post("/staff/login/code/", {"code": "12345"})
    assert response.status_code == 200 and not _signed_in(client)
    assert response.context["form"].errors["code"]


def test_a_code_is_never_accepted_twice(client, users):
    secret = _enrolled(client, "city_admin")
    _, last = device_secret(users["city_admin"])
    code = fresh_code(secret, after_step=last)
    _password_step(client, "city_admin")
    assert client.post("/staff/login/code/", {"code": code})["Location"] == "/staff/"
    client.post("/logout/")

    # Someone who watched the code being typed tries it again within its 30 seconds.
    _password_step(client, "city_admin")
    again = client.post("/staff/login/code/", {"code": code})
    assert again.status_code == 200 and not _signed_in(client)
    assert again.context["form"].errors["code"] == [
        "验证码不正确。请输入身份验证器应用当前显示的验证码。"
    ]


@pytest.mark.django_db(transaction=True)
def test_one_code_sent_twice_at_the_same_moment_signs_in_only_once(users):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    secret = _enrolled(Client(), "city_admin")
    _, last = device_secret(users["city_admin"])
    code = fresh_code(secret, after_step=last)
    clients = [Client(REMOTE_ADDR=f"198.51.100.{n}") for n in (1, 2)]
    for client in clients:
        assert _password_step(client, "city_admin")["Location"] == "/staff/login/code/"
    barrier = threading.Barrier(2)
    outcomes: list[int] = []

    def send(client: Client) -> None:
        try:
            barrier.wait()
            outcomes.append(client.post("/staff/login/code/", {"code": code}).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [200, 302]
    assert sum(_signed_in(c) for c in clients) == 1


def test_the_code_step_expires_after_a_few_minutes(client, users):
    secret = _enrolled(client, "city_admin")
    _, last = device_secret(users["city_admin"])
    _password_step(client, "city_admin")
    session = client.session
    session[PENDING_SESSION_KEY]["until"] = time.time() - 1
    session.save()

    response = client.post("/staff/login/code/", {"code": fresh_code(secret, after_step=last)})
    assert response["Location"] == "/staff/login/" and not _signed_in(client)
    assert PENDING_SESSION_KEY not in client.session
    # The code was not spent on the expired attempt.
    assert device_secret(users["city_admin"])[1] == last


def test_the_code_pages_without_a_password_step_send_back_to_the_sign_in(client, users):
    assert client.get("/staff/login/code/")["Location"] == "/staff/login/"
    assert client.post("/staff/login/enrol/", {"code": "123456"})["Location"] == "/staff/login/"
    assert not TOTPDevice.objects.exists()


def test_repeated_wrong_codes_lock_the_account_even_for_the_right_code(client, users, settings):
    settings.TOTP_RATE_LIMIT = "3/300"
    secret = _enrolled(client, "city_admin")
    _, last = device_secret(users["city_admin"])
    _password_step(client, "city_admin")
    for _ in range(3):
        client.post("/staff/login/code/", {"code": "000000"})
    response = client.post("/staff/login/code/", {"code": fresh_code(secret, after_step=last)})
    assert response.status_code == 200 and not _signed_in(client)
    assert "尝试次数过多" in response.context["form"].errors["code"][0]
    locked = AuditEntry.objects.get(action="user.totp_locked")
    assert locked.target_id == str(users["city_admin"].pk)
    # Another address gets the same refusal: the limit is on the account too.
    other = client.__class__(REMOTE_ADDR="198.51.100.20")
    _password_step(other, "city_admin")
    assert not _signed_in(other)
    assert other.post("/staff/login/code/", {"code": "000000"}).status_code == 200


def test_wrong_codes_from_one_address_block_that_address_for_every_account(client, users, settings):
    settings.TOTP_RATE_LIMIT = "3/300"
    _password_step(client, "district_officer")
    for _ in range(3):
        client.post("/staff/login/enrol/", {"code": "000000"})
    client.post("/logout/")
    _password_step(client, "province_admin")
    page = client.get("/staff/login/enrol/")
    response = client.post("/staff/login/enrol/", {"code": fresh_code(secret_on_page(page))})
    assert response.status_code == 200 and not _signed_in(client)
    other = client.__class__(REMOTE_ADDR="198.51.100.20")
    assert staff_sign_in(other, "province_admin")["Location"] == "/staff/"


def test_staff_who_may_choose_sign_in_with_a_password_until_they_set_one_up(client, users):
    assert _password_step(client, "course_manager")["Location"] == "/staff/"
    setup = client.get("/account/two-factor/setup/")
    secret = secret_on_page(setup)
    # A set-up that is not confirmed does not change the sign-in.
    client.post("/logout/")
    assert _password_step(client, "course_manager")["Location"] == "/staff/"

    done = client.post("/account/two-factor/setup/", {"code": fresh_code(secret)})
    assert done["Location"] == "/account/two-factor/"
    assert client.get("/staff/").status_code == 200  # this session stays signed in
    client.post("/logout/")
    assert _password_step(client, "course_manager")["Location"] == "/staff/login/code/"


# --- No way around it ----------------------------------------------------------------------


def test_a_staff_session_that_skipped_the_code_is_signed_out(client, users):
    client.force_login(users["city_admin"])  # e.g. a session made by another sign-in page
    response = client.get("/staff/users/")
    assert response.status_code == 302 and response["Location"].startswith("/staff/login/")
    assert not _signed_in(client)
    assert client.get("/api/v1/audit").status_code == 401


def test_a_staff_password_on_the_learner_page_does_not_open_the_console(client, users):
    client.post("/login/", {"username": "district_officer", "password": PASSWORD})
    assert client.get("/staff/contacts/").status_code == 302
    assert not _signed_in(client)


def test_staff_who_set_one_up_voluntarily_are_held_to_it_too(client, users):
    _password_step(client, "support")
    secret = secret_on_page(client.get("/account/two-factor/setup/"))
    client.post("/account/two-factor/setup/", {"code": fresh_code(secret)})
    assert TOTPDevice.objects.get(user=users["support"]).confirmed
    elsewhere = client.__class__()
    elsewhere.force_login(users["support"])
    assert elsewhere.get("/staff/").status_code == 302
    # Staff without one, in a role that may choose, are not troubled.
    auditor = client.__class__()
    auditor.force_login(users["auditor"])
    assert auditor.get("/staff/").status_code == 200


def test_the_admin_sign_in_page_sends_people_to_the_staff_sign_in(client, users):
    response = client.get("/admin/login/?next=/admin/accounts/user/")
    assert response["Location"] == "/staff/login/?next=/admin/accounts/user/"
    # Its form answers nothing: a password alone opens no session.
    client.post("/admin/login/", {"username": "superuser", "password": PASSWORD})
    assert not _signed_in(client)
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_a_superuser_reaches_the_admin_only_after_the_code(client, users):
    client.force_login(users["superuser"])
    assert client.get("/admin/").status_code == 302
    assert staff_sign_in(client, "superuser")["Location"] == "/staff/"
    assert client.get("/admin/").status_code == 200


def test_signed_in_staff_who_may_not_use_the_admin_are_refused_there(client_for, users):
    response = client_for(users["city_admin"]).get("/admin/login/")
    assert response.status_code == 403


# --- Re-enrolment and reset -----------------------------------------------------------------


def test_the_account_page_shows_the_status_of_the_authenticator(client, client_for, users):
    page = client_for(users["district_officer"]).get("/account/two-factor/")
    assert "下次登录时设置" in page.content.decode()
    _enrolled(client, "district_officer")
    page = client_for(users["district_officer"]).get("/account/two-factor/")
    assert page.context["device"].confirmed and "已设置身份验证器应用" in page.content.decode()


def test_replacing_the_authenticator_needs_a_code_from_the_old_one(client, users):
    old_secret = _enrolled(client, "district_officer")
    _, last = device_secret(users["district_officer"])
    staff_sign_in(client, "district_officer")
    _, last = device_secret(users["district_officer"])
    page = client.get("/account/two-factor/setup/")
    new_secret = secret_on_page(page)
    assert new_secret != old_secret and "current_code" in page.context["form"].fields

    wrong = client.post(
        "/account/two-factor/setup/",
        {"code": fresh_code(new_secret), "current_code": "000000"},
    )
    assert wrong.status_code == 200 and wrong.context["form"].errors["current_code"]
    assert device_secret(users["district_officer"])[0] == old_secret

    done = client.post(
        "/account/two-factor/setup/",
        {"code": fresh_code(new_secret), "current_code": fresh_code(old_secret, after_step=last)},
    )
    assert done["Location"] == "/account/two-factor/"
    assert device_secret(users["district_officer"])[0] == new_secret
    assert TOTPDevice.objects.filter(user=users["district_officer"]).count() == 1
    assert AuditEntry.objects.filter(action="user.totp_reenrol").exists()


def test_an_administrator_in_scope_resets_an_authenticator_with_a_reason(client, client_for, users):
    _enrolled(client, "district_officer")
    admin = client_for(users["city_admin"])
    url = f"/staff/users/{users['district_officer'].pk}/"
    page = admin.get(url)
    assert "重置身份验证器" in page.content.decode()

    no_reason = admin.post(f"{url}two-factor/reset/", {"totp-reason": " "})
    assert no_reason.status_code == 200 and no_reason.context["reset_form"].errors["reason"]
    assert TOTPDevice.objects.filter(user=users["district_officer"]).exists()

    done = admin.post(f"{url}two-factor/reset/", {"totp-reason": "手机丢失"})
    assert done["Location"] == url
    assert not TOTPDevice.objects.filter(user=users["district_officer"]).exists()
    entry = AuditEntry.objects.get(action="user.totp_reset")
    assert entry.actor == users["city_admin"] and entry.reason == "手机丢失"
    # The officer sets up a new one at the next sign-in.
    assert _password_step(client, "district_officer")["Location"] == "/staff/login/enrol/"


def test_a_reset_ends_the_sessions_of_the_person_and_of_nobody_else(users):
    officer_phone, officer_desk, other = Client(), Client(), Client()
    staff_sign_in(officer_phone, "district_officer")
    assert staff_sign_in(officer_desk, "district_officer").status_code == 302
    staff_sign_in(other, "officer-hongshan")
    assert _signed_in(officer_phone) and _signed_in(officer_desk) and _signed_in(other)

    admin, officer = Actor(user=users["city_admin"]), users["district_officer"]
    totp_reset(actor=admin, user=officer, reason="手机丢失")

    for client in (officer_phone, officer_desk):
        assert client.get("/staff/learners/")["Location"].startswith("/staff/login/")
        assert not _signed_in(client)
    assert other.get("/staff/learners/").status_code == 200
    # Signing in again works, with a new authenticator.
    assert staff_sign_in(officer_desk, "district_officer").status_code == 302
    assert officer_desk.get("/staff/learners/").status_code == 200


def test_a_reset_is_refused_outside_the_administrators_scope(client, client_for, users):
    _enrolled(client, "district_officer")
    officer = users["district_officer"]
    with pytest.raises(PermissionDenied):
        totp_reset(actor=Actor(user=users["city_admin_elsewhere"]), user=officer, reason="x")
    with pytest.raises(PermissionDenied):
        totp_reset(actor=Actor(user=users["auditor"]), user=officer, reason="x")
    with pytest.raises(PermissionDenied):  # nobody resets their own
        totp_reset(actor=Actor(user=officer), user=officer, reason="x")
    response = client_for(users["city_admin_elsewhere"]).post(
        f"/staff/users/{officer.pk}/two-factor/reset/", {"totp-reason": "x"}
    )
    assert response.status_code == 404
    assert TOTPDevice.objects.filter(user=officer).exists()
    assert not AuditEntry.objects.filter(action="user.totp_reset").exists()


def test_a_reset_of_an_account_without_an_authenticator_says_so(users):
    with pytest.raises(ValidationError):
        totp_reset(
            actor=Actor(user=users["city_admin"]), user=users["district_officer"], reason="x"
        )


def test_an_enrolment_without_a_pending_device_is_refused(users):
    officer = users["district_officer"]
    with pytest.raises(ValidationError) as error:
        totp_enrolment_confirm(actor=Actor(user=officer), user=officer, code="123456")
    assert "code" in error.value.message_dict
    assert not TOTPDevice.objects.exists()


# --- Keys and the demo ------------------------------------------------------------------------


def test_rotating_the_keys_reencrypts_the_secrets_which_keep_working(client, users, settings):
    settings.FIELD_ENCRYPTION_KEYS = f"old:{KEY_A}"
    secret = _enrolled(client, "city_admin")
    settings.FIELD_ENCRYPTION_KEYS = f"new:{KEY_B},old:{KEY_A}"
    out = io.StringIO()
    call_command("rotate_totp_keys", "--check", stdout=out)
    assert out.getvalue().strip() == "old: 1"
    call_command("rotate_totp_keys", stdout=io.StringIO())
    settings.FIELD_ENCRYPTION_KEYS = f"new:{KEY_B}"
    device = TOTPDevice.objects.get(user=users["city_admin"])
    assert key_id_of(device.secret_encrypted) == "new"
    assert device_secret(users["city_admin"])[0] == secret
    assert staff_sign_in(client, "city_admin")["Location"] == "/staff/"
    assert AuditEntry.objects.filter(action="user.totp_rotate_keys").exists()


def test_the_demo_code_command_works_only_in_development_and_for_demo_users(
    client, regions, settings, make_user
):
    officer = make_user(Role.DISTRICT_OFFICER, "420102", username="officer.jiangan")
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("demo_totp_code", "officer.jiangan", stdout=io.StringIO())
    settings.DEBUG = True
    with pytest.raises(CommandError, match="no authenticator"):
        call_command("demo_totp_code", "officer.jiangan", stdout=io.StringIO())
    with pytest.raises(CommandError, match="not a demo account"):
        call_command("demo_totp_code", "someone.else", stdout=io.StringIO())

    _password_step(client, officer.username)
    client.get("/staff/login/enrol/")
    out = io.StringIO()
    call_command("demo_totp_code", "officer.jiangan", stdout=out)
    code = out.getvalue().split()[0]
    assert client.post("/staff/login/enrol/", {"code": code})["Location"] == "/staff/"
