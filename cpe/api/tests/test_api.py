from __future__ import annotations

import pytest
from django.conf import settings


def test_the_openapi_document_describes_every_endpoint(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/v1/healthz",
        "/api/v1/regions",
        "/api/v1/regions/{code}",
        "/api/v1/jobs/{job_id}",
        "/api/v1/audit",
    ]:
        assert path in paths


def test_the_browsable_docs_are_served_without_any_outside_host(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert b"cdn." not in page.content and b"unpkg" not in page.content


def test_a_bad_query_value_gets_field_errors_with_a_stable_code(client, regions):
    response = client.get("/api/v1/regions", {"level": "planet"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert "level" in body["fields"]


def test_errors_come_in_the_callers_language(client, regions):
    response = client.get("/api/v1/jobs", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    chinese = response.json()["message"]
    english = client.get("/api/v1/jobs", HTTP_ACCEPT_LANGUAGE="en").json()["message"]
    assert english == "Please sign in first."
    assert chinese != english


def test_an_unknown_record_is_a_json_404(client, regions):
    response = client.get("/api/v1/regions/999999")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_health_reports_the_database(client, db):
    for url in ("/healthz", "/api/v1/healthz"):
        response = client.get(url)
        assert response.status_code == 200
        assert response.json()["checks"]["database"] == "ok"


@pytest.mark.skipif(
    not settings.REDIS_URL, reason="REDIS_URL is not set (CI sets it in its second run)"
)
def test_health_reports_redis_when_configured(client, db):
    assert client.get("/healthz").json()["checks"]["redis"] == "ok"


def test_health_says_so_when_redis_is_unreachable(client, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("error")


def test_session_authenticated_writes_need_the_csrf_token(users, regions):
    # The API uses the session cookie; without the CSRF header a forged form post fails.
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(users["support"])
    response = client.post("/api/v1/jobs")
    assert response.status_code in (403, 405)
