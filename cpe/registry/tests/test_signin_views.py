"""The learner's sign-in pages, from the first sign-in to the profile."""

from __future__ import annotations

import pytest
from django.test import Client

from cpe.core.models import AuditEntry
from cpe.registry.models import Learner
from cpe.registry.tests.conftest import LI, NOT_COLLECTED_HONGSHAN, ZHANG

PASSWORD = "river-lantern-42"


def first_sign_in(client: Client, id_number: str = ZHANG, name: str = "张三"):
    return client.post("/login/first/", {"id_number": id_number, "name": name})


def redeem(client: Client, code: str, password: str = PASSWORD, again: str | None = None):
    return client.post(
        "/login/code/",
        {"code": code, "password": password, "password_again": again or password},
    )


def activate(client: Client, last_code) -> None:
    assert first_sign_in(client)["Location"] == "/login/code/"
    assert redeem(client, last_code())["Location"] == "/learn/"


def test_a_learner_activates_through_the_pages_and_lands_on_their_page(client, collect, last_code):
    learner = collect()
    response = first_sign_in(client)
    assert response.status_code == 302 and response["Location"] == "/login/code/"
    page = client.get("/login/code/")
    assert "139****5678" in page.content.decode()
    assert "13912345678" not in page.content.decode()
    response = redeem(client, last_code())
    assert response["Location"] == "/learn/"
    learner.refresh_from_db()
    assert client.session["_auth_user_id"] == str(learner.user.pk)
    assert client.get("/learn/").status_code == 200


def test_two_different_passwords_are_a_field_error_and_the_code_stays_usable(
    client, collect, last_code
):
    collect()
    first_sign_in(client)
    response = redeem(client, last_code(), again="something-else-1")
    assert response.status_code == 200
    assert "password_again" in response.context["form"].errors
    assert redeem(client, last_code())["Location"] == "/learn/"


def test_a_wrong_code_is_a_field_error_on_the_code(client, collect, last_code):
    collect()
    first_sign_in(client)
    wrong = "000000" if last_code() != "000000" else "111111"
    response = redeem(client, wrong)
    assert "code" in response.context["form"].errors
    assert "_auth_user_id" not in client.session


def test_the_code_page_without_a_code_under_way_sends_back_to_the_first_step(client, regions):
    response = client.get("/login/code/")
    assert response["Location"] == "/login/first/"


def test_wrong_name_and_not_collected_look_the_same_and_carry_the_guidance(client, collect):
    collect()
    wrong_name = first_sign_in(client, ZHANG, "张四")
    not_collected = first_sign_in(client, LI, "张三")
    assert wrong_name.status_code == not_collected.status_code == 200

    def guidance(response) -> str:
        html = response.content.decode()
        return html[
            html.index('role="alert"') : html.index("</section>", html.index("data-guidance"))
        ]

    assert guidance(wrong_name) == guidance(not_collected)
    assert "江岸区财政局" in guidance(wrong_name)


def test_an_uncollected_id_number_is_told_where_to_go_in_plain_words(client, regions):
    client.cookies["django_language"] = "en"
    response = first_sign_in(client, NOT_COLLECTED_HONGSHAN, "赵六")
    html = response.content.decode()
    assert "proof of employment" in html and "qualification certificate" in html
    assert "Hongshan District Finance Bureau" in html
    assert "Jiang&#x27;an District Finance Bureau" not in html


def test_a_malformed_id_number_gets_a_field_error_and_no_guidance(client, regions):
    response = first_sign_in(client, "12345", "张三")
    assert "id_number" in response.context["form"].errors
    assert b"data-guidance" not in response.content


def test_a_learner_signs_in_with_the_password_and_returns_to_the_page_asked_for(
    client, collect, last_code
):
    collect()
    activate(Client(), last_code)
    response = client.post(
        "/login/", {"username": "13912345678", "password": PASSWORD, "next": "/learn/profile/"}
    )
    assert response["Location"] == "/learn/profile/"
    evil = Client().post(
        "/login/", {"username": ZHANG, "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert evil["Location"] == "/learn/"


def test_a_wrong_password_and_an_unknown_learner_get_the_same_answer(client, collect, last_code):
    collect()
    activate(Client(), last_code)
    wrong = client.post("/login/", {"username": ZHANG, "password": "not-the-password"})
    unknown = client.post("/login/", {"username": LI, "password": "not-the-password"})
    assert wrong.status_code == unknown.status_code == 200
    assert wrong.context["form"].non_field_errors() == unknown.context["form"].non_field_errors()
    assert "_auth_user_id" not in client.session


def test_the_learner_sign_in_is_linked_from_the_header_and_protects_the_learner_pages(client, db):
    assert 'href="/login/"' in client.get("/").content.decode()
    assert client.get("/learn/")["Location"] == "/login/?next=/learn/"
    assert client.get("/account/password/")["Location"].startswith("/login/?next=")


def test_a_forgotten_password_is_reset_with_a_code(client, collect, last_code, settings):
    settings.SIGNIN_CODE_INTERVAL = 0
    collect()
    activate(Client(), last_code)
    response = client.post("/login/forgotten/", {"login": ZHANG, "name": "张三"})
    assert response["Location"] == "/login/code/"
    assert redeem(client, last_code(), password="another-secret-9")["Location"] == "/learn/"
    assert (
        Client().post("/login/", {"username": ZHANG, "password": "another-secret-9"}).status_code
        == 302
    )


def test_asking_for_a_new_code_supersedes_the_old_one(client, collect, last_code, settings):
    settings.SIGNIN_CODE_INTERVAL = 0
    collect()
    first_sign_in(client)
    old = last_code()
    assert client.post("/login/code/resend/")["Location"] == "/login/code/"
    new = last_code()
    if old != new:
        assert "code" in redeem(client, old).context["form"].errors
    assert redeem(client, new)["Location"] == "/learn/"


def test_a_region_with_plain_sign_in_lets_the_learner_in_and_offers_a_password(
    client, collect, regions
):
    regions["420102"].plain_id_name_sign_in = True
    regions["420102"].save()
    learner = collect()
    response = first_sign_in(client)
    assert response["Location"] == "/login/password/"
    response = client.post("/login/password/", {"password": PASSWORD, "password_again": PASSWORD})
    assert response["Location"] == "/learn/"
    learner.refresh_from_db()
    assert learner.user.check_password(PASSWORD)
    assert AuditEntry.objects.filter(action="learner.password_set").exists()


def test_the_profile_shows_the_record_masked_with_the_district_contacts(client, collect, last_code):
    learner = collect()
    activate(client, last_code)
    html = client.get("/learn/profile/").content.decode()
    assert learner.id_number_masked in html and ZHANG not in html
    assert "139****5678" in html and "武汉某某有限公司" in html
    assert "江岸区财政局" in html


def test_a_learner_account_without_a_learner_record_has_no_profile(client_for, users):
    assert client_for(users["learner"]).get("/learn/profile/").status_code == 404


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_sign_in_pages_render_in_both_languages(client, regions, language):
    client.cookies["django_language"] = language
    for url in ["/login/", "/login/first/", "/login/forgotten/"]:
        response = client.get(url)
        assert response.status_code == 200
        assert f'lang="{language}"' in response.content.decode()
    assert Learner.objects.count() == 0


def test_the_demo_learners_sign_in_as_the_readme_says(client, db, settings, last_code):
    from django.core.management import call_command

    from cpe.accounts.demo import DEMO_PASSWORD
    from cpe.registry.demo import ACTIVATED, NOT_ACTIVATED

    settings.DEBUG = True
    call_command("seed_demo", "--quiet-logins")
    call_command("seed_demo", "--quiet-logins")  # idempotent
    assert Learner.objects.filter(district__code="420102").count() == 3
    for login in (ACTIVATED[0], ACTIVATED[2]):
        response = Client().post("/login/", {"username": login, "password": DEMO_PASSWORD})
        assert response["Location"] == "/learn/"
    assert Learner.objects.get(user__username="learner").name == ACTIVATED[1]
    assert first_sign_in(client, NOT_ACTIVATED[0], NOT_ACTIVATED[1])["Location"] == "/login/code/"
    assert redeem(client, last_code())["Location"] == "/learn/"


def test_the_plain_sign_in_switch_is_editable_in_the_django_admin(client_for, users, regions):
    admin = client_for(users["superuser"])
    page = admin.get(f"/admin/regions/region/{regions['420102'].pk}/change/")
    assert page.status_code == 200
    assert 'name="plain_id_name_sign_in"' in page.content.decode()
