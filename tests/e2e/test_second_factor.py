"""Staff set up an authenticator app from the QR page at first sign-in, then sign in with codes."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from cpe.accounts import totp

pytestmark = pytest.mark.e2e

SignIn = Callable[..., None]


def _enter_code(page: Page, code: str) -> None:
    page.locator("[name=code]").fill(code)
    with page.expect_navigation():
        page.locator("main form[method=post] button[type=submit]").click()


def test_an_officer_sets_up_the_app_by_qr_code_and_later_signs_in_with_a_code(
    page: Page, sign_in: SignIn
) -> None:
    sign_in(page, "/staff/login/", "officer.jiangan")

    expect(page).to_have_url(re.compile(r"/staff/login/enrol/$"))
    qr = page.locator(".qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 150  # large enough for a phone camera
    # The key for typing in by hand, in groups of four, as a person reads it off the page.
    typed_key = page.locator("[data-totp-secret]").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", typed_key)
    # Nothing is open yet: the console still asks to sign in (in another tab, same cookies).
    other_tab = page.context.new_page()
    other_tab.goto("/staff/")
    expect(other_tab).to_have_url(re.compile(r"/staff/login/\?next="))
    other_tab.close()

    step = totp.time_step()
    _enter_code(page, totp.code_at_step(typed_key, step))
    expect(page).to_have_url(re.compile(r"/staff/$"))
    expect(page.locator(".messages")).to_contain_text("身份验证器应用已设置完成")

    with page.expect_navigation():
        page.locator("header form[action='/logout/'] button").click()
    sign_in(page, "/staff/login/", "officer.jiangan")
    expect(page).to_have_url(re.compile(r"/staff/login/code/$"))
    expect(page.locator("[data-totp-secret]")).to_have_count(0)

    # The code just used does not work a second time.
    _enter_code(page, totp.code_at_step(typed_key, step))
    expect(page).to_have_url(re.compile(r"/staff/login/code/$"))
    expect(page.locator(".field .error")).to_be_visible()

    _enter_code(page, totp.code_at_step(typed_key, step + 1))
    expect(page).to_have_url(re.compile(r"/staff/$"))
    page.goto("/account/two-factor/")
    expect(page.locator(".badge.state-succeeded")).to_be_visible()


def test_the_admin_is_entered_through_the_staff_sign_in(page: Page, staff_sign_in: SignIn) -> None:
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/staff/login/\?next=/admin/$"))

    staff_sign_in(page, "admin")
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("#site-name")).to_be_visible()


def test_the_sign_in_helper_signs_the_same_person_in_again_and_again(
    new_page: Callable[..., Page], staff_sign_in: SignIn
) -> None:
    # Other browser tests sign people in with this helper, several times in one test.
    for _ in range(3):
        page = new_page()
        staff_sign_in(page, "city.wuhan")
        expect(page).to_have_url(re.compile(r"/staff/$"))
