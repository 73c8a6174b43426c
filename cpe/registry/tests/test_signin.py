"""The learner sign-in services: codes, passwords, generic answers, throttles and lockout."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from cpe.accounts.models import User
from cpe.core.models import AuditEntry
from cpe.registry.models import Learner, SignInCode
from cpe.registry.signin import (
    SignInRefused,
    learner_code_redeem,
    learner_code_resend,
    learner_first_sign_in,
    learner_password_forgotten,
    learner_sign_in,
    mask_mobile,
)
from cpe.registry.tests.conftest import (
    LI,
    NOT_COLLECTED_BEIJING,
    NOT_COLLECTED_HONGSHAN,
    NOT_COLLECTED_XILING,
    ZHANG,
)

IP = "192.0.2.10"
GOOD_PASSWORD = "river-lantern-42"


def start(id_number: str = ZHANG, name: str = "张三", ip: str = IP):
    return learner_first_sign_in(ip=ip, id_number=id_number, name=name)


def activate(learner: Learner, last_code, password: str = GOOD_PASSWORD) -> User:
    start(learner.reveal_id_number(), learner.name)
    return learner_code_redeem(
        ip=IP, learner_id=learner.pk, purpose="activate", code=last_code(), password=password
    )


def refusal(call) -> SignInRefused:
    with pytest.raises(SignInRefused) as caught:
        call()
    return caught.value


# --- First sign-in and activation ---------------------------------------------------------


def test_a_collected_learner_gets_a_code_on_their_recorded_mobile_and_activates(
    collect, sent_messages, last_code
):
    learner = collect()
    result = start()
    assert result.code_sent.mobile_masked == "139****5678"
    assert sent_messages()[-1].startswith("To: 13912345678")
    user = learner_code_redeem(
        ip=IP, learner_id=learner.pk, purpose="activate", code=last_code(), password=GOOD_PASSWORD
    )
    learner.refresh_from_db()
    assert learner.user == user
    assert user.role == "learner" and user.region == learner.district
    assert user.display_name == "张三" and user.check_password(GOOD_PASSWORD)
    assert ZHANG not in user.username and ZHANG[-6:] not in user.username
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"learner.sign_in_code_send", "learner.activate", "learner.password_set"} <= actions


def test_the_code_is_stored_only_as_a_hash(collect, last_code):
    collect()
    start()
    row = SignInCode.objects.get()
    assert last_code() not in row.code_hash
    assert row.expires_at - row.created_at == timedelta(minutes=5)


def test_an_expired_code_is_refused(collect, last_code):
    learner = collect()
    start()
    SignInCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationError) as error:
        learner_code_redeem(
            ip=IP,
            learner_id=learner.pk,
            purpose="activate",
            code=last_code(),
            password=GOOD_PASSWORD,
        )
    assert "code" in error.value.message_dict
    learner.refresh_from_db()
    assert learner.user is None


def test_five_wrong_tries_kill_the_code(collect, last_code):
    learner = collect()
    start()
    right = last_code()
    wrong = "000000" if right != "000000" else "111111"
    for tries_left in [4, 3, 2, 1]:
        with pytest.raises(ValidationError) as error:
            learner_code_redeem(
                ip=IP, learner_id=learner.pk, purpose="activate", code=wrong, password=GOOD_PASSWORD
            )
        assert str(tries_left) in error.value.message_dict["code"][0]
    with pytest.raises(ValidationError):
        learner_code_redeem(
            ip=IP, learner_id=learner.pk, purpose="activate", code=wrong, password=GOOD_PASSWORD
        )
    assert SignInCode.objects.get().attempts == 5
    with pytest.raises(ValidationError) as error:
        learner_code_redeem(
            ip=IP, learner_id=learner.pk, purpose="activate", code=right, password=GOOD_PASSWORD
        )
    assert error.value.error_dict["code"][0].code == "code_dead"
    assert Learner.objects.get(pk=learner.pk).user is None


def test_a_new_code_supersedes_the_old_one(collect, last_code, settings):
    settings.SIGNIN_CODE_INTERVAL = 0  # no pause between the two codes in this test
    learner = collect()
    start()
    first = last_code()
    learner_code_resend(ip=IP, learner_id=learner.pk, purpose="activate")
    second = last_code()
    if first != second:
        with pytest.raises(ValidationError):
            learner_code_redeem(
                ip=IP, learner_id=learner.pk, purpose="activate", code=first, password=GOOD_PASSWORD
            )
    assert SignInCode.objects.filter(superseded_at__isnull=False).count() == 1
    learner_code_redeem(
        ip=IP, learner_id=learner.pk, purpose="activate", code=second, password=GOOD_PASSWORD
    )


def test_a_used_code_cannot_be_used_again(collect, last_code):
    learner = collect()
    user = activate(learner, last_code)
    with pytest.raises(ValidationError):
        learner_code_redeem(
            ip=IP, learner_id=learner.pk, purpose="activate", code=last_code(), password="x" * 12
        )
    user.refresh_from_db()
    assert user.check_password(GOOD_PASSWORD)


def test_a_second_code_within_a_minute_is_refused(collect, sent_messages):
    learner = collect()
    start()
    refused = refusal(lambda: learner_code_resend(ip=IP, learner_id=learner.pk, purpose="activate"))
    assert refused.code == "too_many_codes"
    assert len(sent_messages()) == 1


def test_codes_per_learner_per_hour_are_limited(collect, sent_messages, settings):
    settings.SIGNIN_CODE_INTERVAL = 0
    settings.SIGNIN_CODE_RATE_LEARNER = "3/3600"
    learner = collect()
    start()
    for _ in range(2):
        learner_code_resend(ip=f"198.51.100.{_}", learner_id=learner.pk, purpose="activate")
    refusal(
        lambda: learner_code_resend(ip="203.0.113.9", learner_id=learner.pk, purpose="activate")
    )
    assert len(sent_messages()) == 3


def test_codes_asked_from_one_address_are_limited(collect, sent_messages, settings):
    settings.SIGNIN_CODE_RATE_IP = "2/3600"
    collect(ZHANG, "张三")
    collect(LI, "李四", mobile="13700000000")
    third = collect("420103198001010016", "王五", mobile="13600000000")
    start(ZHANG, "张三")
    start(LI, "李四")
    refusal(lambda: start(third.reveal_id_number(), "王五"))
    assert len(sent_messages()) == 2


# --- Generic answers and the "not collected yet" guidance ---------------------------------


def test_wrong_id_wrong_name_and_not_collected_get_the_same_answer(collect):
    collect()
    wrong_name = refusal(lambda: start(ZHANG, "张四"))
    not_collected = refusal(lambda: start(LI, "张三"))
    Learner.objects.update(status=Learner.Status.DEREGISTERED)
    deregistered = refusal(lambda: start(ZHANG, "张三"))
    answers = {(r.code, r.message) for r in (wrong_name, not_collected, deregistered)}
    assert len(answers) == 1
    # Both name the bureau of the district the ID number points to (Jiang'an for both).
    assert [b.region.code for b in wrong_name.guidance.bureaus] == ["420102"]
    assert [b.region.code for b in not_collected.guidance.bureaus] == ["420102"]


def test_a_person_not_collected_is_sent_to_the_district_of_their_id_number(regions):
    refused = refusal(lambda: start(NOT_COLLECTED_HONGSHAN, "赵六"))
    assert refused.guidance.district.code == "420111"
    assert [b.name for b in refused.guidance.bureaus] == ["洪山区财政局"]


def test_an_id_number_from_elsewhere_is_sent_to_every_wuhan_district(regions):
    refused = refusal(lambda: start(NOT_COLLECTED_BEIJING, "赵六"))
    assert refused.guidance.district is None
    codes = [b.region.code for b in refused.guidance.bureaus]
    assert len(codes) == 13 and all(c.startswith("4201") for c in codes)


def test_an_id_number_of_another_city_of_ours_is_sent_to_that_district(regions):
    refused = refusal(lambda: start(NOT_COLLECTED_XILING, "赵六"))
    assert [b.region.code for b in refused.guidance.bureaus] == ["420502"]


def test_a_malformed_id_number_is_a_field_error(regions):
    with pytest.raises(ValidationError) as error:
        start("420102199203010038", "张三")  # wrong check character
    assert error.value.error_dict["id_number"][0].code == "id_check"


def test_an_activated_learner_is_told_to_use_the_password(collect, last_code):
    learner = collect()
    activate(learner, last_code)
    assert refusal(lambda: start()).code == "already_activated"


# --- Password sign-in ---------------------------------------------------------------------


def test_an_activated_learner_signs_in_with_id_number_or_mobile(collect, last_code):
    learner = collect()
    user = activate(learner, last_code)
    assert learner_sign_in(ip=IP, login=ZHANG.lower(), password=GOOD_PASSWORD) == user
    assert learner_sign_in(ip=IP, login="139 1234 5678", password=GOOD_PASSWORD) == user
    assert AuditEntry.objects.filter(action="learner.sign_in", actor=user).count() == 2


def test_wrong_id_mobile_and_password_get_one_answer(collect, last_code):
    activate(collect(), last_code)
    answers = {
        (r.code, r.message)
        for r in [
            refusal(lambda: learner_sign_in(ip=IP, login=ZHANG, password="wrong-password")),
            refusal(lambda: learner_sign_in(ip=IP, login=LI, password=GOOD_PASSWORD)),
            refusal(lambda: learner_sign_in(ip=IP, login="13000000000", password=GOOD_PASSWORD)),
        ]
    }
    assert len(answers) == 1


def test_a_learner_who_never_activated_cannot_sign_in_with_a_password(collect):
    collect()
    assert refusal(lambda: learner_sign_in(ip=IP, login=ZHANG, password="")).code == (
        "sign_in_failed"
    )


def test_a_deregistered_learner_cannot_sign_in(collect, last_code):
    learner = collect()
    activate(learner, last_code)
    Learner.objects.filter(pk=learner.pk).update(status=Learner.Status.DEREGISTERED)
    refused = refusal(lambda: learner_sign_in(ip=IP, login=ZHANG, password=GOOD_PASSWORD))
    assert refused.code == "sign_in_failed"


def test_a_mobile_shared_by_two_learners_signs_in_the_one_whose_password_it_is(
    collect, last_code, settings
):
    settings.SIGNIN_CODE_INTERVAL = 0
    zhang = collect(ZHANG, "张三", mobile="13911112222")
    li = collect(LI, "李四", mobile="13911112222")
    zhang_user = activate(zhang, last_code, password="zhang-password-1")
    li_user = activate(li, last_code, password="li-password-22")
    assert learner_sign_in(ip=IP, login="13911112222", password="zhang-password-1") == zhang_user
    assert learner_sign_in(ip=IP, login="13911112222", password="li-password-22") == li_user
    refused = refusal(lambda: learner_sign_in(ip=IP, login="13911112222", password="nope-nope"))
    assert refused.code == "sign_in_failed" and "张" not in refused.message


def test_a_login_that_is_neither_an_id_number_nor_a_mobile_is_a_field_error(regions):
    with pytest.raises(ValidationError) as error:
        learner_sign_in(ip=IP, login="learner", password="x")
    assert "username" in error.value.message_dict


# --- Throttling and lockout ---------------------------------------------------------------


def test_repeated_failures_lock_the_account_even_with_the_right_password(
    collect, last_code, settings
):
    settings.LOGIN_RATE_LIMIT = "3/300"
    user = activate(collect(), last_code)
    for n in range(3):
        refusal(
            lambda n=n: learner_sign_in(ip=f"198.51.100.{n}", login=ZHANG, password="wrong-pass")
        )
    refused = refusal(
        lambda: learner_sign_in(ip="203.0.113.1", login=ZHANG, password=GOOD_PASSWORD)
    )
    assert refused.code == "too_many_attempts"
    assert AuditEntry.objects.filter(action="learner.sign_in_locked").count() == 1
    assert not AuditEntry.objects.filter(action="learner.sign_in", actor=user).exists()


def test_repeated_failures_from_one_address_block_that_address(collect, last_code, settings):
    settings.LOGIN_RATE_LIMIT = "3/300"
    user = activate(collect(), last_code)
    for login in ["13000000001", "13000000002", "13000000003"]:
        refusal(lambda login=login: learner_sign_in(ip=IP, login=login, password="wrong-pass"))
    assert refusal(lambda: learner_sign_in(ip=IP, login=ZHANG, password=GOOD_PASSWORD)).code == (
        "too_many_attempts"
    )
    assert learner_sign_in(ip="203.0.113.2", login=ZHANG, password=GOOD_PASSWORD) == user


def test_the_lockout_lifts_after_the_window(collect, last_code, settings):
    settings.LOGIN_RATE_LIMIT = "2/1"
    user = activate(collect(), last_code)
    for _ in range(2):
        refusal(lambda: learner_sign_in(ip=IP, login=ZHANG, password="wrong-pass"))
    assert refusal(lambda: learner_sign_in(ip=IP, login=ZHANG, password=GOOD_PASSWORD)).code == (
        "too_many_attempts"
    )
    time.sleep(1.2)
    assert learner_sign_in(ip=IP, login=ZHANG, password=GOOD_PASSWORD) == user


def test_guessing_names_for_one_id_number_locks_the_first_sign_in(collect, settings):
    settings.LOGIN_RATE_LIMIT = "3/300"
    collect()
    for n, name in enumerate(["张一", "张二", "张四"]):
        refusal(lambda name=name, n=n: start(ZHANG, name, ip=f"198.51.100.{n}"))
    assert refusal(lambda: start(ZHANG, "张三", ip="203.0.113.3")).code == "too_many_attempts"
    assert AuditEntry.objects.filter(action="learner.sign_in_locked").exists()


# --- Passwords ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        ZHANG,
        "pw" + ZHANG[-6:].lower() + "x",
        "abc" + ZHANG[-8:],
        "zhang19920301",
        "hi1992-03-01!",
        "ok920301ok",
        "short1",
        "12345678901",
    ],
)
def test_a_password_with_the_id_number_or_birth_date_or_too_weak_is_refused(
    collect, last_code, password
):
    learner = collect()
    start()
    with pytest.raises(ValidationError) as error:
        learner_code_redeem(
            ip=IP, learner_id=learner.pk, purpose="activate", code=last_code(), password=password
        )
    assert "password" in error.value.message_dict
    # The code stays usable: the person only has to choose another password.
    learner_code_redeem(
        ip=IP, learner_id=learner.pk, purpose="activate", code=last_code(), password=GOOD_PASSWORD
    )


def test_passwords_are_stored_with_argon2(collect, last_code, settings):
    settings.PASSWORD_HASHERS = ["cpe.accounts.hashers.Argon2PasswordHasher"]
    user = activate(collect(), last_code)
    assert user.password.startswith("argon2$")


# --- Forgotten password -------------------------------------------------------------------


def test_a_forgotten_password_is_reset_by_code_and_other_sessions_end(collect, last_code, settings):
    settings.SIGNIN_CODE_INTERVAL = 0
    learner = collect()
    user = activate(learner, last_code)
    elsewhere = Client()
    elsewhere.force_login(user)
    assert elsewhere.get("/learn/").status_code == 200
    sent = learner_password_forgotten(ip=IP, login="13912345678", name="张三")
    assert sent.purpose == "reset" and sent.mobile_masked == "139****5678"
    learner_code_redeem(
        ip=IP, learner_id=learner.pk, purpose="reset", code=last_code(), password="new-secret-77"
    )
    assert learner_sign_in(ip=IP, login=ZHANG, password="new-secret-77") == user
    assert elsewhere.get("/learn/").status_code == 302
    assert AuditEntry.objects.filter(action="learner.password_reset", actor=user).exists()


def test_forgotten_password_answers_alike_for_unknown_and_never_activated(collect):
    collect()
    never = refusal(lambda: learner_password_forgotten(ip=IP, login=ZHANG, name="张三"))
    unknown = refusal(lambda: learner_password_forgotten(ip=IP, login=LI, name="李四"))
    wrong_name = refusal(lambda: learner_password_forgotten(ip=IP, login=ZHANG, name="张四"))
    assert len({(r.code, r.message) for r in (never, unknown, wrong_name)}) == 1


# --- Plain ID+name sign-in ----------------------------------------------------------------


def test_a_region_with_plain_sign_in_lets_id_and_name_in_without_a_code(
    collect, regions, sent_messages
):
    learner = collect()
    wuhan = regions["420100"]
    wuhan.plain_id_name_sign_in = True
    wuhan.save()
    result = start()
    assert result.code_sent is None and result.user is not None
    assert not result.user.has_usable_password()
    assert Learner.objects.get(pk=learner.pk).user == result.user
    assert sent_messages() == []
    # Still the generic answer for a wrong name.
    assert refusal(lambda: start(ZHANG, "张四")).code == "not_recognised"


def test_plain_sign_in_is_off_by_default(collect, regions):
    collect()
    assert not regions["420100"].plain_id_name_sign_in
    assert start().code_sent is not None


def test_the_mobile_is_shown_masked():
    assert mask_mobile("13812341234") == "138****1234"


@pytest.mark.django_db(transaction=True)
def test_one_code_redeemed_twice_at_once_activates_one_account(collect, last_code):
    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    learner = collect()
    start()
    code = last_code()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def redeem() -> None:
        try:
            barrier.wait()
            learner_code_redeem(
                ip=IP, learner_id=learner.pk, purpose="activate", code=code, password=GOOD_PASSWORD
            )
            outcomes.append("activated")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=redeem) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["activated", "refused"]
    assert User.objects.filter(role="learner", learner=learner).count() == 1


def test_the_nightly_task_forgets_codes_older_than_a_day(collect, settings):
    from cpe.registry.tasks import sign_in_codes_housekeeping

    collect()
    start()
    SignInCode.objects.update(created_at=timezone.now() - timedelta(days=1, minutes=1))
    collect(id_number=LI, name="李四", mobile="13912345679")
    start(LI, "李四", ip="192.0.2.9")
    sign_in_codes_housekeeping.call_local()
    assert SignInCode.objects.count() == 1
    assert SignInCode.objects.get().learner.name == "李四"
