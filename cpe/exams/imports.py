"""Question banks in XLSX: the template, export, and import with every row checked first.

Flow: `question_import_start` reads the uploaded workbook (small: at most MAX_ROWS rows) and
keeps its rows on a QuestionImport; `question_import_check` checks each row with the bank's
one rule (services.question_problems) and matches it with the bank on the normalised
question text, so importing the same file twice adds nothing; `question_import_apply`
checks again under the course's lock and writes everything, or nothing while any row has
an error unless the course manager chose to import only the valid rows (the error rows can
be downloaded, fixed and uploaded again: the rows already imported then count as
unchanged).
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePath
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from cpe.catalog.models import Course
from cpe.core.services import Actor, audit_record
from cpe.exams.bank import normalised_text, question_update
from cpe.exams.models import AttemptQuestion, Option, Question, QuestionImport
from cpe.exams.services import (
    OPTIONS_MAX,
    ExamRefused,
    OptionIn,
    question_create,
    question_problems,
)
from cpe.registry.imports import Column  # the same column description as the learner import

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000
# A 2 MB workbook of questions unpacks to a few MB; far more is a zip bomb.
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
LETTERS = [chr(ord("A") + index) for index in range(OPTIONS_MAX)]

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


COLUMNS: tuple[Column, ...] = (
    Column("kind", "题型", "Kind", True, ("类型", "题目类型", "type")),
    Column("text", "题干", "Question", True, ("题目", "试题", "问题")),
    *(
        Column(f"option_{letter}", f"选项{letter}", f"Option {letter}", False, (letter,))
        for letter in LETTERS
    ),
    Column("answer", "正确答案", "Answer", True, ("答案", "标准答案", "correct")),
    Column("explanation", "解析", "Explanation", False, ("答案解析", "试题解析")),
)
COLUMN_BY_FIELD = {column.field: column for column in COLUMNS}
OPTION_FIELDS = [f"option_{letter}" for letter in LETTERS]


def _header_key(text: str) -> str:
    return re.sub(r"[\s*＊:：()（）_\-]", "", unicodedata.normalize("NFKC", text)).lower()


HEADERS: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.field, _column.chinese, _column.english, *_column.aliases):
        HEADERS[_header_key(_name)] = _column.field

KINDS: dict[str, str] = {
    _header_key(name): kind
    for kind, names in {
        Question.Kind.SINGLE: ("单选题", "单选", "单项选择题", "single", "single choice"),
        Question.Kind.MULTIPLE: ("多选题", "多选", "多项选择题", "multiple", "multiple choice"),
        Question.Kind.TRUE_FALSE: ("判断题", "判断", "true_false", "true/false", "true or false"),
    }.items()
    for name in names
}
KIND_NAMES = {
    Question.Kind.SINGLE: "单选题",
    Question.Kind.MULTIPLE: "多选题",
    Question.Kind.TRUE_FALSE: "判断题",
}
# A true/false row may leave the options empty: these two are used, answered 对 or 错.
TRUE_FALSE_OPTIONS = ("正确", "错误")
TRUE_ANSWERS = {"对", "正确", "是", "√", "✓", "T", "TRUE", "Y"}
FALSE_ANSWERS = {"错", "错误", "否", "×", "✗", "X", "F", "FALSE", "N"}

# Where a problem of question_problems is shown: "options" covers the options and answer.
PROBLEM_COLUMNS = {"kind": "kind", "text": "text", "options": "options"}


def column_label(field_name: str) -> str:
    if field_name == "options":
        return _("Options and answer")
    column = COLUMN_BY_FIELD.get(field_name)
    return column.label if column else field_name


# --- Reading ---------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _refuse(message: str) -> ExamRefused:
    return ExamRefused("file_refused", message, fields={"file": [message]})


def upload_too_large_message() -> str:
    return _("The file is larger than %(size)s MB. A question bank file is much smaller.") % {
        "size": MAX_UPLOAD_BYTES // (1024 * 1024)
    }


def read_workbook(name: str, data: bytes) -> list[tuple[int, dict[str, str]]]:
    """The data rows of a question workbook as (row number, {field: text}), refusing with a
    reason anything that is not a small XLSX file with the template's columns."""
    suffix = PurePath(name).suffix.lower()
    if suffix == ".xls" or data.startswith(_OLE_MAGIC):
        raise _refuse(
            _(
                "This is an old-style Excel file (.xls). Open it in Excel or WPS and save it "
                "as .xlsx."
            )
        )
    if suffix != ".xlsx":
        raise _refuse(_("Upload an Excel workbook (.xlsx) made from the template."))
    if len(data) > MAX_UPLOAD_BYTES:
        raise _refuse(upload_too_large_message())
    if not data.startswith(_ZIP_MAGIC):
        raise _refuse(_("This file is named .xlsx but is not an Excel workbook."))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if "xl/workbook.xml" not in {member.filename for member in members}:
                raise _refuse(_("This file is a ZIP archive but not an Excel workbook."))
            if sum(member.file_size for member in members) > MAX_UNPACKED_BYTES:
                raise _refuse(_("This workbook unpacks to far more data than a question bank."))
    except zipfile.BadZipFile:
        raise _refuse(_("This Excel workbook is damaged and cannot be read.")) from None
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        raw = [
            (number, tuple(values))
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
        workbook.close()
    except Exception:
        raise _refuse(_("This Excel workbook is damaged and cannot be read.")) from None
    return _rows_by_field(raw)


def _rows_by_field(raw: list[tuple[int, tuple[Any, ...]]]) -> list[tuple[int, dict[str, str]]]:
    body = iter((number, values) for number, values in raw if any(_text(v) for v in values))
    header = next(body, None)
    if header is None:
        raise _refuse(_("The file is empty."))
    columns: dict[int, str] = {}
    for index, value in enumerate(header[1]):
        field_name = HEADERS.get(_header_key(_text(value)))
        if field_name is None:
            continue  # unknown columns, such as the error column of an error file, are ignored
        if field_name in columns.values():
            raise _refuse(
                _("The column %(column)s appears twice.")
                % {"column": COLUMN_BY_FIELD[field_name].chinese}
            )
        columns[index] = field_name
    missing = [c.chinese for c in COLUMNS if c.required and c.field not in columns.values()]
    if missing:
        raise _refuse(
            _(
                "The first row must name the columns; these are missing: %(columns)s. "
                "Download the template to see them."
            )
            % {"columns": "、".join(missing)}
        )
    rows = []
    for number, values in body:
        cells = {
            field_name: _text(values[index])
            for index, field_name in columns.items()
            if index < len(values)
        }
        if any(cells.values()):
            rows.append((number, cells))
    if len(rows) > MAX_ROWS:
        raise _refuse(
            _("The file has more than %(limit)s questions. Split it into several files.")
            % {"limit": MAX_ROWS}
        )
    if not rows:
        raise _refuse(_("The file has the column names but no questions."))
    return rows


# --- Checking --------------------------------------------------------------------------


@dataclass
class ParsedRow:
    number: int
    cells: dict[str, str]
    kind: str = ""
    text: str = ""
    options: list[OptionIn] = field(default_factory=list)
    explanation: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)
    # new, update, unchanged or error, once checked against the bank
    outcome: str = ""
    question: Question | None = None

    def add(self, field_name: str, message: str) -> None:
        self.errors.setdefault(field_name, []).append(message)

    def error_lines(self) -> list[tuple[str, list[str]]]:
        return [(column_label(name), texts) for name, texts in self.errors.items()]


def _answer_letters(raw: str) -> list[str]:
    folded = unicodedata.normalize("NFKC", raw).upper()
    return [char for char in folded if not char.isspace() and char not in ",，、;；/"]


def parse_row(number: int, cells: dict[str, str]) -> ParsedRow:
    """One row as a question, with the errors only a file can have (an unknown kind, answer
    letters without an option, a gap among the options) and then question_problems'."""
    row = ParsedRow(number=number, cells=cells)
    kind_cell = cells.get("kind", "")
    row.kind = KINDS.get(_header_key(kind_cell), "")
    if not row.kind:
        row.add(
            "kind",
            _("Write 单选题, 多选题 or 判断题 (single, multiple or true/false).")
            if kind_cell
            else _("The kind is missing: write 单选题, 多选题 or 判断题."),
        )
    row.text = cells.get("text", "").strip()
    row.explanation = cells.get("explanation", "").strip()
    texts = [cells.get(name, "").strip() for name in OPTION_FIELDS]
    while texts and not texts[-1]:
        texts.pop()
    gaps = [LETTERS[index] for index, text in enumerate(texts) if not text]
    if gaps:
        row.add(
            "options",
            _("Option %(letters)s is empty but a later option is not: move the options up.")
            % {"letters": "、".join(gaps)},
        )
    answer = cells.get("answer", "").strip()
    if row.kind == Question.Kind.TRUE_FALSE and not texts:
        texts = list(TRUE_FALSE_OPTIONS)
    correct: set[int] = set()
    if not answer:
        row.add("answer", _("The answer is missing: write the letters of the correct options."))
    elif row.kind == Question.Kind.TRUE_FALSE and unicodedata.normalize("NFKC", answer).upper() in (
        TRUE_ANSWERS | FALSE_ANSWERS
    ):
        value = unicodedata.normalize("NFKC", answer).upper()
        # 对 picks the option that says so; with options written out, A/B is clearer.
        truth = value in TRUE_ANSWERS
        wanted = TRUE_FALSE_OPTIONS[0] if truth else TRUE_FALSE_OPTIONS[1]
        if wanted in texts:
            correct = {texts.index(wanted)}
        elif len(texts) == 2:
            correct = {0 if truth else 1}
    else:
        letters = _answer_letters(answer)
        unknown = [letter for letter in letters if letter not in LETTERS]
        missing = [
            letter
            for letter in letters
            if letter in LETTERS and LETTERS.index(letter) >= len(texts)
        ]
        if unknown:
            row.add(
                "answer",
                _("Write the answer as option letters, such as A or ACD; “%(answer)s” is not.")
                % {"answer": answer},
            )
        elif missing:
            row.add(
                "answer",
                _("The answer names option %(letters)s, which this row does not have.")
                % {"letters": "、".join(dict.fromkeys(missing))},
            )
        else:
            correct = {LETTERS.index(letter) for letter in letters}
    row.options = [
        OptionIn(text=text, is_correct=index in correct) for index, text in enumerate(texts)
    ]
    if row.kind:
        problems = question_problems(kind=row.kind, text=row.text, options=row.options)
        for name, messages in problems.items():
            if name == "options" and ("answer" in row.errors or "options" in row.errors):
                continue  # the answer could not be read: its own message says why
            for message in messages:
                row.add(PROBLEM_COLUMNS.get(name, name), message)
    elif not row.text:
        row.add("text", _("Write the question."))
    return row


@dataclass
class CheckResult:
    rows: list[ParsedRow]

    def _count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def new(self) -> int:
        return self._count("new")

    @property
    def updated(self) -> int:
        return self._count("update")

    @property
    def unchanged(self) -> int:
        return self._count("unchanged")

    @property
    def errors(self) -> int:
        return self._count("error")

    @property
    def error_rows(self) -> list[ParsedRow]:
        return [row for row in self.rows if row.outcome == "error"]

    @property
    def valid(self) -> int:
        return len(self.rows) - self.errors


def _bank(course: Course) -> tuple[dict[str, Question], set[int]]:
    """The course's questions by normalised text (options prefetched), and which of them
    were on papers: two queries whatever the bank's size."""
    questions = list(
        Question.objects.filter(course=course).prefetch_related(
            Prefetch("options", queryset=Option.objects.order_by("position"))
        )
    )
    by_text = {}
    for question in questions:
        by_text.setdefault(normalised_text(question.text), question)
    on_papers = set(
        AttemptQuestion.objects.filter(question__course=course)
        .values_list("question_id", flat=True)
        .distinct()
    )
    return by_text, on_papers


def _same(question: Question, row: ParsedRow) -> tuple[bool, bool]:
    """(everything the same, options the same) for a bank question and a row."""
    current = [(o.text, o.is_correct) for o in question.options.all()]
    wanted = [(o.text.strip(), o.is_correct) for o in row.options]
    options_same = question.kind == row.kind and current == wanted
    return (
        # The text matched under normalisation already: a different spacing changes nothing.
        options_same and question.explanation == row.explanation,
        options_same,
    )


def check_rows(course: Course, rows: list[tuple[int, dict[str, str]]]) -> CheckResult:
    """Every row parsed and matched with the bank: new, update, unchanged or error."""
    by_text, on_papers = _bank(course)
    seen: dict[str, int] = {}
    parsed = []
    for number, cells in rows:
        row = parse_row(number, cells)
        key = normalised_text(row.text)
        if key and key in seen:
            row.add(
                "text",
                _("The same question as row %(row)s of this file.") % {"row": seen[key]},
            )
        elif key:
            seen[key] = number
        existing = by_text.get(key) if key else None
        if not row.errors and existing is not None:
            same, options_same = _same(existing, row)
            row.question = existing
            if same:
                row.outcome = "unchanged"
            elif not options_same and existing.pk in on_papers:
                row.add(
                    "options",
                    _(
                        "The bank has this question with other options or another answer, "
                        "and it was already on exam papers: retire it in the bank and import "
                        "the new version under a new wording."
                    ),
                )
            else:
                row.outcome = "update"
        elif not row.errors:
            row.outcome = "new"
        if row.errors:
            row.outcome = "error"
        parsed.append(row)
    return CheckResult(rows=parsed)


def question_import_check(question_import: QuestionImport) -> CheckResult:
    """Check an import's rows against the bank as it is now, in the reader's language."""
    return check_rows(
        question_import.course, [(number, cells) for number, cells in question_import.rows]
    )


# --- Writing ---------------------------------------------------------------------------


def question_import_start(*, actor: Actor, course: Course, upload: UploadedFile) -> QuestionImport:
    """Read an uploaded file and keep its rows for the preview; nothing reaches the bank."""
    if upload.size and upload.size > MAX_UPLOAD_BYTES:
        raise _refuse(upload_too_large_message())
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    rows = read_workbook(upload.name or "", data)
    with transaction.atomic():
        question_import = QuestionImport.objects.create(
            course=course,
            file_name=PurePath(upload.name or "questions.xlsx").name[:200],
            rows=[[number, cells] for number, cells in rows],
            total_rows=len(rows),
            created_by=actor.user,
        )
        result = question_import_check(question_import)
        question_import.error_rows = result.errors
        question_import.save(update_fields=["error_rows"])
        audit_record(
            actor=actor,
            action="question_import.upload",
            target=question_import,
            after={
                "course": course.code,
                "file": question_import.file_name,
                "rows": len(rows),
                "new": result.new,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "errors": result.errors,
            },
        )
    return question_import


def _locked_import(question_import: QuestionImport) -> QuestionImport:
    Course.objects.select_for_update().filter(pk=question_import.course_id).first()
    locked = (
        QuestionImport.objects.select_for_update()
        .select_related("course__region")
        .get(pk=question_import.pk)
    )
    if locked.state != QuestionImport.State.CHECKED:
        raise ExamRefused(
            "import_closed",
            _("This file was already imported or abandoned. Upload it again to import it."),
            status=409,
        )
    return locked


@transaction.atomic
def question_import_apply(
    *, actor: Actor, question_import: QuestionImport, valid_rows_only: bool = False
) -> QuestionImport:
    """Import the checked file: all rows or, while any row has an error, nothing, unless the
    course manager asked for the valid rows only. Checked again under the course's lock, so
    the bank cannot have changed between the check and the writes."""
    question_import = _locked_import(question_import)
    result = question_import_check(question_import)
    if result.errors and not valid_rows_only:
        raise ExamRefused(
            "import_has_errors",
            _(
                "%(count)s rows have errors, so nothing was imported. Fix them and upload the "
                "file again, or import only the valid rows."
            )
            % {"count": result.errors},
            status=409,
        )
    for row in result.rows:
        if row.outcome == "new":
            question_create(
                actor=actor,
                course=question_import.course,
                kind=row.kind,
                text=row.text,
                options=row.options,
                explanation=row.explanation,
            )
        elif row.outcome == "update" and row.question is not None:
            question_update(
                actor=actor,
                question=row.question,
                kind=row.kind,
                text=row.text,
                options=row.options,
                explanation=row.explanation,
            )
    question_import.state = QuestionImport.State.APPLIED
    question_import.applied_at = timezone.now()
    question_import.created_count = result.new
    question_import.updated_count = result.updated
    question_import.unchanged_count = result.unchanged
    question_import.skipped_count = result.errors
    question_import.error_rows = result.errors
    # Only the rows left out are kept: the manager may still download them to fix them.
    question_import.rows = [[row.number, row.cells] for row in result.error_rows]
    question_import.save()
    audit_record(
        actor=actor,
        action="question_import.apply",
        target=question_import,
        after={
            "course": question_import.course.code,
            "file": question_import.file_name,
            "created": result.new,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "skipped_with_errors": result.errors,
        },
    )
    return question_import


@transaction.atomic
def question_import_abandon(*, actor: Actor, question_import: QuestionImport) -> QuestionImport:
    question_import = _locked_import(question_import)
    question_import.state = QuestionImport.State.ABANDONED
    question_import.rows = []
    question_import.save(update_fields=["state", "rows"])
    audit_record(
        actor=actor,
        action="question_import.abandon",
        target=question_import,
        after={"course": question_import.course.code, "file": question_import.file_name},
    )
    return question_import


# --- Files -----------------------------------------------------------------------------

TEMPLATE_NOTES = [
    "每行一道题，第一行为列名，请勿修改列名。只读取第一个工作表。",
    "题型：单选题、多选题或判断题。",
    "题干：题目内容。同一课程中题干相同（忽略空格、全角半角和大小写）的题目视为同一题："
    "再次导入时不会重复添加，内容有变化的将被更新。",
    "选项A至选项H：按顺序填写，中间不能留空。单选题至少两个选项；多选题至少三个选项；"
    "判断题可不填选项（自动使用“正确”“错误”）。",
    "正确答案：填写正确选项的字母，如 B 或 ACD。"
    "单选题只有一个正确答案，多选题至少两个；判断题可填“对”或“错”。",
    "解析：考后向学员展示的答案解析，可不填。",
    "已在试卷中出现过的题目，选项和答案不能再修改：请在题库中停用后以新的题干导入。",
    "每个文件最多 2,000 道题、2 MB，仅支持 .xlsx 格式。",
]


def _workbook(rows: list[list[Any]], *, extra_header: str = "") -> bytes:
    import openpyxl
    from openpyxl.styles import Alignment, Font

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "试题"
    header = [column.chinese for column in COLUMNS] + ([extra_header] if extra_header else [])
    sheet.append(header)
    for index, column in enumerate(header, start=1):
        letter = openpyxl.utils.get_column_letter(index)
        sheet.cell(row=1, column=index).font = Font(bold=True)
        wide = column in ("题干", "解析") or column == extra_header
        sheet.column_dimensions[letter].width = 48 if wide else 18
    for values in rows:
        sheet.append(values)
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            cell.number_format = "@"  # text, so that "1" or a date stays as written
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    notes = workbook.create_sheet("填写说明")
    for line in TEMPLATE_NOTES:
        notes.append([line])
    notes.column_dimensions["A"].width = 110
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _row(kind: str, text: str, options: list[str], answer: str, explanation: str) -> list[str]:
    return [kind, text, *options, *[""] * (OPTIONS_MAX - len(options)), answer, explanation]


def template_xlsx() -> bytes:
    """The empty template, with one example row of each kind."""
    examples = [
        _row(
            "单选题",
            "会计人员每年参加继续教育取得的学分不少于多少？",
            ["60学分", "90学分", "120学分"],
            "B",
            "每年不少于90学分，其中专业科目不少于三分之二。",
        ),
        _row(
            "多选题",
            "下列哪些可以折算继续教育学分？",
            [
                "通过全国会计专业技术资格考试的一个科目",
                "在有ISSN和CN的刊物上发表会计论文",
                "浏览财经新闻",
            ],
            "AB",
            "考试通过和发表论文均可按规定折算学分。",
        ),
        _row(
            "判断题",
            "继续教育学分可以结转到下一年度使用。",
            [],
            "错",
            "学分只在取得的年度内有效，不得结转。",
        ),
    ]
    return _workbook(examples)


def _question_row(question: Question) -> list[Any]:
    options = list(question.options.all())
    answer = "".join(LETTERS[index] for index, option in enumerate(options) if option.is_correct)
    return _row(
        KIND_NAMES[question.kind],
        question.text,
        [option.text for option in options],
        answer,
        question.explanation,
    )


def export_xlsx(course: Course) -> bytes:
    """The course's questions in use, in the template's format (importable as it is)."""
    questions = (
        Question.objects.filter(course=course, is_active=True)
        .prefetch_related(Prefetch("options", queryset=Option.objects.order_by("position")))
        .order_by("position", "id")
    )
    return _workbook([_question_row(question) for question in questions])


def question_bank_export(*, actor: Actor, course: Course) -> bytes:
    """export_xlsx, audited: a file of the answers is what a leak would start from."""
    content = export_xlsx(course)
    audit_record(
        actor=actor,
        action="question_bank.export",
        target=course,
        after={
            "course": course.code,
            "questions": Question.objects.filter(course=course, is_active=True).count(),
        },
    )
    return content


def error_rows_xlsx(result: CheckResult) -> bytes:
    """The rows with errors as uploaded, in the template's columns, with a column naming every
    error: fix them there and upload the file again."""
    rows = []
    for row in result.error_rows:
        reasons = "；".join(f"{label}：{' '.join(texts)}" for label, texts in row.error_lines())
        rows.append(
            [row.cells.get(column.field, "") for column in COLUMNS]
            + [_("Row %(row)s: %(errors)s") % {"row": row.number, "errors": reasons}]
        )
    return _workbook(rows, extra_header="错误")
