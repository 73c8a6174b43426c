"""Verification, page and API: only a valid certificate (genuine, its year still complete, the
current one) answers 200 and `valid`; revoked and superseded ones say plainly that they are not
valid (410); unknown, mistyped and tampered numbers or codes are "not genuine" with a reason,
all with one status (404)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.db import connection

from cpe.certificates import numbers
from cpe.certificates.models import Certificate
from cpe.certificates.selectors import SUPERSEDED, certificate_verify, verification_url
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


def _revoke(certificate: Certificate) -> None:
    """Reverse the year's professional credits: the year is no longer complete."""
    entry = CreditEntry.objects.filter(learner=certificate.learner, credits=60).get()
    credit_reverse(actor=SYSTEM, entry=entry, reason="登记有误")


def _replace(certificate: Certificate, credits: int = 3) -> Certificate:
    """More credits for the year, and the download that issues a new certificate for them."""
    record(
        certificate.learner, credits, year=certificate.year, category=CreditEntry.Category.PUBLIC
    )
    return certificate_issue(actor=SYSTEM, learner=certificate.learner, year=certificate.year)


def _verdict(page: str) -> str:
    """The words of the banner at the top of the result, without the mark."""
    match = re.search(r'<p class="verdict"[^>]*>(.*?)</p>', page, re.S)
    assert match, "the page has no verdict"
    return re.sub(r"<[^>]+>|[✓✕]", "", match.group(1)).strip()


def test_the_qr_url_shows_a_genuine_certificate_with_its_details(client, certificate):
    response = client.get(_path(certificate))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-status="valid"' in page and 'data-valid="true"' in page
    assert _verdict(page) == "有效"
    assert certificate.learner_name in page
    assert certificate.id_number_masked in page
    assert certificate.number_grouped in page
    assert certificate.key_id in page  # the public key is published beside it


def test_a_number_typed_from_paper_finds_the_certificate(client, certificate):
    typed = certificate.number_grouped.lower()
    response = client.get("/verify/", {"number": typed})
    assert response.status_code == 302
    assert response["Location"] == f"/verify/{certificate.number}/"
    assert 'data-status="valid"' in client.get(response["Location"]).content.decode()


def test_the_form_refuses_a_mistyped_number_with_a_reason(client, certificate):
    response = client.get("/verify/", {"number": _tampered(certificate.number)})
    assert response.status_code == 200
    assert "typing error" in response.content.decode() or "输错" in response.content.decode()


def test_a_tampered_number_is_not_genuine(client, certificate):
    response = client.get(f"/verify/{_tampered(certificate.number)}/")
    assert response.status_code == 404
    page = response.content.decode()
    assert 'data-status="not_genuine"' in page and 'data-valid="false"' in page
    assert _verdict(page) == "无效"
    assert "请勿采信" in page


def test_an_unknown_number_is_not_genuine_with_the_same_status(client, certificate):
    response = client.get(f"/verify/{_forged(certificate.number)}/")
    assert response.status_code == 404
    page = response.content.decode()
    assert 'data-status="not_genuine"' in page
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
    assert 'data-status="not_genuine"' in response.content.decode()


def test_a_revoked_year_shows_as_revoked_and_not_valid(client, certificate):
    _revoke(certificate)
    response = client.get(_path(certificate))
    assert response.status_code == 410
    page = response.content.decode()
    assert 'data-status="revoked"' in page and 'data-valid="false"' in page
    assert _verdict(page) == "无效"
    assert "已撤销" in page
    assert certificate.number_grouped in page  # the details as issued, to compare with the paper


def test_a_superseded_certificate_is_not_valid_and_names_the_one_that_replaces_it(
    client, certificate
):
    newer = _replace(certificate)
    response = client.get(_path(certificate))
    assert response.status_code == 410
    page = response.content.decode()
    assert 'data-status="superseded"' in page and 'data-valid="false"' in page
    assert _verdict(page) == "无效"
    assert newer.number_grouped in page
    assert f'href="/verify/{newer.number_grouped}/"' in page
    assert client.get(f"/verify/{newer.number_grouped}/").status_code == 200


def test_a_certificate_replaced_twice_names_the_current_one(certificate):
    middle = _replace(certificate)
    current = _replace(middle, credits=6)
    for old in (certificate, middle):
        result = certificate_verify(number=old.number)
        assert result.status == SUPERSEDED and not result.valid
        assert result.replaced_by == current.number_grouped


def test_the_verdict_reads_in_english_too(client, certificate):
    client.cookies["django_language"] = "en"
    assert _verdict(client.get(_path(certificate)).content.decode()) == "Valid"
    _revoke(certificate)
    page = client.get(_path(certificate)).content.decode()
    assert _verdict(page) == "Not valid"
    assert "Revoked: the year is no longer complete" in page


def test_a_verification_is_never_kept_in_a_cache(client, certificate):
    page = client.get(_path(certificate))
    api = client.get(f"/api/v1/certificates/{certificate.number}")
    for response in (page, api):
        assert "no-store" in response["Cache-Control"]


def test_the_api_answers_genuine_with_the_printed_details(client, certificate):
    response = client.get(
        f"/api/v1/certificates/{certificate.number}", {"s": certificate.signature}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is True
    assert body["status"] == "valid"
    assert body["outcome"] == "genuine"  # the former field, kept for callers written before
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
        assert response.json()["valid"] is False
        assert response.json()["status"] == "not_genuine"
    assert unknown.json()["message"] != tampered.json()["message"]  # each with its reason


def test_the_api_says_a_revoked_certificate_is_not_valid(client, certificate):
    _revoke(certificate)
    response = client.get(f"/api/v1/certificates/{certificate.number}")
    assert response.status_code == 410
    body = response.json()
    assert body["valid"] is False
    assert body["status"] == "revoked"
    assert body["certificate"]["number"] == certificate.number_grouped


def test_the_api_says_a_superseded_certificate_is_not_valid_and_names_the_current_one(
    client, certificate
):
    newer = _replace(certificate)
    old = client.get(f"/api/v1/certificates/{certificate.number}")
    current = client.get(f"/api/v1/certificates/{newer.number}")
    assert old.status_code == 410
    assert old.json()["valid"] is False
    assert old.json()["status"] == "superseded"
    assert old.json()["replaced_by"] == newer.number_grouped
    assert current.status_code == 200 and current.json()["valid"] is True


def test_the_openapi_document_gives_the_verification_its_statuses_and_valid(client):
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/certificates/{number}"]["get"]
    assert set(operation["responses"]) >= {"200", "404", "410", "429"}
    verification = schema["components"]["schemas"]["VerificationOut"]
    assert verification["properties"]["valid"]["type"] == "boolean"
    assert verification["properties"]["status"]["enum"] == ["valid", "superseded", "revoked"]
    assert verification["properties"]["outcome"]["deprecated"] is True
    assert "valid" in verification["required"]
    assert "410" in operation["description"]


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
