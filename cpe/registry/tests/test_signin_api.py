"""The learner's API: the same services and answers as the pages, in the OpenAPI document."""

from __future__ import annotations

from django.test import Client

from cpe.registry.tests.conftest import LI, NOT_COLLECTED_HONGSHAN, ZHANG

PASSWORD = "river-lantern-42"
BASE = "/api/v1/learner"


def post(client: Client, path: str, body: dict | None = None, **headers: str):
    return client.post(f"{BASE}{path}", body or {}, content_type="application/json", **headers)


def activate(client: Client, last_code) -> dict:
    started = post(client, "/first-sign-in", {"id_number": ZHANG, "name": "张三"})
    assert started.status_code == 200, started.content
    assert started.json() == {
        "status": "code_sent",
        "mobile_masked": "139****5678",
        "expires_in": 300,
        "profile": None,
    }
    done = post(client, "/code", {"code": last_code(), "password": PASSWORD})
    assert done.status_code == 200, done.content
    return done.json()


def test_the_learner_calls_are_in_the_openapi_document(client, db):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in [
        "/first-sign-in",
        "/code",
        "/code/resend",
        "/sign-in",
        "/sign-out",
        "/profile",
        "/password",
        "/password-reset",
        "/csrf",
    ]:
        assert f"/api/v1/learner{path}" in paths


def test_a_learner_activates_reads_the_profile_and_signs_out(client, collect, last_code):
    collect()
    profile = activate(client, last_code)
    assert profile["id_number_masked"] == "420102********0039"
    assert profile["district_code"] == "420102" and profile["has_password"] is True
    assert profile["district_contact"]["name"] == "江岸区财政局"
    assert client.get(f"{BASE}/profile").json() == profile
    assert post(client, "/sign-out").status_code == 204
    assert client.get(f"{BASE}/profile").status_code == 401


def test_password_sign_in_sets_the_session_and_failures_share_one_answer(
    client, collect, last_code
):
    collect()
    activate(Client(), last_code)
    wrong = post(client, "/sign-in", {"login": ZHANG, "password": "not-it-at-all"})
    unknown = post(client, "/sign-in", {"login": LI, "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 400
    assert wrong.json()["code"] == unknown.json()["code"] == "sign_in_failed"
    assert wrong.json()["message"] == unknown.json()["message"]
    assert (
        post(client, "/sign-in", {"login": "13912345678", "password": PASSWORD}).status_code == 200
    )
    assert client.get(f"{BASE}/profile").status_code == 200


def test_an_uncollected_id_number_gets_the_generic_answer_with_its_districts_contacts(
    client, regions
):
    response = post(client, "/first-sign-in", {"id_number": NOT_COLLECTED_HONGSHAN, "name": "赵六"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "not_recognised"
    assert [c["name"] for c in body["guidance"]] == ["洪山区财政局"]


def test_a_malformed_id_number_is_a_422_with_field_errors(client, regions):
    response = post(client, "/first-sign-in", {"id_number": "123", "name": "X"})
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"id_number", "name"}
    missing = post(client, "/first-sign-in", {"name": "张三"})
    assert missing.status_code == 422 and "id_number" in missing.json()["fields"]


def test_a_weak_password_is_a_422_on_the_password(client, collect, last_code):
    collect()
    post(client, "/first-sign-in", {"id_number": ZHANG, "name": "张三"})
    response = post(client, "/code", {"code": last_code(), "password": ZHANG})
    assert response.status_code == 422 and "password" in response.json()["fields"]


def test_too_many_failures_are_a_429(client, collect, last_code, settings):
    settings.LOGIN_RATE_LIMIT = "2/300"
    collect()
    for _ in range(2):
        post(client, "/sign-in", {"login": ZHANG, "password": "wrong-wrong"})
    response = post(client, "/sign-in", {"login": ZHANG, "password": "wrong-wrong"})
    assert response.status_code == 429 and response.json()["code"] == "too_many_attempts"


def test_forgotten_password_and_password_change(client, collect, last_code, settings):
    settings.SIGNIN_CODE_INTERVAL = 0
    collect()
    activate(Client(), last_code)
    sent = post(client, "/password-reset", {"login": ZHANG, "name": "张三"})
    assert sent.status_code == 200 and sent.json()["mobile_masked"] == "139****5678"
    assert (
        post(client, "/code", {"code": last_code(), "password": "reset-secret-88"}).status_code
        == 200
    )
    changed = post(
        client,
        "/password",
        {"old_password": "reset-secret-88", "new_password": "changed-secret-99"},
    )
    assert changed.status_code == 204
    assert client.get(f"{BASE}/profile").status_code == 200  # this session stays signed in
    assert (
        post(Client(), "/sign-in", {"login": ZHANG, "password": "changed-secret-99"}).status_code
        == 200
    )


def test_the_code_call_without_a_code_under_way_is_refused(client, regions):
    response = post(client, "/code", {"code": "123456", "password": PASSWORD})
    assert response.status_code == 400 and response.json()["code"] == "no_code"


def test_signing_in_needs_the_csrf_token(collect, last_code):
    collect()
    activate(Client(), last_code)
    client = Client(enforce_csrf_checks=True)
    body = {"login": ZHANG, "password": PASSWORD}
    assert post(client, "/sign-in", body).status_code == 403
    token = client.get(f"{BASE}/csrf").json()["csrf_token"]
    assert post(client, "/sign-in", body, HTTP_X_CSRFTOKEN=token).status_code == 200
    # Signing in rotates the token; the signed-in calls check it too.
    assert post(client, "/sign-out").status_code == 403
    token = client.get(f"{BASE}/csrf").json()["csrf_token"]
    assert post(client, "/sign-out", HTTP_X_CSRFTOKEN=token).status_code == 204
