from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path


def explode(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("database password is hunter2")


urlpatterns = [path("explode/", explode)]
handler500 = "cpe.core.views.server_error"


def test_an_unknown_address_gets_a_friendly_page_in_chinese(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    text = response.content.decode()
    assert '<html lang="zh-hans">' in text
    assert "/help/" in text  # somewhere to go next


@pytest.mark.urls("cpe.core.tests.test_error_pages")
def test_a_server_error_gets_a_friendly_page_that_leaks_nothing(db):
    client = Client(raise_request_exception=False)
    response = client.get("/explode/")
    assert response.status_code == 500
    text = response.content.decode()
    assert "hunter2" not in text and "Traceback" not in text and "RuntimeError" not in text
    assert "<h1>" in text
