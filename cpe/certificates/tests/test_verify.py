"""Verification, page and API: genuine, superseded and revoked certificates say so; unknown,
mistyped and tampered numbers or codes are "not genuine" with a reason, all with one status."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.db import connection

from cpe.certificates import numbers
from cpe.certificates.models import Certificate
from cpe.certificates.selectors import verification_url
from cpe.certificates.services import certificate_issue
from cpe.certificates.testing import SYSTEM
from cpe.credits.models import CreditEntry
from cpe.credits.services import credit_reverse
from cpe.credits.testing import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def certificate(completed) -> Certificate:
    learner, year = completed
    return certificate_issue(actor=SYSTEM, learner=learner, year=year)


def _path(certificate: Certificate) -> str:
    url = urlsplit(verification_url(certificate))
    return f"{url.path}?{url.query}"


def _tampered(number: str) -> str:
    """The number with one character changed (its check character no longer fits)."""
    first = numbers.ALPHABET[(numbers.ALPHABET.index(number[0]) + 1) % 32]
    return first + number[1:]


def _forged(number: str) -> str:
    """Another well-formed number: the check character fits, but nobody was given it."""
    body = _tampered(number)[:-1]
    return body + numbers.check_character(body)


def test_the_qr_url_shows_a_genuine_certificate_with_its_details(client, certificate):
    response = client.get(_path(certificate))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-outcome="genuine"' in page
    assert certificate.learner_name in page
    assert certificate.id_number_masked in page
    assert certificate.number_grouped in page
    assert certificate.key_id in page  # the public key is published beside it


def test_a_number_typed_from_paper_finds_the_certificate(client, certificate):
    typed = certificate.number_grouped.lower()
    response = client.get("/verify/", {"number": typed})
    assert response.status_code == 302
    assert response["Location"] == f"/verify/{certificate.number}/"
    assert 'data-outcome="genuine"' in client.get(response["Location"]).content.decode()


def test_the_form_refuses_a_mistyped_number_with_a_reason(client, certificate):
    response = client.get("/verify/", {"number": _tampered(certificate.number)})
    assert response.status_code == 200
    assert "typing error" in response.content.decode() or "输错" in response.content.decode()


def test_a_tampered_number_is_not_genuine(client, certificate):
    response = client.get(f"/verify/{_tampered(certificate.number)}/")
    assert response.status_code == 404
    assert 'data-outcome="not_genuine"' in response.content.decode()


def test_an_unknown_number_is_not_genuine_with_the_same_status(client, certificate):
    response = client.get(f"/verify/{_forged(certificate.number)}/")
    assert response.status_code == 404
    page = response.content.decode()
    assert 'data-outcome="not_genuine"' in page
    assert certificate.learner_name not in page


def test_a_code_that_does_not_belong_to_the_number_is_not_genuine(client, certificate):
    response = client.get(f"/verify/{certificate.number}/", {"s": "A" * 86})
    assert response.status_code == 404
    assert certificate.learner_name not in response.content.decode()


def test_a_record_changed_behind_the_application_is_not_genuine(client, certificate):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE certificates_certificate SET total_credits = 120 WHERE id = %s",
            [certificate.pk],
        )
    response = client.get(_path(certificate))
    assert response.status_code == 404
    assert 'data-outcome="not_genuine"' in response.content.decode()


def test_a_revoked_year_shows_as_revoked(client, certificate):
    entry = CreditEntry.objects.filter(learner=certificate.learner, credits=60).get()
    credit_reverse(actor=SYSTEM, entry=entry, reason="登记有误")
    response = client.get(_path(certificate))
    assert response.status_code == 200
    assert 'data-outcome="revoked"' in response.content.decode()


def test_a_superseded_certificate_names_the_one_that_replaces_it(client, certificate):
    record(certificate.learner, 3, year=certificate.year, category=CreditEntry.Category.PUBLIC)
    newer = certificate_issue(actor=SYSTEM, learner=certificate.learner, year=certificate.year)
    page = client.get(_path(certificate)).content.decode()
    assert 'data-outcome="superseded"' in page
    assert newer.number_grouped in page


def test_the_api_answers_genuine_with_the_printed_details(client, certificate):
    response = client.get(
        f"/api/v1/certificates/{certificate.number}", {"s": certificate.signature}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["outcome"] == "genuine"
    assert body["certificate"]["number"] == certificate.number_grouped
    assert body["certificate"]["id_number"] == certificate.id_number_masked
    assert body["certificate"]["total_credits"] == "90.0"


def test_the_api_answers_unknown_and_tampered_numbers_alike(client, certificate):
    unknown = client.get(f"/api/v1/certificates/{_forged(certificate.number)}")
    tampered = client.get(f"/api/v1/certificates/{_tampered(certificate.number)}")
    wrong_code = client.get(f"/api/v1/certificates/{certificate.number}", {"s": "x"})
    for response in (unknown, tampered, wrong_code):
        assert response.status_code == 404
        assert response.json()["code"] == "not_genuine"
        assert response.json()["message"]
    assert unknown.json()["message"] != tampered.json()["message"]  # each with its reason


def test_the_api_publishes_the_public_keys(client, certificate):
    keys = client.get("/api/v1/certificates/keys").json()
    assert [key["key_id"] for key in keys if key["current"]] == [certificate.key_id]


def test_verification_is_rate_limited_per_address(client, certificate, settings):
    settings.CERTIFICATE_VERIFY_RATE = "3/300"
    statuses = [client.get(f"/verify/{certificate.number}/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get(f"/api/v1/certificates/{certificate.number}").status_code == 429
    other = client.get(f"/verify/{certificate.number}/", REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 200
