"""The demo data leaves the demo learner with a certificate of her latest complete year."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from cpe.certificates.models import Certificate
from cpe.certificates.selectors import VALID, certificate_verify

pytestmark = pytest.mark.django_db


def test_the_demo_learner_has_a_valid_certificate_and_a_rerun_adds_none(regions, settings):
    settings.DEBUG = True
    call_command("seed_demo", "--quiet-logins", stdout=io.StringIO())
    certificate = Certificate.objects.get()
    assert certificate.learner_name == "张晓梅"
    assert certificate.year == timezone.localdate().year - 1
    assert certificate_verify(number=certificate.number).status == VALID
    call_command("seed_demo", "--quiet-logins", stdout=io.StringIO())
    assert Certificate.objects.count() == 1
