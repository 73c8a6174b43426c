"""A learner's first sign-in with the code from a text message, and what a person who is not
collected yet is told."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import LazySettings
from playwright.sync_api import Page, expect

from cpe.registry.demo import NOT_ACTIVATED
from tests.e2e.test_phone_layout import assert_fits_the_phone

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "lantern-river-2026"
NOT_COLLECTED_HONGSHAN = "420111198808080015"


@pytest.fixture
def sms_dir(settings: LazySettings, tmp_path: Path) -> Path:
    # The live server runs in this process: it sends through the file backend into tmp_path.
    settings.SMS_BACKEND = "cpe.accounts.sms.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    return tmp_path / "sms"


def code_sent_to(sms_dir: Path, mobile: str) -> str:
    messages = sorted(p for p in sms_dir.iterdir() if f"-{mobile}-" in p.name)
    assert messages, f"no text message to {mobile}"
    body = messages[-1].read_text(encoding="utf-8").split("\n\n", 1)[1]
    match = re.search(r"(?<!\d)(\d{6})(?!\d)", body)
    assert match, body
    return match.group(1)


def test_a_learner_activates_with_the_code_signs_out_and_in_again(
    page: Page, sms_dir: Path, sign_in: Callable[..., None]
) -> None:
    id_number, name, mobile = NOT_ACTIVATED[0], NOT_ACTIVATED[1], NOT_ACTIVATED[2]
    page.goto("/")
    page.locator("header a[href='/login/']").click()
    page.locator(".tabs a[href='/login/first/']").click()
    form = page.locator("main form[method=post]")
    form.locator("[name=id_number]").fill(id_number)
    form.locator("[name=name]").fill(name)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/login/code/$"))
    expect(page.locator("[data-sent-to]")).to_contain_text(f"{mobile[:3]}****{mobile[-4:]}")
    form = page.locator("main form[method=post]").first
    form.locator("[name=code]").fill(code_sent_to(sms_dir, mobile))
    form.locator("[name=password]").fill(NEW_PASSWORD)
    form.locator("[name=password_again]").fill(NEW_PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/learn/$"))
    expect(page.locator("h1")).to_contain_text(name)

    with page.expect_navigation():
        page.locator("header form[action='/logout/'] button").click()
    expect(page.locator("header a[href='/login/']")).to_be_visible()

    sign_in(page, "/login/", id_number, password=NEW_PASSWORD)
    expect(page).to_have_url(re.compile(r"/learn/$"))
    page.goto("/learn/profile/")
    expect(page.locator("main")).to_contain_text(id_number[:6] + "********" + id_number[-4:])


def test_an_uncollected_id_number_sees_what_to_bring_and_its_districts_contacts(
    phone: Page,
) -> None:
    phone.goto("/login/first/")
    form = phone.locator("main form[method=post]")
    form.locator("[name=id_number]").fill(NOT_COLLECTED_HONGSHAN)
    form.locator("[name=name]").fill("赵六")
    with phone.expect_navigation():
        form.locator("button[type=submit]").click()

    guidance = phone.locator("[data-guidance]")
    expect(guidance).to_be_visible()
    expect(guidance).to_contain_text("洪山区")
    expect(guidance.locator(".contact h3")).to_have_text(["洪山区财政局"])
    expect(guidance.locator(".contact .phones a")).to_have_attribute("href", "tel:027-85800007")
    # The ID number stays in the form for a correction; the page fits the phone.
    expect(form.locator("[name=id_number]")).to_have_value(NOT_COLLECTED_HONGSHAN)
    for path in ["/login/", "/login/first/", "/login/forgotten/"]:
        assert_fits_the_phone(phone, path)
