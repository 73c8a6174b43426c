"""Issuing: only for a complete year, the same certificate twice, a new one when the credits
change, signed over the printed details, audited, and the ID number never in plain text."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cpe.certificates import signing
from cpe.certificates.models import Certificate
from cpe.certificates.services import certificate_issue
from cpe.certificates.testing import SYSTEM
from cpe.core.models import AuditEntry
from cpe.credits.models import CreditEntry
from cpe.credits.services import credit_reverse
from cpe.credits.testing import record

pytestmark = pytest.mark.django_db


def test_it_refuses_a_year_that_is_not_complete(learner):
    record(learner, 60)  # professional credits met, the total not
    with pytest.raises(ValidationError) as refused:
        certificate_issue(actor=SYSTEM, learner=learner, year=timezone.localdate().year)
    assert "year" in refused.value.message_dict
    assert not Certificate.objects.exists()
    assert not AuditEntry.objects.filter(action="certificate.issue").exists()


def test_it_refuses_a_year_without_any_credits(learner):
    with pytest.raises(ValidationError):
        certificate_issue(actor=SYSTEM, learner=learner, year=timezone.localdate().year - 1)
    assert not Certificate.objects.exists()


def test_it_snapshots_the_printed_details(completed):
    learner, year = completed
    certificate = certificate_issue(actor=SYSTEM, learner=learner, year=year)
    assert certificate.learner_name == learner.name
    assert certificate.id_number_masked == learner.id_number_masked
    assert (certificate.total_credits, certificate.professional_credits) == (90, 60)
    assert certificate.public_credits == 30
    assert certificate.district == learner.district
    assert certificate.platform_name


def test_the_id_number_is_never_stored_in_plain_text(completed):
    learner, year = completed
    certificate = certificate_issue(actor=SYSTEM, learner=learner, year=year)
    plain = learner.reveal_id_number()
    row = Certificate.objects.filter(pk=certificate.pk).values().get()
    assert not any(plain in str(value) for value in row.values())
    audit = AuditEntry.objects.get(action="certificate.issue")
    assert plain not in str(audit.changes) and plain not in audit.target_label


def test_issuing_twice_gives_the_same_certificate(completed):
    learner, year = completed
    first = certificate_issue(actor=SYSTEM, learner=learner, year=year)
    again = certificate_issue(actor=SYSTEM, learner=learner, year=year)
    assert again.pk == first.pk and again.number == first.number
    assert Certificate.objects.count() == 1
    assert AuditEntry.objects.filter(action="certificate.issue").count() == 1


def test_new_credits_after_issue_give_a_new_certificate_and_supersede_the_old(completed):
    learner, year = completed
    first = certificate_issue(actor=SYSTEM, learner=learner, year=year)
    record(learner, 6, year=year, category=CreditEntry.Category.PUBLIC)
    second = certificate_issue(actor=SYSTEM, learner=learner, year=year)
    assert second.number != first.number
    assert second.total_credits == 96
    first.refresh_from_db()
    assert first.superseded_at is not None and first.superseded_by == second
    assert Certificate.objects.filter(superseded_at__isnull=True).get() == second
    audit = AuditEntry.objects.filter(action="certificate.issue").order_by("id").last()
    assert audit.changes["after"]["supersedes"] == first.number


def test_a_revoked_year_gets_no_new_certificate(completed):
    learner, year = completed
    certificate_issue(actor=SYSTEM, learner=learner, year=year)
    entry = CreditEntry.objects.filter(learner=learner, credits=60).get()
    credit_reverse(actor=SYSTEM, entry=entry, reason="登记有误")
    with pytest.raises(ValidationError):
        certificate_issue(actor=SYSTEM, learner=learner, year=year)
    assert Certificate.objects.count() == 1


def test_the_signature_covers_the_printed_details(completed):
    learner, year = completed
    certificate = certificate_issue(actor=SYSTEM, learner=learner, year=year)
    details = certificate.printed_details()
    assert signing.signature_valid(
        details, key_id=certificate.key_id, signature=certificate.signature
    )
    assert not signing.signature_valid(
        {**details, "total_credits": "99.0"},
        key_id=certificate.key_id,
        signature=certificate.signature,
    )


def test_issuing_is_audited_with_the_number_and_credits(completed):
    learner, year = completed
    certificate = certificate_issue(actor=SYSTEM, learner=learner, year=year)
    audit = AuditEntry.objects.get(action="certificate.issue")
    assert audit.target_id == str(certificate.pk)
    assert audit.region_path == learner.district.path
    assert audit.changes["after"]["number"] == certificate.number
    assert audit.changes["after"]["total_credits"] in ("90.0", 90, "90")
