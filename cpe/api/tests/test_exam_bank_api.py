"""The course manager's exam API: questions, exam settings, import, export and statistics,
with the same rules and the same scope as the pages."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cpe.accounts.roles import Role
from cpe.exams.models import ExamSettings, Question, QuestionImport
from cpe.exams.testing import make_bank
from cpe.exams.tests.bankdata import exam_course, graded_attempts, xlsx

pytestmark = pytest.mark.django_db

BASE = "/api/v1/staff/courses"


@pytest.fixture
def api(users, client_for):
    return client_for(users["course_manager"])


@pytest.fixture
def course(regions):
    course = exam_course(regions["420000"])
    make_bank(course, single=4, multiple=3, true_false=3)
    return course


def test_it_lists_a_courses_questions_with_filters(api, course):
    body = api.get(f"{BASE}/{course.pk}/questions", {"kind": "multiple"}).json()
    assert body["count"] == 3
    assert {item["kind"] for item in body["items"]} == {"multiple"}
    assert body["items"][0]["options"][0] == {"text": "对 1-1", "correct": True}


def test_it_creates_a_question_or_says_which_rule_it_breaks(api, course):
    question = {
        "kind": "single",
        "text": "新题",
        "options": [{"text": "甲", "correct": True}, {"text": "乙", "correct": True}],
        "explanation": "",
    }
    refused = api.post(f"{BASE}/{course.pk}/questions", question, content_type="application/json")
    assert refused.status_code == 400
    assert refused.json()["code"] == "question_invalid"
    assert refused.json()["fields"]["options"]
    question["options"][1]["correct"] = False
    created = api.post(f"{BASE}/{course.pk}/questions", question, content_type="application/json")
    assert created.status_code == 201
    assert Question.objects.filter(course=course, text="新题").exists()


def test_it_updates_retires_and_refuses_deleting_a_question_on_papers(api, regions):
    course = exam_course(regions["420000"])
    question = make_bank(course, single=1, multiple=0, true_false=0)[0]
    graded_attempts(course, regions["420102"], [[True]])
    path = f"{BASE}/{course.pk}/questions/{question.pk}"
    current = api.get(path).json()
    assert current["on_papers"] is True
    changed = {**current, "options": list(reversed(current["options"]))}
    response = api.put(path, changed, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (409, "question_on_papers")
    fixed = api.put(path, {**current, "text": "更正后的题干"}, content_type="application/json")
    assert fixed.json()["text"] == "更正后的题干"
    assert api.delete(path).status_code == 409
    assert api.post(f"{path}/retire").json()["active"] is False
    assert api.post(f"{path}/reactivate").json()["active"] is True


def test_exam_settings_refuse_drawing_more_than_the_bank_has(api, course):
    path = f"/api/v1/courses/{course.code}/exam-settings"
    too_many = {"exam_required": True, "own": {"single_count": 9}}
    refused = api.put(path, too_many, content_type="application/json")
    assert refused.status_code == 422
    assert list(refused.json()["fields"]) == ["single_count"]
    fine = {"exam_required": True, "own": {"single_count": 4, "pass_mark": 80}}
    assert api.put(path, fine, content_type="application/json").status_code == 200
    assert ExamSettings.objects.get(course=course).single_count == 4


def test_it_imports_a_file_after_its_check_and_exports_the_bank(api, course):
    rows = [
        ["单选题", "接口导入的题", ["甲", "乙"], "A", ""],
        ["单选题", "答案错了的题", ["甲", "乙"], "C", ""],
    ]
    upload = SimpleUploadedFile("bank.xlsx", xlsx(rows))
    checked = api.post(f"{BASE}/{course.pk}/question-imports", {"file": upload})
    assert checked.status_code == 201
    body = checked.json()
    assert (body["new"], body["errors"]) == (1, 1)
    assert body["error_rows"][0]["row"] == 3 and "answer" in body["error_rows"][0]["errors"]
    confirm = f"{BASE}/{course.pk}/question-imports/{body['id']}/confirm"
    refused = api.post(confirm, {}, content_type="application/json")
    assert refused.status_code == 409
    done = api.post(confirm, {"valid_rows_only": True}, content_type="application/json").json()
    assert (done["state"], done["new"], done["errors"]) == ("applied", 1, 1)
    assert api.get(f"{BASE}/{course.pk}/question-imports/{body['id']}").json()["state"] == "applied"
    export = api.get(f"{BASE}/{course.pk}/questions.xlsx")
    assert export.status_code == 200
    assert b"".join(export.streaming_content).startswith(b"PK")


def test_it_refuses_a_file_that_is_not_xlsx_with_a_reason(api, course):
    upload = SimpleUploadedFile("bank.txt", b"hello")
    response = api.post(f"{BASE}/{course.pk}/question-imports", {"file": upload})
    assert response.status_code == 400
    assert response.json()["fields"]["file"]
    assert not QuestionImport.objects.exists()


def test_it_gives_the_statistics(api, regions):
    course = exam_course(regions["420000"])
    make_bank(course, single=2, multiple=0, true_false=0)
    graded_attempts(course, regions["420102"], [[True, True], [True, False], [False, False]])
    body = api.get(f"{BASE}/{course.pk}/exam-statistics").json()
    assert (body["graded"], body["passed"]) == (3, 1)
    assert [item["correct"] for item in body["questions"]] == [2, 1]
    assert body["questions"][0]["discrimination"] == pytest.approx(0.5)


def test_a_course_outside_the_managers_region_is_not_found(make_user, client_for, course):
    elsewhere = client_for(make_user(Role.COURSE_MANAGER, "420500"))
    assert elsewhere.get(f"{BASE}/{course.pk}/questions").status_code == 404
    assert elsewhere.get(f"{BASE}/{course.pk}/exam-statistics").status_code == 404


def test_the_calls_are_in_the_openapi_document(api):
    paths = api.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/staff/courses/{course_id}/questions",
        "/api/v1/staff/courses/{course_id}/questions/{question_id}",
        "/api/v1/staff/courses/{course_id}/question-imports",
        "/api/v1/staff/courses/{course_id}/question-imports/{import_id}/confirm",
        "/api/v1/staff/courses/{course_id}/questions.xlsx",
        "/api/v1/staff/courses/{course_id}/exam-statistics",
    ):
        assert path in paths, path
