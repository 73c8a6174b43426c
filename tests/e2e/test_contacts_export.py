"""Staff export the bureau contacts as a background job and download the CSV."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import LazySettings
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _results_in_tmp(settings: LazySettings, tmp_path: Path) -> None:
    # The job writes its CSV to MEDIA_ROOT; keep the developer's var/media clean.
    settings.MEDIA_ROOT = str(tmp_path / "media")


def test_a_staff_member_exports_the_bureau_contacts_as_csv(
    page: Page, staff_sign_in: Callable[..., None], tmp_path: Path
) -> None:
    staff_sign_in(page, "city.wuhan")
    page.goto("/staff/contacts/")
    # Found by the form's action, not the label, so the test holds in either language.
    page.locator("form[action='/staff/contacts/export/'] button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/staff/jobs/[0-9a-f-]{36}/$"))
    # Jobs run inline at commit in tests, so the page shows the finished job straight away.
    progress = page.locator("section.job progress")
    expect(progress).to_have_attribute("value", "100")
    assert progress.evaluate("el => el.value") == 100
    expect(page.locator("section.job .badge")).to_have_class(re.compile(r"\bstate-succeeded\b"))
    download_link = page.locator("[data-job-download] a")
    expect(download_link).to_be_visible()

    with page.expect_download() as info:
        download_link.click()
    download = info.value
    assert re.fullmatch(r"contacts-\d{8}-\d{6}\.csv", download.suggested_filename)
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    text = saved.read_bytes().decode("utf-8")
    # A byte-order mark so that Excel reads the Chinese correctly.
    assert text.startswith("\ufeff区划代码,")
    assert "江岸区财政局" in text
