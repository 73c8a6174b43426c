"""Question files: every row checked with the bank's rule, per-row and per-field errors,
all or nothing, idempotent re-imports, export in the template's format, refused files."""

from __future__ import annotations

import io
import unicodedata

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from cpe.core.models import AuditEntry
from cpe.exams.imports import (
    KIND_NAMES,
    MAX_UPLOAD_BYTES,
    check_rows,
    error_rows_xlsx,
    export_xlsx,
    parse_row,
    question_import_apply,
    question_import_check,
    question_import_start,
    read_workbook,
    template_xlsx,
)
from cpe.exams.models import Question, QuestionImport
from cpe.exams.services import ExamRefused
from cpe.exams.testing import make_bank
from cpe.exams.tests.bankdata import SYSTEM, exam_course, graded_attempts, xlsx

pytestmark = pytest.mark.django_db

GOOD = [
    ["单选题", "会计档案的最低保管期限是多少年？", ["10年", "30年", "永久"], "A", "解析一"],
    ["多选题", "下列属于会计要素的有？", ["资产", "负债", "天气"], "AB", "解析二"],
    ["判断题", "继续教育学分可以结转到下一年度。", [], "错", "解析三"],
]


def upload(rows, name: str = "questions.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, xlsx(rows) if isinstance(rows, list) else rows)


def start(course, rows, name: str = "questions.xlsx") -> QuestionImport:
    return question_import_start(actor=SYSTEM, course=course, upload=upload(rows, name))


def cells(kind: str, text: str, options: list[str], answer: str) -> dict[str, str]:
    row = {"kind": kind, "text": text, "answer": answer}
    for index, option in enumerate(options):
        row[f"option_{chr(65 + index)}"] = option
    return row


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        (cells("单选题", "题", ["甲", "乙"], "AB"), "options", "exactly one correct"),
        (cells("单选题", "题", ["甲"], "A"), "options", "at least two options"),
        (cells("单选题", "题", ["甲", "甲"], "A"), "options", "same text"),
        (cells("多选题", "题", ["甲", "乙", "丙"], "A"), "options", "at least two correct"),
        (cells("单选题", "题", ["甲", "乙"], "D"), "answer", "option D"),
        (cells("单选题", "题", ["甲", "乙"], "甲"), "answer", "option letters"),
        (cells("单选题", "题", ["甲", "乙"], ""), "answer", "missing"),
        (cells("单选题", "", ["甲", "乙"], "A"), "text", "Write the question"),
        (cells("问答题", "题", ["甲", "乙"], "A"), "kind", "单选题"),
        (cells("判断题", "题", ["对", "错", "不知道"], "A"), "options", "exactly two options"),
        (
            {"kind": "单选题", "text": "题", "option_A": "甲", "option_C": "丙", "answer": "A"},
            "options",
            "Option B is empty",
        ),
    ],
)
def test_each_broken_row_is_refused_in_the_column_at_fault(row, field, words) -> None:
    with translation.override("en"):
        parsed = parse_row(2, row)
    assert field in parsed.errors, parsed.errors
    assert words in " ".join(parsed.errors[field])


def test_row_errors_are_written_in_the_readers_language() -> None:
    row = cells("单选题", "题", ["甲", "乙"], "AB")
    with translation.override("zh-hans"):
        chinese = parse_row(2, row).error_lines()
    with translation.override("en"):
        english = parse_row(2, row).error_lines()
    assert chinese != english
    assert english[0][0] == "Options and answer"


def test_true_false_rows_take_right_or_wrong_with_or_without_options() -> None:
    written = parse_row(2, cells("判断题", "题", [], "对"))
    assert [(o.text, o.is_correct) for o in written.options] == [("正确", True), ("错误", False)]
    lettered = parse_row(2, cells("判断题", "题", ["是", "否"], "B"))
    assert [o.is_correct for o in lettered.options] == [False, True]
    assert not written.errors and not lettered.errors


def test_answer_letters_may_be_lower_case_full_width_or_separated() -> None:
    row = parse_row(2, cells("多选题", "题", ["甲", "乙", "丙"], "ａ, c"))
    assert [o.is_correct for o in row.options] == [True, False, True]


def test_a_clean_file_is_checked_then_imported_whole_and_audited(regions) -> None:
    course = exam_course(regions["420000"])
    question_import = start(course, GOOD)
    assert Question.objects.filter(course=course).count() == 0  # nothing before confirming
    question_import_apply(actor=SYSTEM, question_import=question_import)
    questions = Question.objects.filter(course=course).order_by("position")
    assert [q.kind for q in questions] == ["single", "multiple", "true_false"]
    assert [o.is_correct for o in questions[1].options.all()] == [True, True, False]
    question_import.refresh_from_db()
    assert (question_import.state, question_import.created_count) == ("applied", 3)
    assert AuditEntry.objects.filter(action="question_import.apply").count() == 1
    assert AuditEntry.objects.filter(action="question.create").count() == 3


def test_a_file_with_a_bad_row_imports_nothing(regions) -> None:
    course = exam_course(regions["420000"])
    rows = [*GOOD, ["单选题", "坏的题", ["甲", "乙"], "AB", ""]]
    question_import = start(course, rows)
    result = question_import_check(question_import)
    assert (result.new, result.errors) == (3, 1)
    assert result.error_rows[0].number == 5  # the spreadsheet's row number
    with pytest.raises(ExamRefused) as refused:
        question_import_apply(actor=SYSTEM, question_import=question_import)
    assert refused.value.code == "import_has_errors"
    assert not Question.objects.filter(course=course).exists()
    question_import.refresh_from_db()
    assert question_import.state == "checked"


def test_the_valid_rows_alone_are_imported_when_the_manager_asks(regions) -> None:
    course = exam_course(regions["420000"])
    question_import = start(course, [*GOOD, ["单选题", "坏的题", ["甲", "乙"], "AB", ""]])
    done = question_import_apply(
        actor=SYSTEM, question_import=question_import, valid_rows_only=True
    )
    assert (done.created_count, done.skipped_count) == (3, 1)
    assert Question.objects.filter(course=course).count() == 3
    # The rows left out stay for the error file; the imported ones are not kept.
    assert [number for number, _cells in done.rows] == [5]
    assert question_import_check(done).errors == 1


def test_importing_the_same_file_again_adds_nothing(regions) -> None:
    course = exam_course(regions["420000"])
    question_import_apply(actor=SYSTEM, question_import=start(course, GOOD))
    # The same questions with other spacing and full-width punctuation are the same questions.
    again = [[kind, f"  {text.replace('？', '?')} ", *rest] for kind, text, *rest in GOOD]
    result = question_import_check(start(course, again))
    assert (result.new, result.updated, result.errors) == (0, 0, 0)
    assert result.unchanged == 3
    assert Question.objects.filter(course=course).count() == 3


def test_a_changed_explanation_updates_the_question_in_place(regions) -> None:
    course = exam_course(regions["420000"])
    question_import_apply(actor=SYSTEM, question_import=start(course, GOOD))
    changed = [list(row) for row in GOOD]
    changed[0][4] = "新的解析"
    done = question_import_apply(actor=SYSTEM, question_import=start(course, changed))
    assert (done.created_count, done.updated_count, done.unchanged_count) == (0, 1, 2)
    assert Question.objects.get(course=course, kind="single").explanation == "新的解析"


def test_a_row_changing_the_answer_of_a_question_on_papers_is_an_error(regions) -> None:
    course = exam_course(regions["420000"])
    question_import_apply(actor=SYSTEM, question_import=start(course, GOOD[:1]))
    graded_attempts(course, regions["420102"], [[True]])
    changed = [["单选题", GOOD[0][1], GOOD[0][2], "B", GOOD[0][4]]]
    with translation.override("en"):
        result = question_import_check(start(course, changed))
    assert result.errors == 1
    assert "retire" in " ".join(result.error_rows[0].errors["options"])


def test_the_same_question_twice_in_a_file_is_an_error_on_the_second(regions) -> None:
    course = exam_course(regions["420000"])
    with translation.override("en"):
        result = check_rows(
            course,
            [
                (2, cells("单选题", "同一题", ["甲", "乙"], "A")),
                (3, cells("单选题", "同一题", ["甲", "乙"], "B")),
            ],
        )
    assert [row.outcome for row in result.rows] == ["new", "error"]
    assert "row 2" in result.rows[1].errors["text"][0]


def test_export_writes_the_template_format_and_imports_back_unchanged(regions) -> None:
    course = exam_course(regions["420000"])
    make_bank(course, single=2, multiple=2, true_false=2)
    exported = export_xlsx(course)
    header = next(openpyxl.load_workbook(io.BytesIO(exported)).active.iter_rows(values_only=True))
    template = next(
        openpyxl.load_workbook(io.BytesIO(template_xlsx())).active.iter_rows(values_only=True)
    )
    assert header == template
    result = question_import_check(start(course, exported))
    assert (result.unchanged, result.new, result.errors) == (6, 0, 0)
    other = exam_course(regions["420000"])
    question_import_apply(actor=SYSTEM, question_import=start(other, exported))
    copied = {(q.kind, q.text, q.explanation) for q in Question.objects.filter(course=other)}
    original = {(q.kind, q.text, q.explanation) for q in Question.objects.filter(course=course)}
    assert copied == original


def test_the_templates_example_rows_are_valid(regions) -> None:
    course = exam_course(regions["420000"])
    result = question_import_check(start(course, template_xlsx()))
    assert (result.new, result.errors) == (3, 0)


def test_the_error_file_holds_the_bad_rows_with_their_reasons_and_imports_once_fixed(
    regions,
) -> None:
    course = exam_course(regions["420000"])
    question_import = start(course, [*GOOD, ["单选题", "坏的题", ["甲", "乙"], "AB", ""]])
    content = error_rows_xlsx(question_import_check(question_import))
    rows = list(openpyxl.load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    assert rows[0][-1] == "错误"
    assert len(rows) == 2 and rows[1][1] == "坏的题"
    assert "5" in rows[1][-1]
    # Fixed in the error file (its error column is ignored) and uploaded again.
    fixed = [list(rows[0]), [*rows[1][:10], "A", *rows[1][11:]]]
    result = question_import_check(start(course, xlsx(fixed[1:], header=fixed[0])))
    assert (result.new, result.errors) == (1, 0)


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("questions.csv", b"a,b\n", ".xlsx"),
        ("questions.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 100, "old-style"),
        ("questions.xlsx", b"not a workbook", "not an Excel workbook"),
        ("questions.xlsx", b"PK\x03\x04broken", "damaged"),
        ("questions.xlsx", b"PK\x03\x04" + b"\0" * (MAX_UPLOAD_BYTES + 1), "larger than"),
    ],
)
def test_files_that_are_not_small_xlsx_workbooks_are_refused_with_a_reason(
    name, content, words, regions
) -> None:
    course = exam_course(regions["420000"])
    with translation.override("en"), pytest.raises(ExamRefused) as refused:
        start(course, content, name)
    assert words in refused.value.message
    assert not QuestionImport.objects.exists()


def test_a_file_without_the_required_columns_is_refused_naming_them() -> None:
    with translation.override("en"), pytest.raises(ExamRefused) as refused:
        read_workbook("q.xlsx", xlsx([["题", "A"]], header=["题干", "选项A"]))
    assert "题型" in refused.value.message and "正确答案" in refused.value.message


option_text = st.text(
    alphabet=st.characters(categories=("Lo", "Nd", "Lu")), min_size=1, max_size=12
).filter(lambda text: text.strip() == text)


@st.composite
def valid_questions(draw) -> tuple[str, list[str], set[int]]:
    kind = draw(st.sampled_from(["single", "multiple", "true_false"]))
    size = {"single": (2, 8), "multiple": (3, 8), "true_false": (2, 2)}[kind]
    texts = draw(
        st.lists(
            option_text,
            min_size=size[0],
            max_size=size[1],
            unique_by=lambda text: unicodedata.normalize("NFKC", text).casefold(),
        )
    )
    indexes = list(range(len(texts)))
    if kind == "multiple":
        correct = set(draw(st.lists(st.sampled_from(indexes), min_size=2, unique=True)))
    else:
        correct = {draw(st.sampled_from(indexes))}
    return kind, texts, correct


@given(valid_questions())
@hypothesis_settings(max_examples=60)
def test_any_valid_question_written_as_a_row_reads_back_the_same(question) -> None:
    kind, texts, correct = question
    answer = "".join(chr(65 + index) for index in sorted(correct))
    row = {"kind": KIND_NAMES[kind], "text": "题干", "answer": answer}
    row.update({f"option_{chr(65 + index)}": text for index, text in enumerate(texts)})
    parsed = parse_row(2, row)
    assert parsed.errors == {}
    assert parsed.kind == kind
    assert [(o.text, o.is_correct) for o in parsed.options] == [
        (text, index in correct) for index, text in enumerate(texts)
    ]
