"""A course manager writes a question in a course's bank, then imports a bank file with a bad
row: the preview names the row and the column at fault, and nothing is imported until the
manager chooses to import the valid rows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from cpe.catalog.models import Course
from cpe.exams.models import Question
from cpe.exams.tests.bankdata import xlsx
from tests.e2e.test_phone_layout import assert_fits_the_phone

pytestmark = pytest.mark.e2e

CODE = "HB-ZY-01"


def test_a_manager_adds_a_question_and_sees_the_bad_row_of_an_imported_file(
    page: Page, staff_sign_in: Callable[..., None]
) -> None:
    course = Course.objects.get(code=CODE)
    before = Question.objects.filter(course=course).count()
    staff_sign_in(page, "courses")
    page.goto(f"/staff/courses/{course.pk}/")
    page.locator("#question-bank").get_by_role("link", name="题库").click()
    expect(page.locator("h1")).to_contain_text("题库")

    page.get_by_role("link", name="新建试题").click()
    form = page.locator("main form[method=post]")
    form.locator("[name=kind]").select_option("single")
    form.locator("[name=text]").fill("电子会计凭证与纸质凭证具有同等法律效力吗？")
    form.locator("[name=option_0]").fill("具有同等效力")
    form.locator("[name=correct_0]").check()
    form.locator("[name=option_1]").fill("不具有法律效力")
    form.locator("[name=explanation]").fill("符合规定的电子会计凭证与纸质凭证具有同等法律效力。")
    form.get_by_role("button", name="保存", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("试题已加入题库")
    expect(page.locator(".question-bank")).to_contain_text("电子会计凭证与纸质凭证")
    assert Question.objects.filter(course=course).count() == before + 1

    page.get_by_role("link", name="从 XLSX 导入").click()
    content = xlsx(
        [
            ["单选题", "会计档案的最低保管期限是多少年？", ["10年", "30年"], "A", ""],
            ["单选题", "下列哪一项是资产？", ["库存现金", "短期借款"], "AB", ""],
        ]
    )
    page.locator("[name=file]").set_input_files(
        files=[{"name": "题库.xlsx", "mimeType": "application/octet-stream", "buffer": content}]
    )
    page.get_by_role("button", name="上传并检查").click()
    error_row = page.locator("table.row-errors tr[data-row='3']")
    expect(error_row).to_contain_text("选项与答案")
    expect(error_row).to_contain_text("单选题必须有且只有一个正确选项")
    expect(page.locator("[data-count=new]")).to_have_text("1")
    assert Question.objects.filter(course=course).count() == before + 1  # nothing yet

    page.get_by_role("button", name="只导入无误的 1 行").click()
    expect(page.locator(".messages")).to_contain_text("新增 1 道")
    assert Question.objects.filter(course=course, text__startswith="会计档案").count() == 1


def test_the_bank_its_question_form_import_and_statistics_fit_a_phone(
    phone: Page, staff_sign_in: Callable[..., None]
) -> None:
    course = Course.objects.get(code=CODE)
    question = Question.objects.filter(course=course).first()
    staff_sign_in(phone, "courses")
    for path in (
        f"/staff/courses/{course.pk}/questions/",
        f"/staff/courses/{course.pk}/questions/new/",
        f"/staff/courses/{course.pk}/questions/{question.pk}/edit/",
        f"/staff/courses/{course.pk}/questions/import/",
        f"/staff/courses/{course.pk}/exam-statistics/",
    ):
        assert_fits_the_phone(phone, path)
