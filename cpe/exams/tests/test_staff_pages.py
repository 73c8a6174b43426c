"""The course manager's exam pages: the bank with its filters, the question form, retiring,
the settings form, import with its preview and error file, export, statistics, and scope."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cpe.accounts.roles import Role
from cpe.core.models import AuditEntry
from cpe.exams.bank import question_set_active
from cpe.exams.models import ExamSettings, Question, QuestionImport
from cpe.exams.testing import make_bank
from cpe.exams.tests.bankdata import SYSTEM, exam_course, graded_attempts, xlsx

pytestmark = pytest.mark.django_db

GOOD_ROW = ["单选题", "会计档案的最低保管期限是多少年？", ["10年", "30年"], "A", ""]
BAD_ROW = ["单选题", "哪一项是对的？", ["甲", "乙"], "AB", ""]


@pytest.fixture
def manager(users, client_for, settings):
    """The course manager, reading the pages in English (the tests compare English texts)."""
    client = client_for(users["course_manager"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def course(regions):
    course = exam_course(regions["420000"])
    make_bank(course, single=4, multiple=3, true_false=3)
    return course


def url(course, rest: str = "questions/") -> str:
    return f"/staff/courses/{course.pk}/{rest}"


def test_the_courses_staff_page_links_to_its_bank_settings_and_statistics(manager, course):
    page = manager.get(f"/staff/courses/{course.pk}/").content.decode()
    for rest in ("questions/", "questions/import/", "exam-settings/", "exam-statistics/"):
        assert url(course, rest) in page


def test_the_bank_lists_questions_filtered_by_kind_and_use(manager, course):
    question = Question.objects.filter(course=course, kind="single").first()
    question_set_active(actor=SYSTEM, question=question, active=False)
    page = manager.get(url(course), {"kind": "single"})
    assert page.context["page"].paginator.count == 4
    retired = manager.get(url(course), {"active": "no"})
    assert [q.pk for q in retired.context["page"]] == [question.pk]
    assert question.text in retired.content.decode()


def test_a_manager_writes_a_question_with_its_options_and_explanation(manager, course):
    response = manager.post(
        url(course, "questions/new/"),
        {
            "kind": "multiple",
            "text": "下列哪些属于资产？",
            "option_0": "库存现金",
            "correct_0": "on",
            "option_1": "应收账款",
            "correct_1": "on",
            "option_2": "短期借款",
            "explanation": "短期借款是负债。",
        },
    )
    assert response.status_code == 302
    question = Question.objects.get(course=course, text="下列哪些属于资产？")
    assert [o.is_correct for o in question.options.all()] == [True, True, False]
    assert question.explanation == "短期借款是负债。"


def test_a_question_breaking_the_rule_is_shown_again_with_the_reason(manager, course):
    response = manager.post(
        url(course, "questions/new/"),
        {
            "kind": "single",
            "text": "哪一项正确？",
            "option_0": "甲",
            "correct_0": "on",
            "option_1": "乙",
            "correct_1": "on",
        },
    )
    assert response.status_code == 200
    assert "exactly one correct option" in response.content.decode()
    assert not Question.objects.filter(text="哪一项正确？").exists()


def test_a_question_on_papers_says_its_options_are_fixed_and_refuses_changing_them(
    manager, regions
):
    course = exam_course(regions["420000"])
    question = make_bank(course, single=1, multiple=0, true_false=0)[0]
    graded_attempts(course, regions["420102"], [[True]])
    edit = url(course, f"questions/{question.pk}/edit/")
    assert manager.get(edit).context["locked"] is True
    options = {f"option_{i}": o.text for i, o in enumerate(question.options.all())}
    response = manager.post(
        edit, {"kind": "single", "text": question.text, **options, "correct_1": "on"}
    )
    assert response.status_code == 200
    assert question.options.order_by("position").first().is_correct is True


def test_retiring_and_reusing_a_question_from_the_bank(manager, course):
    question = Question.objects.filter(course=course).first()
    assert manager.post(url(course, f"questions/{question.pk}/retire/")).status_code == 302
    question.refresh_from_db()
    assert not question.is_active
    manager.post(url(course, f"questions/{question.pk}/reactivate/"))
    question.refresh_from_db()
    assert question.is_active
    assert (
        AuditEntry.objects.filter(action__in=["question.retire", "question.reactivate"]).count()
        == 2
    )


def test_the_settings_form_names_the_field_the_bank_cannot_supply(manager, course):
    form = {
        "exam_required": "on",
        "single_count": "9",
        "multiple_count": "2",
        "true_false_count": "2",
        "pass_mark": "70",
    }
    path = f"/staff/courses/{course.pk}/exam-settings/"
    response = manager.post(path, form)
    assert response.status_code == 200
    assert "cannot draw 9" in " ".join(response.context["form"].errors["single_count"])
    assert not ExamSettings.objects.filter(course=course).exists()
    response = manager.post(path, {**form, "single_count": "4"})
    assert response.status_code == 302
    saved = ExamSettings.objects.get(course=course)
    assert (saved.single_count, saved.pass_mark, saved.shuffle_options) == (4, 70, None)


def test_the_course_staff_page_shows_the_bank_panel(manager, course):
    page = manager.get(f"/staff/courses/{course.pk}/").content.decode()
    assert 'id="question-bank"' in page


def test_importing_a_file_with_a_bad_row_shows_the_row_and_imports_nothing(manager, course):
    upload = SimpleUploadedFile("bank.xlsx", xlsx([GOOD_ROW, BAD_ROW]))
    response = manager.post(url(course, "questions/import/"), {"file": upload})
    question_import = QuestionImport.objects.get()
    detail = url(course, f"questions/import/{question_import.pk}/")
    assert response.status_code == 302 and response.url == detail
    page = manager.get(detail).content.decode()
    assert 'data-row="3"' in page
    assert "exactly one correct option" in page
    before = Question.objects.filter(course=course).count()
    manager.post(detail + "confirm/")
    assert Question.objects.filter(course=course).count() == before
    errors = manager.get(detail + "errors.xlsx")
    assert errors["Content-Type"].startswith("application/vnd.openxmlformats")
    manager.post(detail + "confirm/", {"valid_rows_only": "1"})
    assert Question.objects.filter(course=course).count() == before + 1


def test_a_file_that_is_not_a_workbook_is_refused_on_the_page(manager, course):
    upload = SimpleUploadedFile("bank.csv", b"a,b\n")
    response = manager.post(url(course, "questions/import/"), {"file": upload})
    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert not QuestionImport.objects.exists()


def test_the_template_and_the_export_are_xlsx_downloads(manager, course):
    for path in ("/staff/courses/question-template.xlsx", url(course, "questions/export.xlsx")):
        response = manager.get(path)
        assert response.status_code == 200
        assert "attachment" in response["Content-Disposition"]
        assert b"".join(response.streaming_content).startswith(b"PK")
    assert AuditEntry.objects.filter(action="question_bank.export").count() == 1


def test_the_statistics_page_explains_the_figures_and_costs_the_same_queries(manager, regions):
    def page_queries(attempts: int, sequence: int) -> tuple[int, str]:
        course = exam_course(regions["420000"])
        make_bank(course, single=2, multiple=0, true_false=0)
        graded_attempts(
            course, regions["420102"], [[True, False]] * attempts, start_sequence=sequence
        )
        with CaptureQueriesContext(connection) as captured:
            response = manager.get(url(course, "exam-statistics/"))
        return len(captured), response.content.decode()

    few, _page = page_queries(1, 800)
    many, page = page_queries(6, 820)
    assert few == many
    assert "Discrimination" in page and "answer key" in page
    assert "<svg" in page


def test_a_course_outside_the_managers_region_is_not_found(make_user, client_for, course):
    elsewhere = client_for(make_user(Role.COURSE_MANAGER, "420500"))
    for rest in ("questions/", "exam-settings/", "exam-statistics/", "questions/import/"):
        assert elsewhere.get(url(course, rest)).status_code == 404, rest
