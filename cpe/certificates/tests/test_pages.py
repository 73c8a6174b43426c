"""The learner's download from the credits page and the API, and staff downloads in scope."""

from __future__ import annotations

import pytest
from django.utils import timezone

from cpe.certificates.models import Certificate
from cpe.certificates.services import certificate_issue
from cpe.certificates.testing import SYSTEM, complete_year
from cpe.core.models import AuditEntry
from cpe.credits.models import CreditEntry
from cpe.credits.services import credit_reverse
from cpe.credits.testing import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(make_learner, users, client_for):
    learner = make_learner(user=users["learner"])
    return learner, client_for(users["learner"])


def test_the_credits_page_offers_the_download_for_a_complete_year_only(signed_in):
    learner, client = signed_in
    year = timezone.localdate().year
    record(learner, 30)
    page = client.get("/study/credits/").content.decode()
    assert f'action="/study/certificates/{year}/"' not in page
    complete_year(learner)
    page = client.get("/study/credits/").content.decode()
    assert f'action="/study/certificates/{year}/"' in page


def test_the_learner_downloads_the_pdf_of_a_complete_year(signed_in):
    learner, client = signed_in
    year = complete_year(learner)
    response = client.post(f"/study/certificates/{year}/", {"language": "en"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    certificate = Certificate.objects.get(learner=learner, year=year)
    assert certificate.number in response["Content-Disposition"]
    # A second download gives the same certificate.
    client.post(f"/study/certificates/{year}/")
    assert Certificate.objects.filter(learner=learner).count() == 1


def test_a_year_not_complete_is_refused_with_a_message_and_nothing_written(signed_in):
    learner, client = signed_in
    year = timezone.localdate().year
    record(learner, 30)
    response = client.post(f"/study/certificates/{year}/", follow=True)
    assert response.redirect_chain[-1][0] == "/study/credits/"
    assert "尚未完成" in response.content.decode()
    assert not Certificate.objects.exists()


def test_the_learner_api_issues_then_sends_the_pdf(signed_in):
    learner, client = signed_in
    year = complete_year(learner)
    assert client.get(f"/api/v1/learner/certificates/{year}/pdf").status_code == 404
    token = client.get("/api/v1/learner/csrf").json()["csrf_token"]
    issued = client.post(f"/api/v1/learner/certificates/{year}", HTTP_X_CSRFTOKEN=token)
    assert issued.status_code == 200
    body = issued.json()
    assert body["verification_url"].endswith("?s=" + body["signature"][:16])
    pdf = client.get(body["pdf_url"], {"language": "en"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_the_learner_api_refuses_an_incomplete_year_with_field_errors(signed_in):
    _learner, client = signed_in
    year = timezone.localdate().year
    token = client.get("/api/v1/learner/csrf").json()["csrf_token"]
    response = client.post(f"/api/v1/learner/certificates/{year}", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 422
    assert "year" in response.json()["fields"]
    assert not Certificate.objects.exists()


def test_staff_in_scope_download_an_issued_certificate(completed, users, client_for):
    learner, year = completed
    url = f"/staff/learners/{learner.pk}/certificates/{year}/"
    officer = client_for(users["district_officer"])
    assert officer.get(url).status_code == 404  # nothing issued yet
    certificate = certificate_issue(actor=SYSTEM, learner=learner, year=year)
    response = officer.get(url)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert certificate.number in response["Content-Disposition"]
    assert client_for(users["officer_elsewhere"]).get(url).status_code == 404
    assert client_for(users["course_manager"]).get(url).status_code == 403


def test_the_staff_study_page_lists_the_certificates(completed, users, client_for):
    learner, year = completed
    certificate = certificate_issue(actor=SYSTEM, learner=learner, year=year)
    page = client_for(users["district_officer"]).get(f"/staff/learners/{learner.pk}/study/")
    assert certificate.number_grouped in page.content.decode()


def test_a_year_revoked_after_issue_hands_out_no_certificate(signed_in, users, client_for):
    learner, client = signed_in
    year = complete_year(learner)
    certificate_issue(actor=SYSTEM, learner=learner, year=year)
    pdf_url = f"/api/v1/learner/certificates/{year}/pdf"
    staff_url = f"/staff/learners/{learner.pk}/certificates/{year}/"
    officer = client_for(users["district_officer"])
    assert client.get(pdf_url).status_code == 200
    assert officer.get(staff_url).status_code == 200
    entry = CreditEntry.objects.filter(learner=learner, year=year).first()
    credit_reverse(actor=SYSTEM, entry=entry, reason="recorded for the wrong person")
    assert client.get(pdf_url).status_code == 404
    assert officer.get(staff_url).status_code == 404
    assert (
        officer.get(f"/api/v1/staff/learners/{learner.pk}/certificates/{year}/pdf").status_code
        == 404
    )


def test_staff_downloads_of_a_certificate_are_audited(completed, users, client_for):
    learner, year = completed
    certificate_issue(actor=SYSTEM, learner=learner, year=year)
    officer = client_for(users["district_officer"])
    officer.get(f"/staff/learners/{learner.pk}/certificates/{year}/")
    officer.get(f"/api/v1/staff/learners/{learner.pk}/certificates/{year}/pdf")
    opened = AuditEntry.objects.filter(action="certificate.download")
    assert opened.count() == 2
    assert {entry.actor_id for entry in opened} == {users["district_officer"].pk}
