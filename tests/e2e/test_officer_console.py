"""A district officer collects a learner in the console; another district cannot see them."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cpe.accounts.models import User
from cpe.core.services import Actor
from cpe.registry.models import Learner
from cpe.registry.services import learner_collect
from cpe.registry.testing import PDF_BYTES, learner_details, make_id_number

pytestmark = pytest.mark.e2e

NEW_ID_NUMBER = make_id_number("420102", "19900315", 21)


def test_an_officer_collects_a_learner_and_attaches_their_certificate(
    phone: Page, staff_sign_in: Callable[..., None], tmp_path: Path
) -> None:
    page = phone  # officers register people at the counter, sometimes on a tablet or phone
    staff_sign_in(page, "officer.jiangan")
    page.goto("/staff/learners/new/")
    form = page.locator("main form[method=post]")
    form.locator("[name=id_number]").fill(NEW_ID_NUMBER.lower())
    form.locator("[name=name]").fill("欧阳·明")
    form.locator("[name=mobile]").fill("139 0000 1111")
    form.locator("[name=employer_name]").fill("武汉市江岸区某某贸易有限公司")
    form.locator("[name=qualification_level]").select_option("intermediate")
    form.locator("[name=qualification_year]").fill("2018")
    # A wrong credit code first: the error is shown beside its field, in Chinese.
    form.locator("[name=employer_uscc]").fill("91350100M000100Y44")
    form.locator("button[type=submit]").click()
    error = page.locator(".field.has-error .error")
    expect(error).to_have_count(1)
    expect(error).to_contain_text("统一社会信用代码")
    form.locator("[name=employer_uscc]").fill("91350100M000100Y43")
    form.locator("[name=id_number]").fill(NEW_ID_NUMBER)
    form.locator("button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/staff/learners/\d+/$"))
    masked = NEW_ID_NUMBER[:6] + "********" + NEW_ID_NUMBER[-4:]
    expect(page.locator("main")).to_contain_text(masked)
    assert NEW_ID_NUMBER not in page.content()
    learner = Learner.objects.get(name="欧阳·明")
    assert learner.mobile == "13900001111"
    assert str(learner.birth_date) == "1990-03-15"

    page.locator(f"form[action='/staff/learners/{learner.pk}/reveal/'] button").click()
    expect(page.locator("#full-id-number")).to_have_text(NEW_ID_NUMBER)

    scan = tmp_path / "资格证书.pdf"
    scan.write_bytes(PDF_BYTES)
    upload = page.locator(f"form[action='/staff/learners/{learner.pk}/evidence/']")
    upload.locator("[name=kind]").select_option("qualification")
    upload.locator("[name=file]").set_input_files(str(scan))
    upload.locator("button[type=submit]").click()
    expect(page.locator("#evidence li a").first).to_have_text("资格证书.pdf")


def test_an_officer_cannot_open_a_learner_of_another_district(
    page: Page, staff_sign_in: Callable[..., None]
) -> None:
    jiangan = User.objects.get(username="officer.jiangan")
    number = make_id_number("420102", "19850101", 33)
    learner = learner_collect(
        actor=Actor(user=jiangan),
        district=jiangan.region,
        details=learner_details(id_number=number, name="赵敏", mobile="13700001111"),
    )
    staff_sign_in(page, "officer.hongshan")
    response = page.goto(f"/staff/learners/{learner.pk}/")
    assert response is not None and response.status == 404
    expect(page.locator("main")).not_to_contain_text("赵敏")

    page.goto("/staff/learners/")
    page.locator("#q").fill(number)
    page.locator("form.search button[type=submit]").click()
    expect(page.locator("table.data tbody")).not_to_contain_text("赵敏")
    expect(page.locator("table.data tbody")).to_contain_text("没有符合条件")
