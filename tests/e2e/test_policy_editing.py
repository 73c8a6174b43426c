"""A city administrator raises Wuhan's professional minimum for a year that has completions:
refused with the count of affected learner-years, then confirmed with a reason, and a
learner's completed year is in progress again."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from cpe.credits.models import CreditEntry, YearStatus, YearStatusChange
from cpe.credits.testing import record
from cpe.learning.testing import collected_learner
from cpe.regions.models import Region, RegionPolicy

pytestmark = pytest.mark.e2e


def test_a_city_admin_confirms_a_recomputation_and_a_learners_year_changes_status(
    page: Page, staff_sign_in: Callable[..., None]
) -> None:
    year = timezone.localdate().year
    learner = collected_learner(district=Region.objects.get(code="420102"), sequence=321)
    record(learner, 65)
    record(learner, 25, category=CreditEntry.Category.PUBLIC)
    assert YearStatus.objects.get(learner=learner, year=year).status == "complete"
    affected = YearStatus.objects.filter(
        learner__district__path__startswith="420000/420100/", year__gte=year
    ).count()

    staff_sign_in(page, "city.wuhan")
    page.goto("/staff/rules/")
    wuhan = page.locator("section[data-region='420100']")
    expect(page.locator("section[data-region='420000'] a[href*='/new/']")).to_have_count(0)
    wuhan.locator("a[href^='/staff/rules/420100/new/']").click()
    expect(page).to_have_url(re.compile(r"/staff/rules/420100/new/\?from=\d{4}$"))

    form = page.locator("main form[method=post]")
    expect(form.locator("[name=effective_from]")).to_have_value(str(year))
    form.locator("[name=professional_credits]").fill("70")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    refusal = page.locator(".field.has-error").filter(has=page.locator("[name=recompute]"))
    expect(refusal).to_contain_text(f"{affected:,}")
    assert not RegionPolicy.objects.filter(region__code="420100").exists()
    assert YearStatus.objects.get(learner=learner, year=year).status == "complete"

    form = page.locator("main form[method=post]")
    form.locator("[name=recompute]").check()
    form.locator("[name=reason]").fill("市会计考办通知：专业科目不少于70学分")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/staff/rules/$"))
    expect(page.locator("section[data-region='420100'] tr[data-year]")).to_contain_text("70")

    status = YearStatus.objects.get(learner=learner, year=year)
    assert status.status == "in_progress"
    change = YearStatusChange.objects.filter(learner=learner).latest("id")
    assert (change.from_status, change.to_status) == ("complete", "in_progress")
