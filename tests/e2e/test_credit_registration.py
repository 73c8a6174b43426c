"""A learner applies for credits with an evidence file on a phone, the district officer
approves, and the learner sees the credits and the year's progress move."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from cpe.credits.models import CreditApplication, CreditEntry, YearStatus
from cpe.credits.testing import PDF_BYTES
from cpe.registry.demo import ACTIVATED
from cpe.registry.services import learner_find_by_id_number
from tests.e2e.test_phone_layout import assert_fits_the_phone

pytestmark = pytest.mark.e2e
DEMO_MOBILE = "13800000001"


def _professional(year: int) -> Decimal:
    learner = learner_find_by_id_number(ACTIVATED[0])
    status = YearStatus.objects.filter(learner=learner, year=year).first()
    return status.professional_credits if status else Decimal(0)


def test_a_learner_applies_on_a_phone_and_sees_the_credits_once_the_officer_approves(
    phone: Page,
    page: Page,
    sign_in: Callable[..., None],
    staff_sign_in: Callable[..., None],
    tmp_path: Path,
) -> None:
    year = timezone.localdate().year
    before = _professional(year)
    evidence = tmp_path / "论文首页.pdf"
    evidence.write_bytes(PDF_BYTES)

    sign_in(phone, "/login/", DEMO_MOBILE)
    phone.goto("/study/credits/")
    # The demo's own application waits for the bureau already.
    expect(phone.locator("#applications [data-state=pending]")).to_have_count(1)
    with phone.expect_navigation():
        phone.locator("#applications a[href='/study/credits/apply/']").click()
    assert_fits_the_phone(phone, "/study/credits/apply/")
    with phone.expect_navigation():
        phone.locator("[data-kind=paper_sole] a").click()
    assert_fits_the_phone(phone, "/study/credits/apply/paper_sole/")
    form = phone.locator("form.application-form")
    expect(form.locator("[name=year]")).to_have_value(str(year))
    form.locator("[name=title]").fill("小微企业成本核算的数字化路径")
    form.locator("[name=journal]").fill("财会月刊")
    form.locator("[name=issn]").fill("1004-0994")
    form.locator("[name=cn]").fill("42-1290/F")
    # Sent without the file first: refused beside the field, nothing kept.
    with phone.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(phone.locator(".field.has-error")).to_contain_text("证明")
    assert not CreditApplication.objects.filter(kind="paper_sole").exists()
    form.locator("[name=evidence]").set_input_files(evidence)
    with phone.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(phone).to_have_url(re.compile(r"/study/credits/$"))
    expect(phone.locator("#applications [data-state=pending]")).to_have_count(2)
    application = CreditApplication.objects.get(kind="paper_sole")

    staff_sign_in(page, "officer.jiangan")
    page.locator("a.tile[href='/staff/credits/applications/']").click()
    page.locator(f"tr[data-application='{application.pk}'] a").click()
    expect(page.locator("a[href$='/evidence/']")).to_contain_text("论文首页")
    expect(page.locator("[name=credits]")).to_have_value("30.0")
    with page.expect_navigation():
        page.locator("button[data-action=approve]").click()
    expect(page.locator(".messages")).to_contain_text("学分")

    entry = CreditEntry.objects.get(application=application)
    assert entry.credits == 30 and entry.approved_by.username == "officer.jiangan"
    after = before + 30
    assert _professional(year) == after
    phone.goto("/study/credits/")
    approved = phone.locator(f"[data-application='{application.pk}']")
    expect(approved).to_have_attribute("data-state", "approved")
    expect(approved).to_contain_text("30")
    professional = phone.locator(f"#year-{year} [data-rule=professional]")
    expect(professional).to_contain_text(format(after.normalize(), "f"))
    assert_fits_the_phone(phone, "/study/credits/")
