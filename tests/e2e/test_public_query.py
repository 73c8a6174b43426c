"""The public credit query on a phone: a person queries, the browser passes the proof-of-work
after a few queries, and the person sees the years."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.conf import LazySettings
from django.utils import timezone
from playwright.sync_api import Page, expect

from cpe.public.models import OfficeApiKey
from cpe.registry.demo import ACTIVATED, NOT_ACTIVATED
from tests.e2e.test_phone_layout import (
    OVERFLOW_REPORT,
    TOLERANCE,
    assert_fits_the_phone,
    phone_width,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _quick_checks(settings: LazySettings) -> None:
    # The live server runs in this process: a low difficulty keeps the browser's work short.
    settings.PUBLIC_QUERY_FREE = "3/600"
    settings.PUBLIC_QUERY_POW_BITS = 10
    settings.PUBLIC_QUERY_POW_MAX_BITS = 12


def ask(page: Page, id_number: str, name: str) -> None:
    form = page.locator("main form[data-query-form]")
    form.locator("[name=id_number]").fill(id_number)
    form.locator("[name=name]").fill(name)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def test_a_person_queries_passes_the_browser_check_and_sees_the_years(phone: Page) -> None:
    id_number, name = ACTIVATED[0], ACTIVATED[1]
    this_year = timezone.localdate().year
    phone.goto("/")
    phone.locator("#credit-query a[href='/query/']").click()
    expect(phone.locator("h1")).to_have_text("公众网学分查询")

    # A few queries without a check: two that match nobody, one that matches.
    ask(phone, NOT_ACTIVATED[0], "张三")
    expect(phone.locator("[data-query-refused=no_match]")).to_be_visible()
    ask(phone, id_number, "张晓")
    expect(phone.locator("[data-query-refused=no_match]")).to_be_visible()
    ask(phone, id_number, name)
    expect(phone.locator("[data-query-answer]")).to_be_visible()

    # Now the page carries a challenge: pressing Query runs the check in a worker first.
    form = phone.locator("main form[data-query-form]")
    expect(form).to_have_attribute("data-pow-bits", "10")
    expect(phone.locator("[data-pow-text]")).to_contain_text("校验")
    ask(phone, id_number, name)

    answer = phone.locator("[data-query-answer]")
    expect(answer).to_be_visible()
    expect(answer.locator("[data-masked-id]")).to_have_text(
        id_number[:6] + "********" + id_number[-4:]
    )
    expect(answer.locator(f"tr[data-year='{this_year - 1}']")).to_contain_text("已完成")
    expect(answer.locator(f"tr[data-year='{this_year}']")).to_contain_text("进行中")
    expect(phone.locator("[data-query-refused]")).to_have_count(0)
    # The next query's check is a little harder.
    expect(phone.locator("main form[data-query-form]")).to_have_attribute("data-pow-bits", "11")

    width = phone_width(phone)
    report = phone.evaluate(OVERFLOW_REPORT)
    assert report["scrollWidth"] <= width + TOLERANCE, report
    assert not report["wide"], report["wide"]


# Every text the progress line shows, kept in sessionStorage across the form's navigation.
PROGRESS_LOG = """
document.addEventListener("DOMContentLoaded", () => {
  const line = document.querySelector("[data-pow-text]");
  if (!line) return;
  new MutationObserver(() => {
    const log = JSON.parse(sessionStorage.getItem("pow-log") || "[]");
    log.push(line.textContent);
    sessionStorage.setItem("pow-log", JSON.stringify(log));
  }).observe(line, { childList: true, characterData: true, subtree: true });
});
"""


def test_the_check_shows_its_progress_while_it_works(phone: Page, settings: LazySettings) -> None:
    settings.PUBLIC_QUERY_FREE = "0/600"  # a check from the first query
    settings.PUBLIC_QUERY_POW_BITS = settings.PUBLIC_QUERY_POW_MAX_BITS = 16
    phone.add_init_script(PROGRESS_LOG)
    phone.goto("/query/")
    ask(phone, ACTIVATED[0], ACTIVATED[1])

    expect(phone.locator("[data-query-answer]")).to_be_visible(timeout=60_000)
    log = phone.evaluate("JSON.parse(sessionStorage.getItem('pow-log'))")
    counts = [int(m.group(1).replace(",", "")) for m in map(COUNT.search, log) if m]
    assert counts[0] == 0 and max(counts) > 0, log  # it started at 0 and moved on
    assert log[-1] == "校验完成，正在提交查询……", log


COUNT = re.compile(r"已尝试 ([\d,]+) 次")


def test_a_page_opened_before_the_check_was_needed_runs_it_by_itself(phone: Page) -> None:
    phone.goto("/query/")
    expect(phone.locator("main form[data-query-form]")).not_to_have_attribute(
        "data-pow-challenge", re.compile(".")
    )
    # Meanwhile this address queried three times more (another tab, the app).
    for _ in range(3):
        response = phone.request.post(
            "/api/v1/public/credit-query", data={"id_number": NOT_ACTIVATED[0], "name": "张三"}
        )
        assert response.status == 404

    ask(phone, ACTIVATED[0], ACTIVATED[1])  # answered "a check is needed", which then runs

    expect(phone.locator("[data-query-answer]")).to_be_visible()
    expect(phone.locator("[data-query-refused]")).to_have_count(0)


def fits(page: Page) -> None:
    report = page.evaluate(OVERFLOW_REPORT)
    assert report["scrollWidth"] <= phone_width(page) + TOLERANCE, report
    assert not report["wide"], report["wide"]


def test_a_province_administrator_issues_a_key_an_office_uses_it_and_it_is_revoked(
    phone: Page, staff_sign_in: Callable[..., None]
) -> None:
    assert_fits_the_phone(phone, "/query/")
    staff_sign_in(phone, "province.hubei")
    phone.locator("a.tile[href='/staff/office-keys/']").click()
    form = phone.locator("main form[method=post]").first
    form.locator("[name=office]").fill("湖北省会计考试办公室")
    with phone.expect_navigation():
        form.locator("button[type=submit]").click()
    key = phone.locator("[data-key-value]").inner_text()
    assert key.startswith("cpeq_")
    fits(phone)
    # The page came by a redirect: a reload asks for it again, shows no key and issues none.
    phone.reload()
    expect(phone.locator("[data-key-value]")).to_have_count(0)
    assert OfficeApiKey.objects.count() == 1

    # The office: many queries, no check, each counted.
    body = {"id_number": ACTIVATED[0], "name": ACTIVATED[1], "year": timezone.localdate().year - 1}
    for _ in range(5):
        response = phone.request.post(
            "/api/v1/public/credit-query", data=body, headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status == 200 and response.json()["complete"] is True
    phone.goto("/staff/office-keys/")
    row = phone.locator("tbody tr", has_text="湖北省会计考试办公室")
    expect(row).to_contain_text("5")
    expect(phone.locator("[data-key-value]")).to_have_count(0)  # shown once only

    row.locator("[name=reason]").fill("测试结束")
    with phone.expect_navigation():
        row.locator("button[type=submit]").click()
    expect(phone.locator("tbody tr", has_text="湖北省会计考试办公室")).to_contain_text("已撤销")
    refused = phone.request.post(
        "/api/v1/public/credit-query", data=body, headers={"Authorization": f"Bearer {key}"}
    )
    assert refused.status == 401
