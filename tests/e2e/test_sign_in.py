"""Staff and learners sign in on their own pages and land where their work is."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from cpe.registry.demo import ACTIVATED

pytestmark = pytest.mark.e2e

SignIn = Callable[..., None]


def test_a_staff_member_signs_in_and_sees_the_console_tiles(
    page: Page, staff_sign_in: SignIn
) -> None:
    staff_sign_in(page, "city.wuhan")

    expect(page).to_have_url(re.compile(r"/staff/$"))
    # A city administrator may do everything the console offers, so at least these tiles show
    # (the exact set per role is the role matrix's business, not this journey's).
    tiles = page.locator(".tiles a.tile")
    expect(tiles.first).to_be_visible()
    hrefs = {tiles.nth(i).get_attribute("href") for i in range(tiles.count())}
    assert hrefs >= {"/staff/audit/", "/staff/notices/", "/staff/contacts/", "/staff/jobs/"}
    # The header now offers the console and signing out instead of the learner sign-in.
    expect(page.locator("header .main-nav a[href='/staff/']")).to_be_visible()
    expect(page.locator("header .main-nav a[href='/login/']")).to_have_count(0)


def test_a_wrong_staff_password_is_refused_on_the_sign_in_page(page: Page, sign_in: SignIn) -> None:
    sign_in(page, "/staff/login/", "officer.jiangan", password="not-the-password")

    expect(page).to_have_url(re.compile(r"/staff/login/$"))
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.locator(".form-errors")).not_to_be_empty()
    # The user name stays filled in; the password does not come back.
    expect(page.locator("[name=username]")).to_have_value("officer.jiangan")
    expect(page.locator("[name=password]")).to_have_value("")
    page.goto("/staff/")
    expect(page).to_have_url(re.compile(r"/staff/login/\?next="))


def test_a_learner_signs_in_and_finds_their_own_district_first_on_the_help_page(
    page: Page, sign_in: SignIn
) -> None:
    sign_in(page, "/login/", ACTIVATED[0])  # the demo learner's ID number

    expect(page).to_have_url(re.compile(r"/learn/$"))
    expect(page.locator("main")).to_contain_text("江岸区财政局")

    page.goto("/help/")
    own = page.locator(".own-district")
    expect(own).to_have_count(1)
    expect(own.locator("h3")).to_contain_text("江岸区财政局")
    # "First": the learner's bureau is the first contact on the page, and is not listed
    # a second time among the other Wuhan districts.
    expect(page.locator(".contact").first).to_have_class(re.compile(r"\bown-district\b"))
    expect(page.locator(".contact h3", has_text="江岸区财政局")).to_have_count(1)
