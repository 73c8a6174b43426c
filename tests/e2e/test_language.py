"""The site speaks Simplified Chinese first, and the header's switcher changes to English."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

pytestmark = pytest.mark.e2e

PINNED_NOTICE = "2026年度会计人员继续教育网络学习须知"


def header_help_link(page: Page) -> Locator:
    # The header's own link, not the footer's copy of it.
    return page.locator("header .main-nav a[href='/help/']")


def test_the_home_page_opens_in_simplified_chinese_even_for_an_english_browser(
    new_page: Callable[..., Page],
) -> None:
    # Pages ignore Accept-Language on purpose: an accountant's English-language phone
    # should not turn the platform English.
    page = new_page(locale="en-US")
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#lang-select")).to_have_value("zh-hans")
    # The demo notices are written in Chinese, so they show whatever the translations' state.
    expect(page.locator(".notice-list")).to_contain_text(PINNED_NOTICE)
    # Interface strings are English msgids: these need the zh_Hans catalogue.
    expect(header_help_link(page)).to_have_text("帮助与联系方式")
    expect(page.locator(".entry-points")).to_contain_text("学员登录")
    expect(page.locator(".entry-points")).to_contain_text("工作人员登录")


def test_switching_to_english_in_the_header_shows_english_and_is_remembered(page: Page) -> None:
    page.goto("/help/")
    # The static JS submits the form on change, so it hides the then useless button.
    expect(page.locator(".lang-switch button[type=submit]")).to_have_class(
        re.compile(r"\bvisually-hidden\b")
    )
    page.select_option("#lang-select", "en")

    # set_language sends the browser back to the page it was on, now in English.
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(r"/help/$"))
    expect(page.locator("#lang-select")).to_have_value("en")
    expect(header_help_link(page)).to_have_text("Help and contacts")
    expect(page.locator("h1")).to_have_text("Help and contacts")

    # The choice is a cookie: the next page load, and another tab, stay in English although
    # pages otherwise default to Chinese.
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".entry-points")).to_contain_text("Learner sign-in")
    other_tab = page.context.new_page()
    other_tab.goto("/login/")
    expect(other_tab.locator("html")).to_have_attribute("lang", "en")
    expect(other_tab.locator("main button[type=submit]")).to_have_text("Sign in")


def test_the_switch_button_changes_the_language_without_javascript(
    new_page: Callable[..., Page],
) -> None:
    # Without JS the select cannot submit itself: the visible button is the way.
    page = new_page(java_script_enabled=False)
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator(".lang-switch button[type=submit]")).to_be_visible()
    page.select_option("#lang-select", "en")
    with page.expect_navigation():
        page.locator(".lang-switch button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # And back: Chinese is a choice that sticks like English does.
    page.goto("/help/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.select_option("#lang-select", "zh-hans")
    with page.expect_navigation():
        page.locator(".lang-switch button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page).to_have_url(re.compile(r"/help/$"))
    expect(page.locator("h1")).to_have_text("帮助与联系方式")
