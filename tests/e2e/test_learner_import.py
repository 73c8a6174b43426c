"""A district officer imports a spreadsheet of learners: upload, preview, error rows, confirm."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cpe.registry import import_samples
from cpe.registry.imports import read_sheet
from cpe.registry.models import Learner

pytestmark = pytest.mark.e2e


def test_an_officer_uploads_previews_downloads_the_errors_and_confirms(
    page: Page, staff_sign_in: Callable[..., None], tmp_path: Path
) -> None:
    people = list(import_samples.people(40))
    people[6][2] = "1234"  # row 8: a mobile number too short
    people[30][0] = "420102198001011591"  # row 32: a typing mistake in the ID number
    upload = tmp_path / "江岸区名单.xlsx"
    upload.write_bytes(import_samples.xlsx_bytes(people))

    demo_learners = Learner.objects.filter(district__code="420102").count()
    staff_sign_in(page, "officer.jiangan")
    page.locator("a.tile[href='/staff/imports/']").click()
    expect(page).to_have_url(re.compile(r"/staff/imports/$"))
    page.locator("form.import-upload input[type=file]").set_input_files(upload)
    page.locator("form.import-upload button[type=submit]").click()

    # Jobs run inline at commit in tests: the preview is ready when the page opens.
    expect(page).to_have_url(re.compile(r"/staff/imports/[0-9a-f-]{36}/$"))
    expect(page.locator("[data-import-state]")).to_have_attribute("data-import-state", "checked")
    expect(page.locator("[data-count=new]")).to_have_text("38")
    expect(page.locator("[data-count=errors]")).to_have_text("2")
    expect(page.locator("tr[data-row]")).to_have_count(2)
    expect(page.locator("tr[data-row='8']")).to_contain_text("手机号")
    expect(page.locator("tr[data-row='32']")).to_contain_text("身份证号")

    with page.expect_download() as info:
        page.locator("a[href$='/errors.xlsx']").click()
    saved = tmp_path / "errors.xlsx"
    info.value.save_as(saved)
    sheet = read_sheet(io.BytesIO(saved.read_bytes()), "xlsx")
    assert sheet.header[-1] == "错误"
    assert [values[0] for _number, values in sheet.rows] == [people[6][0], people[30][0]]

    page.locator("button[data-action=confirm]").click()
    expect(page.locator("[data-import-state]")).to_have_attribute("data-import-state", "applied")
    expect(page.locator("a[href$='/errors.xlsx']")).to_have_count(0)
    # The demo data's own Jiang'an learners plus the 38 good rows.
    assert Learner.objects.filter(district__code="420102").count() == demo_learners + 38
