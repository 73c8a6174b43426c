"""Many learners use a phone: pages must fit a 375-px screen without sideways scrolling."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

# A fixed, well-known place so a person can look at the phone layout after a run.
SCREENSHOT = Path("/tmp/e2e-home-phone.png")  # noqa: S108
# Sub-pixel rounding may report one pixel more than the viewport.
TOLERANCE = 1

# Elements wider than the screen, and scroll boxes (the tables' .table-scroll) whose content
# is wider than the box: either makes the reader scroll sideways.
OVERFLOW_REPORT = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    const scrolls = ["auto", "scroll"].includes(getComputedStyle(el).overflowX);
    if (box.right > width + 1 || (scrolls && el.scrollWidth > el.clientWidth + 1)) {
      wide.push(`${el.tagName.toLowerCase()}.${el.className}: ${Math.round(box.right)}`);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, wide: wide.slice(0, 10)};
}"""


def phone_width(page: Page) -> int:
    size = page.viewport_size
    assert size is not None and size["width"] == 375, "the `phone` fixture's viewport changed"
    return size["width"]


def assert_fits_the_phone(page: Page, path: str) -> None:
    width = phone_width(page)
    page.goto(path)
    # Folded parts (the audit log's before/after values) count too: the reader may open them.
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    report = page.evaluate(OVERFLOW_REPORT)
    assert report["scrollWidth"] <= width + TOLERANCE, f"{path}: {report}"
    assert not report["wide"], f"{path} has content wider than the screen: {report['wide']}"


def test_the_home_page_fits_a_phone_screen(phone: Page) -> None:
    assert_fits_the_phone(phone, "/")
    # Both ways in are big enough to tap (44 px is the usual minimum touch target).
    for button in phone.locator(".entry-points .button").all():
        box = button.bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] <= phone_width(phone)
    phone.screenshot(path=str(SCREENSHOT), full_page=True)


def test_the_help_page_fits_a_phone_screen(phone: Page) -> None:
    assert_fits_the_phone(phone, "/help/")


def test_the_audit_log_fits_a_phone_screen(phone: Page, staff_sign_in: Callable[..., None]) -> None:
    staff_sign_in(phone, "auditor")
    expect(phone.locator(".tiles")).to_be_visible()
    assert_fits_the_phone(phone, "/staff/audit/")
    # The demo data leaves entries with before/after values (the widest cells) behind, so
    # the stacked table was really measured, not an empty one.
    expect(phone.locator("table.data tbody dl.changes dd").first).to_be_visible()
