"""Bulk import of learners from XLSX or CSV: reading the file, checking every row, the plan
the officer previews, and applying exactly that plan in one transaction.

Flow: `learner_import_start` stores the upload and queues a check; the check reads the file
as a stream, validates each row with the registry's own rules (`_clean`; in forked worker
processes, one per core, for a large file), classifies it as new / updated / unchanged /
error against the database, and writes a *plan* file (ID numbers only encrypted and hashed,
never in plaintext): the error rows as uploaded (encrypted, for the error file), then the
rows of people already held, then the new people. `learner_import_confirm` queues the apply,
which re-verifies the held rows under lock, writes the new people (the unique ID-number hash
refusing anyone collected meanwhile) and commits all of it or nothing.
The uploaded file and the plan are deleted when the import is applied or abandoned.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import multiprocessing
import os
import re
import shutil
import tempfile
import zipfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import PurePath
from types import SimpleNamespace
from typing import IO, Any, TypeVar

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, models, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cpe.core.models import AuditEntry, Job
from cpe.core.privacy import scrub_id_numbers
from cpe.core.selectors import waits_on_a_stopped_job
from cpe.core.services import Actor, audit_record, job_enqueue
from cpe.regions.models import Region
from cpe.registry import import_xlsx
from cpe.registry.crypto import DecryptionError, decrypt, encrypt, mask_id_number
from cpe.registry.models import (
    ID_NUMBER_PURPOSE,
    Learner,
    LearnerImport,
    LearnerImportError,
    LearnerStatusChange,
    QualificationLevel,
)
from cpe.registry.services import LearnerDetails, _clean, _refuse_duplicate, id_number_hash

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
# A 20 MB workbook may inflate a lot; a genuine 200,000-row sheet stays well below this.
MAX_UNPACKED_BYTES = 400 * 1024 * 1024
BATCH_SIZE = 1000
# The apply writes larger batches: each statement, and the checks of references at its end,
# costs the database something on top of its rows.
APPLY_BATCH_SIZE = 5000
# A file of at least this many rows is checked by one process per core (at most this many).
PARALLEL_FROM_ROWS = 5000
MAX_CHECKING_PROCESSES = 4
ERROR_ROW_PURPOSE = "learner_import_error_row"
IMPORT_CHECK = "registry.import_check"
IMPORT_APPLY = "registry.import_apply"

Progress = Callable[..., None]


# --- Columns ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    field: str
    chinese: str
    english: str
    required: bool
    aliases: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The column's name in the reader's language."""
        language = translation.get_language() or settings.LANGUAGE_CODE
        return self.english if language.startswith("en") else self.chinese


COLUMNS: tuple[Column, ...] = (
    Column("id_number", "身份证号", "ID number", True, ("身份证号码", "居民身份证号码", "id")),
    Column("name", "姓名", "Name", True),
    Column("mobile", "手机号", "Mobile number", True, ("手机号码", "mobile")),
    Column("employer_name", "工作单位", "Employer", True, ("单位名称",)),
    Column(
        "employer_uscc",
        "统一社会信用代码",
        "Unified social credit code",
        False,
        ("uscc", "信用代码"),
    ),
    Column(
        "qualification_level",
        "会计专业技术资格",
        "Qualification level",
        True,
        ("资格等级", "qualification"),
    ),
    Column("certificate_number", "证书编号", "Certificate number", False, ("资格证书编号",)),
    Column("qualification_year", "取得年份", "Year obtained", False, ("qualification year",)),
)
COLUMN_BY_FIELD = {column.field: column for column in COLUMNS}
# Fields an import compares and may change on a learner already in the district.
COMPARED_FIELDS = [
    "name",
    "mobile",
    "employer_name",
    "employer_uscc",
    "qualification_level",
    "certificate_number",
    "qualification_year",
]
CERTIFICATE_NUMBER_MAX = Learner._meta.get_field("certificate_number").max_length


def _header_key(text: str) -> str:
    return re.sub(r"[\s*＊:：()（）_\-]", "", text).lower()


HEADERS: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.field, _column.chinese, _column.english, *_column.aliases):
        HEADERS[_header_key(_name)] = _column.field

LEVELS: dict[str, str] = {
    "无": QualificationLevel.NONE,
    "初级": QualificationLevel.JUNIOR,
    "中级": QualificationLevel.INTERMEDIATE,
    "高级": QualificationLevel.SENIOR,
    "正高级": QualificationLevel.PROFESSOR,
    "no qualification": QualificationLevel.NONE,
    "professor-level senior": QualificationLevel.PROFESSOR,
    **{value: value for value in QualificationLevel.values},
}


# --- Messages in each language ------------------------------------------------------------


def _languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def in_each_language(
    message: Promise | str, params: dict[str, Any] | None = None
) -> dict[str, str]:
    """A lazily translated message rendered in every language of the platform."""
    rendered = {}
    for code in _languages():
        with translation.override(code):
            text = str(message)
            rendered[code] = text % params if params else text
    return rendered


def in_current_language(texts: dict[str, Any]) -> Any:
    """Pick the reader's language from a per-language dict, falling back to the default."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    for code in (language, language.split("-")[0], settings.LANGUAGE_CODE):
        if code in texts:
            return texts[code]
    return next(iter(texts.values()), "")


class FileRefused(Exception):
    """The whole file cannot be imported; the message says why, in the officer's words."""

    def __init__(self, message: Promise | str, **params: Any) -> None:
        self.message = message
        self.params = params
        super().__init__(str(message) % params if params else str(message))

    def in_each_language(self) -> dict[str, str]:
        return in_each_language(self.message, self.params)


# --- Reading ------------------------------------------------------------------------------

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls (and .doc) format


def inspect_upload(name: str, head: bytes) -> str:
    """The format of an uploaded file ("xlsx" or "csv") from its name and first bytes."""
    suffix = PurePath(name).suffix.lower()
    if suffix == ".xls" or (suffix == ".xlsx" and head.startswith(_OLE_MAGIC)):
        raise FileRefused(
            _(
                "This is an old-style Excel file (.xls). Open it in Excel or WPS and save it "
                "as .xlsx."
            )
        )
    if suffix == ".xlsx":
        if not head.startswith(_ZIP_MAGIC):
            raise FileRefused(_("This file is named .xlsx but is not an Excel workbook."))
        return "xlsx"
    if suffix == ".csv":
        if b"\x00" in head or head.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
            raise FileRefused(_("This file is named .csv but is not a text file."))
        csv_encoding(head)
        return "csv"
    raise FileRefused(_("Upload an Excel workbook (.xlsx) or a CSV file (.csv)."))


def csv_encoding(head: bytes) -> str:
    """UTF-8 (with or without a byte-order mark) or GB18030, which Excel in China writes."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    raise FileRefused(_("This CSV file is neither UTF-8 nor GB18030 (GBK) text."))


@dataclass
class Table:
    """The rows of an uploaded file: (row number as the spreadsheet shows it, cell values)."""

    rows: Iterator[tuple[int, tuple[Any, ...]]]
    estimated_rows: int


def _xlsx_table(source: IO[bytes]) -> Table:
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
            names = {member.filename for member in members}
            if "xl/workbook.xml" not in names:
                raise FileRefused(_("This file is a ZIP archive but not an Excel workbook."))
            if sum(member.file_size for member in members) > MAX_UNPACKED_BYTES:
                raise FileRefused(
                    _("This workbook unpacks to far more data than a list of people.")
                )
    except zipfile.BadZipFile:
        raise FileRefused(_("This Excel workbook is damaged and cannot be read.")) from None
    source.seek(0)
    try:
        sheet = import_xlsx.open_worksheet(source)
    except Exception:
        raise FileRefused(_("This Excel workbook is damaged and cannot be read.")) from None

    def rows() -> Iterator[tuple[int, tuple[Any, ...]]]:
        # The sheet's own size is not trusted (some programs write a wrong one): the rows
        # are read to the end of the sheet, numbered as the spreadsheet shows them.
        number = 0
        try:
            for number, values in import_xlsx.rows(sheet):
                yield number, values
        except FileRefused:
            raise
        except Exception:
            raise FileRefused(
                _("This Excel workbook is damaged after row %(row)s."), row=number
            ) from None
        finally:
            sheet.archive.close()

    return Table(rows=rows(), estimated_rows=sheet.dimension_rows)


def _csv_table(source: IO[bytes]) -> Table:
    head = source.read(64 * 1024)
    encoding = csv_encoding(head)
    lines = head.count(b"\n")
    while chunk := source.read(1024 * 1024):
        lines += chunk.count(b"\n")
    source.seek(0)

    def rows() -> Iterator[tuple[int, tuple[Any, ...]]]:
        text = io.TextIOWrapper(source, encoding=encoding, newline="")  # type: ignore[arg-type]
        number = 0
        try:
            for number, values in enumerate(csv.reader(text), start=1):
                yield number, tuple(values)
        except UnicodeDecodeError:
            raise FileRefused(
                _("This CSV file is not %(encoding)s text throughout: check row %(row)s."),
                encoding="UTF-8" if encoding.startswith("utf") else "GB18030",
                row=number + 1,
            ) from None
        except csv.Error:
            raise FileRefused(
                _("This CSV file is malformed at row %(row)s."), row=number + 1
            ) from None
        finally:
            with suppress(ValueError):  # the source was closed before the rows were read
                text.detach()

    return Table(rows=rows(), estimated_rows=lines + 1)


def open_table(source: IO[bytes], file_format: str) -> Table:
    return _xlsx_table(source) if file_format == "xlsx" else _csv_table(source)


def _is_blank(values: tuple[Any, ...]) -> bool:
    return all(value is None or str(value).strip() == "" for value in values)


@dataclass
class Sheet:
    """The data rows of a table, with each useful column mapped to a learner field."""

    columns: dict[int, str]
    header_row: int
    header: tuple[Any, ...]
    rows: Iterator[tuple[int, tuple[Any, ...]]]
    estimated_rows: int


def headers_of(columns: tuple[Column, ...]) -> dict[str, str]:
    """Every accepted spelling of the columns' names (normalised), to the field it names."""
    headers: dict[str, str] = {}
    for column in columns:
        for name in (column.field, column.chinese, column.english, *column.aliases):
            headers[_header_key(name)] = column.field
    return headers


def read_sheet(
    source: IO[bytes], file_format: str, columns_described: tuple[Column, ...] = COLUMNS
) -> Sheet:
    """Open a file, find its header row (the first row that is not blank) and map the columns
    (the learner import's, or another import's `columns_described`).

    Unknown columns (such as the error column of a downloaded error file) are ignored; a
    missing required column or a column named twice refuses the file.
    """
    table = open_table(source, file_format)
    headers = HEADERS if columns_described is COLUMNS else headers_of(columns_described)
    by_field = {column.field: column for column in columns_described}
    for number, values in table.rows:
        if _is_blank(values):
            continue
        columns: dict[int, str] = {}
        for index, value in enumerate(values):
            field_name = headers.get(_header_key(str(value or "")))
            if field_name is None:
                continue
            if field_name in columns.values():
                raise FileRefused(
                    _("The column %(column)s appears twice."),
                    column=by_field[field_name].chinese,
                )
            columns[index] = field_name
        missing = [
            c.chinese for c in columns_described if c.required and c.field not in columns.values()
        ]
        if missing:
            raise FileRefused(
                _(
                    "The first row must name the columns; these are missing: %(columns)s. "
                    "Download the template to see them."
                ),
                columns="、".join(missing),
            )
        return Sheet(
            columns=columns,
            header_row=number,
            header=values,
            rows=_data_rows(table.rows),
            estimated_rows=max(table.estimated_rows - number, 0),
        )
    raise FileRefused(_("The file is empty."))


def _data_rows(
    rows: Iterator[tuple[int, tuple[Any, ...]]],
) -> Iterator[tuple[int, tuple[Any, ...]]]:
    count = 0
    for number, values in rows:
        if _is_blank(values):
            continue
        count += 1
        if count > MAX_ROWS:
            raise FileRefused(
                _("The file has more than %(limit)s rows. Split it into several files."),
                limit=f"{MAX_ROWS:,}",
            )
        yield number, values


# --- Checking one row ---------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _year(value: Any) -> int | None:
    if isinstance(value, datetime | date):
        return value.year
    text = _text(value).removesuffix("年").strip()
    if not text:
        return None
    return int(text) if text.isdigit() else 0  # 0: out of range, so the rules explain it


RowErrors = dict[str, dict[str, list[str]]]


def _add_error(errors: RowErrors, field_name: str, texts: dict[str, str]) -> None:
    for code, text in texts.items():
        errors.setdefault(field_name, {}).setdefault(code, []).append(text)


def _details(cells: dict[str, Any]) -> tuple[LearnerDetails, RowErrors]:
    """The cells of a row as the registry's LearnerDetails, plus errors only a file can have."""
    errors: RowErrors = {}
    raw_id = cells.get("id_number")
    if isinstance(raw_id, float) and raw_id >= 1e14:
        _add_error(
            errors,
            "id_number",
            in_each_language(
                _(
                    "Excel stored this ID number as a number and lost its last digits: format "
                    "the column as text and type the number again."
                )
            ),
        )
    level = _text(cells.get("qualification_level"))
    certificate = _text(cells.get("certificate_number"))
    if len(certificate) > CERTIFICATE_NUMBER_MAX:
        _add_error(
            errors,
            "certificate_number",
            in_each_language(
                _("A certificate number has at most %(limit)s characters."),
                {"limit": CERTIFICATE_NUMBER_MAX},
            ),
        )
    details = LearnerDetails(
        id_number=_text(raw_id),
        name=_text(cells.get("name")),
        mobile=_text(cells.get("mobile")),
        employer_name=_text(cells.get("employer_name")),
        qualification_level=LEVELS.get(level.lower(), level),
        employer_uscc=_text(cells.get("employer_uscc")),
        certificate_number=certificate,
        qualification_year=_year(cells.get("qualification_year")),
    )
    return details, errors


def _clean_errors(details: LearnerDetails, today: date) -> RowErrors:
    """The registry's own messages for a bad row, in each language."""
    errors: RowErrors = {}
    for code in _languages():
        with translation.override(code):
            try:
                _clean(details, today=today)
            except ValidationError as error:
                for field_name, texts in error.message_dict.items():
                    errors.setdefault(field_name, {})[code] = list(texts)
    return errors


def _masked(raw: str) -> str:
    return mask_id_number(re.sub(r"\s+", "", raw).upper()[:18])


@dataclass
class CheckResult:
    total: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


_HOLDER_FIELDS = [
    "pk",
    "id_number_hash",
    "id_number_masked",
    "district_id",
    "status",
    "updated_at",
    *COMPARED_FIELDS,
]


def _stamp(value: datetime) -> str:
    return value.isoformat()


@dataclass(frozen=True)
class _RowRules:
    """What checking a row needs besides the row: small, so it travels with each batch."""

    columns: dict[int, str]
    today: date


# What checking one row gives: ("error", row number, errors) or ("valid", row number, lookup
# hash, the row's plan line should the person be new, which holds its normalised values).
CheckedRow = tuple[Any, ...]
RawRows = list[tuple[int, tuple[Any, ...]]]


def _check_rows(rules: _RowRules, rows: RawRows) -> list[CheckedRow]:
    """The registry's rules applied to a batch of rows, with no database: pure CPU work, so
    that several processes can share a large file (see `_checked_batches`)."""
    checked: list[CheckedRow] = []
    for number, values in rows:
        cells = {
            name: values[index] if index < len(values) else None
            for index, name in rules.columns.items()
        }
        details, row_errors = _details(cells)
        try:
            cleaned = _clean(details, today=rules.today)
        except ValidationError:
            cleaned = None
            for field_name, texts in _clean_errors(details, rules.today).items():
                for code, messages in texts.items():
                    row_errors.setdefault(field_name, {}).setdefault(code, []).extend(messages)
        if row_errors or cleaned is None:
            checked.append(("error", number, row_errors))
            continue
        id_number = cleaned.pop("id_number")
        digest = id_number_hash(id_number.value)
        line = {
            "row": number,
            "do": "new",
            "hash": digest,
            "encrypted": encrypt(id_number.value, purpose=ID_NUMBER_PURPOSE),
            "masked": mask_id_number(id_number.value),
            "birth_date": id_number.birth_date.isoformat(),
            "gender": id_number.gender,
            "values": cleaned,
        }
        checked.append(("valid", number, digest, _JSON.encode(line)))
    return checked


def _checking_processes(estimated_rows: int) -> int:
    """How many processes check a file's rows: one per core for a large file, where fork()
    gives each the parent's settings, keys and translations as they are."""
    if estimated_rows < PARALLEL_FROM_ROWS or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    with suppress(AttributeError):  # not Linux
        return min(len(os.sched_getaffinity(0)), MAX_CHECKING_PROCESSES)
    return min(os.cpu_count() or 1, MAX_CHECKING_PROCESSES)


def _checked_batches(
    rules: _RowRules, batches: Iterator[RawRows], processes: int
) -> Iterator[tuple[RawRows, list[CheckedRow]]]:
    """Each batch with its checked rows, in the file's order.

    With more than one process the batches go to a pool of forked workers, a few ahead of
    the one being recorded, which bounds the memory they take. The workers only compute:
    they use no database connection (the parent's are inherited and must stay untouched)
    and end by `os._exit`, so nothing inherited is closed behind the parent's back.
    """
    if processes <= 1:
        for batch in batches:
            yield batch, _check_rows(rules, batch)
        return
    _clean_errors(LearnerDetails("", "", "", "", ""), rules.today)  # load every catalogue once
    id_number_hash("")  # and the keys, before the workers are forked
    encrypt("", purpose=ID_NUMBER_PURPOSE)
    ahead: deque[tuple[RawRows, Any]] = deque()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        for batch in batches:
            ahead.append((batch, pool.apply_async(_check_rows, (rules, batch))))
            if len(ahead) > 2 * processes:
                done, checked = ahead.popleft()
                yield done, checked.get()
        while ahead:
            done, checked = ahead.popleft()
            yield done, checked.get()


@dataclass
class _Checker:
    """Records a file's checked rows batch by batch: the plan, the error rows and the rows
    for the error file, which need the database (people already held, duplicates)."""

    learner_import: LearnerImport
    columns: dict[int, str]
    header: tuple[Any, ...]
    plan: IO[bytes]  # the lines of people already held, which the apply verifies first
    new_plan: IO[bytes]  # the lines of new people, which follow them in the plan
    error_plan: IO[bytes]  # the error rows as uploaded, encrypted, for the error file
    result: CheckResult = field(default_factory=CheckResult)
    seen: dict[str, int] = field(default_factory=dict)  # lookup hash -> first row number
    regions: dict[int, Region] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Without an earlier download's error column: a new one is added.
        header = [
            _text(value) if value is not None else None
            for value in self.header
            if not _is_error_header(value)
        ]
        self.width = len(header)
        self.error_plan.write(_plan_line({"do": "header", "cells": header}))

    def record(self, rows: RawRows, checked: list[CheckedRow]) -> None:
        raw = dict(rows)
        errors: dict[int, RowErrors] = {}
        valid: list[tuple[int, str, str]] = []
        for outcome in checked:
            if outcome[0] == "error":
                errors[outcome[1]] = outcome[2]
                continue
            _kind, number, digest, line = outcome
            first = self.seen.get(digest)
            if first is not None:
                errors[number] = {}
                _add_error(
                    errors[number],
                    "id_number",
                    in_each_language(
                        _("The same ID number is already on row %(row)s of this file."),
                        {"row": first},
                    ),
                )
                continue
            self.seen[digest] = number
            valid.append((number, digest, line))
        named = self._classify(valid, errors)
        self._store_errors(errors, raw, named)
        self.result.total += len(rows)

    def _classify(
        self, valid: list[tuple[int, str, str]], errors: dict[int, RowErrors]
    ) -> dict[int, dict[str, Any]]:
        """Write the plan lines of the valid rows; add the rows of people held elsewhere or
        inactive to `errors`, returning what their error records show instead of the cells."""
        district = self.learner_import.district
        holders = _learners_by_hash([digest for _number, digest, _line in valid])
        present = set(self.columns.values())
        named: dict[int, dict[str, Any]] = {}
        new_lines, held_lines = [], []
        for number, digest, new_line in valid:
            holder = holders.get(digest)
            if holder is None:
                self.result.new += 1
                new_lines.append(new_line)
                continue
            values = json.loads(new_line)["values"]
            problem = self._holder_problem(holder, district)
            if problem:
                named[number] = {"id_number": holder["id_number_masked"], "name": values["name"]}
                errors[number] = {"id_number": problem}
                continue
            changes = {
                name: [holder[name], values[name]]
                for name in COMPARED_FIELDS
                # An optional column left out of the file leaves that field alone.
                if name in present and holder[name] != values[name]
            }
            line = {
                "row": number,
                "hash": digest,
                "learner": holder["pk"],
                "stamp": _stamp(holder["updated_at"]),
            }
            if changes:
                self.result.updated += 1
                held_lines.append(_JSON.encode({**line, "do": "update", "changes": changes}))
            else:
                self.result.unchanged += 1
                held_lines.append(_JSON.encode({**line, "do": "same"}))
        # One write per batch: each write to a gzip file costs a compressor call.
        for out, lines in ((self.new_plan, new_lines), (self.plan, held_lines)):
            if lines:
                out.write(("\n".join(lines) + "\n").encode())
        return named

    def _holder_problem(self, holder: dict[str, Any], district: Region) -> dict[str, list[str]]:
        if holder["district_id"] != district.pk:
            region = self._region(holder["district_id"])
            texts: dict[str, list[str]] = {}
            for code in _languages():
                with translation.override(code):
                    error = _refuse_duplicate(SimpleNamespace(district=region))  # type: ignore[arg-type]
                    texts[code] = error.message_dict["id_number"]
            return texts
        if holder["status"] != Learner.Status.COLLECTED:
            return {
                code: [text]
                for code, text in in_each_language(
                    _(
                        "This person's record is not active (being transferred or "
                        "deregistered). Change it on the person's record page."
                    )
                ).items()
            }
        return {}

    def _region(self, pk: int) -> Region:
        if pk not in self.regions:
            self.regions[pk] = Region.objects.get(pk=pk)
        return self.regions[pk]

    def _cells(self, values: tuple[Any, ...]) -> dict[str, Any]:
        return {
            name: values[index] if index < len(values) else None
            for index, name in self.columns.items()
        }

    def _store_errors(
        self, errors: dict[int, RowErrors], raw: dict[int, tuple[Any, ...]], named: dict
    ) -> None:
        self.result.errors += len(errors)
        records, sealed_rows = [], []
        for number, row_errors in sorted(errors.items()):
            values = raw[number]
            cells = named.get(number) or self._cells(values)
            records.append(
                LearnerImportError(
                    learner_import=self.learner_import,
                    row_number=number,
                    id_number_masked=_masked(_text(cells.get("id_number"))),
                    name=_text(cells.get("name"))[:60],
                    messages=row_errors,
                )
            )
            # The row as uploaded, so the officer can correct it: it holds the plaintext ID
            # number, so it is kept only encrypted.
            width = self.width
            padded = (*values[:width], *([None] * (width - len(values[:width]))))
            texts = [_text(value) if value is not None else None for value in padded]
            sealed = encrypt(json.dumps(texts, ensure_ascii=False), purpose=ERROR_ROW_PURPOSE)
            sealed_rows.append(_plan_line({"do": "error", "row": number, "cells": sealed}))
        self.error_plan.write(b"".join(sealed_rows))
        LearnerImportError.objects.bulk_create(records)


# One encoder for every plan line: json.dumps() with options makes a new one per call.
_JSON = json.JSONEncoder(ensure_ascii=False)


def _plan_line(line: dict[str, Any]) -> bytes:
    return _JSON.encode(line).encode() + b"\n"


def _learners_by_hash(digests: list[str], *, lock: bool = False) -> dict[str, dict[str, Any]]:
    """The learners holding these lookup hashes, as dicts of `_HOLDER_FIELDS`."""
    if not digests:
        return {}
    if connection.vendor == "postgresql":
        # One text parameter (hex hashes, split by the server) rather than an IN list of a
        # thousand placeholders, which the driver would parse again for every batch.
        learners = Learner.objects.filter(
            RawSQL(  # noqa: S611 - the table name is the model's own; the hashes are a parameter
                f"{Learner._meta.db_table}.id_number_hash = ANY(string_to_array(%s, ','))",
                (",".join(digests),),
                output_field=models.BooleanField(),
            )
        )
    else:
        learners = Learner.objects.filter(id_number_hash__in=digests)
    if lock:
        learners = learners.select_for_update()
    return {row["id_number_hash"]: row for row in learners.values(*_HOLDER_FIELDS)}


def _batches(
    rows: Iterator[tuple[int, tuple[Any, ...]]], size: int
) -> Iterator[list[tuple[int, tuple[Any, ...]]]]:
    batch: list[tuple[int, tuple[Any, ...]]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- Services -----------------------------------------------------------------------------


def _require_district_officer(actor: Actor, district: Region) -> None:
    if district.level != Region.Level.DISTRICT or not actor.may_act_in(district.path):
        raise PermissionDenied


@transaction.atomic
def learner_import_start(*, actor: Actor, district: Region, upload: UploadedFile) -> LearnerImport:
    """Store an uploaded file and queue its check. Nothing about learners is written yet."""
    _require_district_officer(actor, district)
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError({"file": upload_too_large_message()})
    upload.seek(0)
    try:
        file_format = inspect_upload(upload.name or "", upload.read(64 * 1024))
    except FileRefused as refused:
        raise ValidationError({"file": str(refused)}) from None
    upload.seek(0)
    learner_import = LearnerImport(
        district=district,
        created_by=actor.user,
        # People name files after someone's ID number: kept masked.
        file_name=scrub_id_numbers(PurePath(upload.name or "").name)[:255],
        file_format=file_format,
    )
    learner_import.upload.save("upload", upload, save=False)
    name = learner_import.upload.name
    try:
        learner_import.save()
        _queue(actor, learner_import, IMPORT_CHECK)
        audit_record(
            actor=actor,
            action="learner_import.upload",
            target=learner_import,
            after={"file": learner_import.file_name, "format": file_format},
        )
    except Exception:
        learner_import.upload.storage.delete(name)
        raise
    return learner_import


def upload_too_large_message() -> str:
    return str(_("The file is larger than %(limit)s MB. Split it into several files.")) % {
        "limit": MAX_UPLOAD_BYTES // (1024 * 1024)
    }


def _queue(actor: Actor, learner_import: LearnerImport, kind: str) -> Job:
    job = job_enqueue(
        kind=kind,
        actor=actor,
        params={"import": str(learner_import.pk), "ip": actor.ip},
        region_path=learner_import.district.path,
    )
    LearnerImport.objects.filter(pk=learner_import.pk).update(job=job)
    learner_import.job = job
    return job


def _set_state(learner_import: LearnerImport, state: str, **fields: Any) -> None:
    fields["updated_at"] = timezone.now()
    LearnerImport.objects.filter(pk=learner_import.pk).update(state=state, **fields)
    learner_import.state = state
    for name, value in fields.items():
        setattr(learner_import, name, value)


def learner_import_check(*, learner_import: LearnerImport, progress: Progress) -> CheckResult:
    """Read and check every row, then record the counts, the error rows and the plan.

    Raises FileRefused (after recording it on the import) when the file as a whole cannot
    be imported: not readable, missing columns, too many rows.
    """
    LearnerImportError.objects.filter(learner_import=learner_import).delete()
    if learner_import.plan:
        learner_import.plan.delete(save=False)
    with (
        translation.override(settings.LANGUAGE_CODE),
        tempfile.TemporaryFile() as spool,
        tempfile.TemporaryFile() as held_spool,
        tempfile.TemporaryFile() as new_spool,
    ):
        try:
            with learner_import.upload.open("rb") as source:
                sheet = read_sheet(source, learner_import.file_format)
                progress(0, total=sheet.estimated_rows, message=str(_("Checking the rows")))
                rules = _RowRules(columns=sheet.columns, today=timezone.localdate())
                processes = _checking_processes(sheet.estimated_rows)
                with (
                    gzip.GzipFile(fileobj=spool, mode="wb", compresslevel=1) as error_plan,
                    gzip.GzipFile(fileobj=held_spool, mode="wb", compresslevel=1) as plan,
                    gzip.GzipFile(fileobj=new_spool, mode="wb", compresslevel=1) as new_plan,
                ):
                    checker = _Checker(
                        learner_import, sheet.columns, sheet.header, plan, new_plan, error_plan
                    )
                    batches = _batches(sheet.rows, BATCH_SIZE)
                    for rows, checked in _checked_batches(rules, batches, processes):
                        checker.record(rows, checked)
                        progress(checker.result.total)
        except FileRefused as refused:
            LearnerImportError.objects.filter(learner_import=learner_import).delete()
            _set_state(
                learner_import,
                LearnerImport.State.REFUSED,
                message=refused.in_each_language(),
                checked_at=timezone.now(),
            )
            raise
        if checker.result.total == 0:
            refused = FileRefused(_("The file has a header row but no people in it."))
            _set_state(
                learner_import, LearnerImport.State.REFUSED, message=refused.in_each_language()
            )
            raise refused
        # The plan: the error rows, the people already held, the new people. Gzip members
        # one after the other read back as one stream.
        for part in (held_spool, new_spool):
            part.seek(0)
            shutil.copyfileobj(part, spool)
        spool.seek(0)
        learner_import.plan.save("plan", File(spool), save=False)
    result = checker.result
    _set_state(
        learner_import,
        LearnerImport.State.CHECKED,
        plan=learner_import.plan.name,
        total_rows=result.total,
        new_count=result.new,
        updated_count=result.updated,
        unchanged_count=result.unchanged,
        error_count=result.errors,
        message={},
        checked_at=timezone.now(),
    )
    return result


def _delete_files_on_commit(learner_import: LearnerImport) -> None:
    names = [f.name for f in (learner_import.upload, learner_import.plan) if f]
    storage = learner_import.upload.storage

    def delete() -> None:
        for name in names:
            storage.delete(name)

    transaction.on_commit(delete)


def learner_import_confirm(*, actor: Actor, learner_import: LearnerImport) -> Job:
    """Queue the apply of a checked import; a second click does not queue it twice."""
    _require_district_officer(actor, learner_import.district)
    with transaction.atomic():
        moved = LearnerImport.objects.filter(
            pk=learner_import.pk, state=LearnerImport.State.CHECKED
        ).update(state=LearnerImport.State.APPLYING, updated_at=timezone.now())
        if not moved:
            raise ValidationError(_("This import is not waiting for confirmation."))
        learner_import.state = LearnerImport.State.APPLYING
        return _queue(actor, learner_import, IMPORT_APPLY)


def learner_import_recheck(*, actor: Actor, learner_import: LearnerImport) -> Job:
    """Check the stored file again, after records changed since the first check."""
    _require_district_officer(actor, learner_import.district)
    with transaction.atomic():
        moved = LearnerImport.objects.filter(
            pk=learner_import.pk,
            state__in=[LearnerImport.State.CHECKED, LearnerImport.State.STALE],
        ).update(state=LearnerImport.State.CHECKING, updated_at=timezone.now())
        if not moved:
            raise ValidationError(_("This import cannot be checked again."))
        learner_import.state = LearnerImport.State.CHECKING
        return _queue(actor, learner_import, IMPORT_CHECK)


ABANDONABLE = (
    LearnerImport.State.CHECKED,
    LearnerImport.State.REFUSED,
    LearnerImport.State.STALE,
)


def import_may_be_abandoned(learner_import: LearnerImport) -> bool:
    if learner_import.state in ABANDONABLE:
        return True
    # A check or apply whose worker died leaves the import waiting for nothing.
    return waits_on_a_stopped_job(
        state=learner_import.state,
        busy=(LearnerImport.State.CHECKING, LearnerImport.State.APPLYING),
        job=learner_import.job,
    )


@transaction.atomic
def learner_import_abandon(*, actor: Actor, learner_import: LearnerImport) -> None:
    """Give up an import: nothing is written, and the uploaded file and plan are deleted."""
    _require_district_officer(actor, learner_import.district)
    learner_import = LearnerImport.objects.select_for_update().get(pk=learner_import.pk)
    if not import_may_be_abandoned(learner_import):
        raise ValidationError(_("This import can no longer be abandoned."))
    _abandon(learner_import, actor=actor)


def _abandon(learner_import: LearnerImport, *, actor: Actor, reason: str = "") -> None:
    _delete_files_on_commit(learner_import)
    _set_state(learner_import, LearnerImport.State.ABANDONED, upload="", plan="")
    audit_record(actor=actor, action="learner_import.abandon", target=learner_import, reason=reason)


# An uploaded file holds plaintext ID numbers: kept this long at most while nobody confirms it.
KEEP_UNCONFIRMED = timedelta(days=7)
UNCONFIRMED_REASON = f"unconfirmed for {KEEP_UNCONFIRMED.days} days"

ImportRecord = TypeVar("ImportRecord", bound=models.Model)


def imports_expire(
    unconfirmed: models.QuerySet[ImportRecord],
    *,
    now: datetime | None,
    may_be_abandoned: Callable[[ImportRecord], bool],
    abandon: Callable[[ImportRecord], None],
) -> int:
    """Abandon the `unconfirmed` imports (learners' or credits') whose `updated_at` is older
    than KEEP_UNCONFIRMED, one transaction each; returns how many.

    Each is read again under its lock and must still be old and abandonable, so an officer
    who confirms it meanwhile wins. One locked by a recording that still runs is left for the
    next night rather than waited for.
    """
    now = now or timezone.now()
    stale = unconfirmed.filter(updated_at__lt=now - KEEP_UNCONFIRMED)
    expired = 0
    for pk in list(stale.values_list("pk", flat=True)):
        with transaction.atomic():
            locked = stale.select_for_update(skip_locked=True, of=("self",)).filter(pk=pk).first()
            if locked is None or not may_be_abandoned(locked):
                continue
            abandon(locked)
        expired += 1
    return expired


def learner_imports_expire(*, actor: Actor, now: datetime | None = None) -> int:
    """Abandon imports left unconfirmed for a week, so their uploaded files (plaintext ID
    numbers) do not stay on the server. Run nightly by the queue."""
    return imports_expire(
        # Also an import still marked as being checked or applied: one whose worker died is
        # abandonable (import_may_be_abandoned), and its file would otherwise stay for ever.
        LearnerImport.objects.filter(
            state__in=(*ABANDONABLE, LearnerImport.State.CHECKING, LearnerImport.State.APPLYING)
        ).select_related("district", "job"),
        now=now,
        may_be_abandoned=import_may_be_abandoned,
        abandon=partial(_abandon, actor=actor, reason=UNCONFIRMED_REASON),
    )


# --- Applying -----------------------------------------------------------------------------


class _Stale(Exception):
    def __init__(self, rows: list[int]) -> None:
        self.rows = rows


def _plan_lines(learner_import: LearnerImport) -> Iterator[dict[str, Any]]:
    with learner_import.plan.open("rb") as stored, gzip.GzipFile(fileobj=stored) as plan:
        for line in plan:
            yield json.loads(line)


def _plan_batches(
    learner_import: LearnerImport, size: int | None = None
) -> Iterator[list[dict[str, Any]]]:
    """The planned rows, a batch at a time: rows of people already held first, then new ones
    (the error rows kept for the error file, at the start of the plan, are left out)."""
    size = size or BATCH_SIZE
    batch: list[dict[str, Any]] = []
    for line in _plan_lines(learner_import):
        if line["do"] in ("header", "error"):
            continue
        batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _still_as_planned(
    line: dict[str, Any], holder: dict[str, Any] | None, district: Region
) -> bool:
    if line["do"] == "new":
        return holder is None
    if holder is None or holder["pk"] != line["learner"]:
        return False
    if holder["district_id"] != district.pk or holder["status"] != Learner.Status.COLLECTED:
        return False
    if _stamp(holder["updated_at"]) != line["stamp"]:
        return False
    return all(holder[name] == old for name, (old, _new) in line.get("changes", {}).items())


def _rows_no_longer_as_planned(learner_import: LearnerImport) -> list[int]:
    """After an apply failed: the planned rows the database no longer agrees with (read only)."""
    district = learner_import.district
    stale = []
    for lines in _plan_batches(learner_import):
        holders = _learners_by_hash([line["hash"] for line in lines])
        stale.extend(
            line["row"]
            for line in lines
            if not _still_as_planned(line, holders.get(line["hash"]), district)
        )
    return sorted(stale)


def _next_ids(model: type[models.Model], count: int) -> list[int]:
    """Reserve `count` primary keys from a PostgreSQL table's own sequence."""
    table, column = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, column, count],
        )
        return [row[0] for row in cursor.fetchall()]


# COPY's text format: a tab between fields, a newline after each row, \N for NULL, and these
# four characters escaped inside a value.
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _copy_text(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    text = value if isinstance(value, str) else str(value)
    if _COPY_SPECIAL.search(text) is None:
        return text
    return _COPY_SPECIAL.sub(lambda match: _COPY_ESCAPES[match.group()], text)


def _copy(model: type[models.Model], fields: list[str], lines: list[str]) -> None:
    """PostgreSQL: rows already in COPY's text format, one statement for all of them.

    Written here rather than through psycopg's write_row, which adapts every value of every
    row by its type; an import's rows are a few shapes known in advance.
    """
    if not lines:
        return
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
    copy_sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    # The driver's own cursor: Django's wrapper would not turn its errors into IntegrityError.
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(copy_sql) as copy,
    ):
        copy.write("".join(lines))


def _insert(model: type[models.Model], fields: list[str], rows: list[list[Any]]) -> None:
    """Multi-row INSERTs (COPY on PostgreSQL) of values already in their database form.

    The ORM's bulk_create prepares every value of every row in Python, which costs more than
    the database does for an import of 100,000 people; here constants are prepared once.
    """
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy(model, fields, ["\t".join(map(_copy_text, row)) + "\n" for row in rows])
        return
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = min(1000, (connection.features.max_query_params or 65535) // len(fields))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            cursor.execute(
                f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES "  # noqa: S608
                + ", ".join([placeholder] * len(chunk)),
                [value for row in chunk for value in row],
            )


_LEARNER_INSERT = [
    "id_number_encrypted",
    "id_number_hash",
    "id_number_masked",
    "birth_date",
    "gender",
    *COMPARED_FIELDS,
    "district",
    "status",
    "collected_at",
    "updated_at",
]
_STATUS_INSERT = [
    "learner",
    "from_status",
    "to_status",
    "to_district",
    "reason",
    "changed_by",
    "changed_at",
]
_AUDIT_INSERT = [
    "created_at",
    "actor",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "region_path",
    "changes",
    "reason",
    "ip",
]


class _Batch(list):
    """Planned lines, with the COPY text of their new people when it was made ahead."""

    copy_text: tuple[list[str], list[str]] | None = None


def _read_ahead(
    batches: Iterator[list[dict[str, Any]]], prepare: Callable[[list[dict[str, Any]]], _Batch]
) -> Iterator[_Batch]:
    """Read and prepare the next batch in a thread while the caller writes this one.

    Writing is the database's work, and the driver lets go of the GIL while it waits, so the
    plan's decompression, parsing and text making run beside it instead of between batches.
    The thread touches no database connection.
    """

    def step() -> _Batch | None:
        lines = next(batches, None)
        return None if lines is None else prepare(lines)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-apply") as pool:
        try:
            future = pool.submit(step)
            while (batch := future.result()) is not None:
                future = pool.submit(step)
                yield batch
        finally:
            future.cancel()
            pool.shutdown(wait=True)
            batches.close()  # type: ignore[attr-defined]


@dataclass
class _Writer:
    """Writes one batch of planned rows: learners, their status history and audit entries."""

    actor: Actor
    learner_import: LearnerImport
    district_label: str
    reason: str
    created: int = 0
    updated: int = 0

    def __post_init__(self) -> None:
        ops = connection.ops
        self.now = timezone.now()
        self.now_db = ops.adapt_datetimefield_value(self.now)
        self.ip_db = AuditEntry._meta.get_field("ip").get_db_prep_save(self.actor.ip, connection)
        self.changes_field = AuditEntry._meta.get_field("changes")
        self.user_id = self.actor.user.pk if self.actor.user is not None else None
        self.copies = connection.vendor == "postgresql"
        if self.copies:
            # What every new row of each table shares, in COPY's text format, made once.
            district = self.learner_import.district
            now, user = self.now.isoformat(), _copy_text(self.user_id)
            status = Learner.Status.COLLECTED.value
            self.learner_tail = f"\t{district.pk}\t{status}\t{now}\t{now}\n"
            self.status_tail = (
                f"\t\t{status}\t{district.pk}\t{_copy_text(self.reason)}\t{user}\t{now}\n"
            )
            self.audit_head = "\t".join(
                [
                    now,
                    user,
                    _copy_text(self.actor.label[:150]),
                    "learner.collect",
                    Learner._meta.label_lower,
                    "",
                ]
            )
            self.audit_tail = f"\t{_copy_text(self.reason)}\t{_copy_text(self.ip_db)}\n"
            self.region_path = _copy_text(district.path)

    def _audit_row(self, action: str, learner_id: int, label: str, changes: dict) -> list[Any]:
        return [
            self.now_db,
            self.user_id,
            self.actor.label[:150],
            action,
            Learner._meta.label_lower,
            str(learner_id),
            label[:200],
            self.learner_import.district.path,
            self._changes(changes),
            self.reason,
            self.ip_db,
        ]

    def _changes(self, changes: dict) -> Any:
        if self.copies:
            return json.dumps(changes, ensure_ascii=False)
        return self.changes_field.get_db_prep_save(changes, connection)

    def write(self, lines: list[dict[str, Any]], holders: dict[str, dict[str, Any]]) -> None:
        new = [line for line in lines if line["do"] == "new"]
        audits: list[list[Any]] = []
        if new:
            if self.copies:
                self._copy_new(new, lines if isinstance(lines, _Batch) else _Batch(lines))
            else:
                audits.extend(self._insert_new(new))
        changed = []
        for line in lines:
            if line["do"] != "update":
                continue
            holder = holders[line["hash"]]
            learner = Learner(
                pk=holder["pk"],
                updated_at=self.now,
                **{name: holder[name] for name in COMPARED_FIELDS},
            )
            for name, (_old, value) in line["changes"].items():
                setattr(learner, name, value)
            changed.append(learner)
            before = {name: old for name, (old, _new) in line["changes"].items()}
            after = {name: new for name, (_old, new) in line["changes"].items()}
            audits.append(
                self._audit_row(
                    "learner.update",
                    holder["pk"],
                    f"{learner.name} {holder['id_number_masked']}",
                    {"before": before, "after": after},
                )
            )
        if changed:
            Learner.objects.bulk_update(changed, [*COMPARED_FIELDS, "updated_at"])
        _insert(AuditEntry, _AUDIT_INSERT, audits)
        self.created += len(new)
        self.updated += len(changed)

    def prepare(self, lines: list[dict[str, Any]]) -> _Batch:
        """The COPY text of a batch's new people, all but their ids. Pure Python, so the
        apply runs it in a thread one batch ahead while the database writes the last one."""
        batch = _Batch(lines)
        if not self.copies:
            return batch
        learners, audits = [], []
        snapshot, changes_text = self._snapshot, self._changes
        learner_tail, region = self.learner_tail, f"\t{self.region_path}\t"
        for line in batch:
            if line["do"] != "new":
                continue
            values = line["values"]
            masked = line["masked"]
            # The hash, cipher text, masked number, date and gender come from the check in
            # forms that need no escaping; the person's values may hold any character.
            fields = [
                line["encrypted"],
                line["hash"],
                masked,
                line["birth_date"],
                line["gender"],
                *[_copy_text(values[name]) for name in COMPARED_FIELDS],
            ]
            learners.append("\t".join(fields) + learner_tail)
            label = _copy_text(f"{values['name']} {masked}"[:200])
            changes = _copy_text(changes_text({"after": snapshot(masked, values)}))
            audits.append(f"{label}{region}{changes}{self.audit_tail}")
        batch.copy_text = (learners, audits)
        return batch

    def _copy_new(self, new: list[dict[str, Any]], batch: _Batch) -> None:
        """PostgreSQL: the new learners, their first status and their audit entries by COPY,
        with ids taken from the sequence first so that nothing need be read back."""
        if batch.copy_text is None:
            batch = self.prepare(batch)
        learners, audits = batch.copy_text  # type: ignore[misc]
        pks = _next_ids(Learner, len(new))
        _copy(
            Learner,
            ["id", *_LEARNER_INSERT],
            [f"{pk}\t{rest}" for pk, rest in zip(pks, learners, strict=True)],
        )
        _copy(LearnerStatusChange, _STATUS_INSERT, [f"{pk}{self.status_tail}" for pk in pks])
        head = self.audit_head
        _copy(
            AuditEntry,
            _AUDIT_INSERT,
            [f"{head}{pk}\t{rest}" for pk, rest in zip(pks, audits, strict=True)],
        )

    def _insert_new(self, new: list[dict[str, Any]]) -> list[list[Any]]:
        """Other databases: insert the new learners, read their ids back by hash, then their
        first status; returns their audit rows."""
        district = self.learner_import.district
        status = Learner.Status.COLLECTED
        adapt_date = connection.ops.adapt_datefield_value
        _insert(
            Learner,
            _LEARNER_INSERT,
            [
                [
                    line["encrypted"],
                    line["hash"],
                    line["masked"],
                    adapt_date(date.fromisoformat(line["birth_date"])),
                    line["gender"],
                    *(line["values"][name] for name in COMPARED_FIELDS),
                    district.pk,
                    status,
                    self.now_db,
                    self.now_db,
                ]
                for line in new
            ],
        )
        ids = dict(
            Learner.objects.filter(id_number_hash__in=[line["hash"] for line in new])
            .values_list("id_number_hash", "pk")
            .iterator()
        )
        _insert(
            LearnerStatusChange,
            _STATUS_INSERT,
            [
                [ids[line["hash"]], "", status, district.pk, self.reason, self.user_id, self.now_db]
                for line in new
            ],
        )
        return [
            self._audit_row(
                "learner.collect",
                ids[line["hash"]],
                f"{line['values']['name']} {line['masked']}",
                {"after": self._snapshot(line["masked"], line["values"])},
            )
            for line in new
        ]

    def _snapshot(self, masked: str, values: dict[str, Any]) -> dict[str, Any]:
        # The same shape as `snapshot(learner, LEARNER_AUDIT_FIELDS)` in the collect service.
        return {
            "id_number_masked": masked,
            **{name: values[name] for name in COMPARED_FIELDS},
            "district": self.district_label,
            "status": Learner.Status.COLLECTED.value,
        }


@dataclass
class ApplyResult:
    applied: bool
    created: int = 0
    updated: int = 0
    stale_rows: list[int] = field(default_factory=list)


def learner_import_apply(
    *, actor: Actor, learner_import: LearnerImport, progress: Progress
) -> ApplyResult:
    """Write exactly the checked plan, in one transaction, or nothing.

    The rows of people already held are verified against the database first, with their
    records locked: one changed since the check makes the whole import stop with the rows
    named, and the officer checks the file again. New people are written without looking
    them up again: the unique ID-number hash refuses anyone collected meanwhile, the
    transaction is rolled back and the rows concerned are then looked for and named.
    """
    learner_import = LearnerImport.objects.select_related("district").get(pk=learner_import.pk)
    if learner_import.state != LearnerImport.State.APPLYING:
        raise ValidationError(_("This import is not being applied."))
    district = learner_import.district
    with translation.override(settings.LANGUAGE_CODE):
        writer = _Writer(
            actor=actor,
            learner_import=learner_import,
            district_label=f"{district} #{district.pk}",
            reason=str(_("Imported from the file %(file)s")) % {"file": learner_import.file_name},
        )
    total = learner_import.new_count + learner_import.updated_count + learner_import.unchanged_count
    progress(0, total=total, message=str(_("Importing")))
    done = 0
    stale: list[int] = []
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    # Check each batch's references as it is written rather than all of
                    # them at the commit, so the progress bar follows the real work.
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            batches = _plan_batches(learner_import, APPLY_BATCH_SIZE)
            for lines in _read_ahead(batches, writer.prepare):
                held = [line for line in lines if line["do"] != "new"]
                holders = _learners_by_hash([line["hash"] for line in held], lock=True)
                stale.extend(
                    line["row"]
                    for line in held
                    if not _still_as_planned(line, holders.get(line["hash"]), district)
                )
                if stale:
                    if not held:
                        break  # only new people follow: they are looked for after the rollback
                    continue  # after the first difference only look for more, write nothing
                writer.write(lines, holders)
                done += len(lines)
                progress(done)
            if stale:
                raise _Stale(stale)
            _delete_files_on_commit(learner_import)
            _set_state(
                learner_import,
                LearnerImport.State.APPLIED,
                applied_at=timezone.now(),
                upload="",
                plan="",
                message={},
            )
            audit_record(
                actor=actor,
                action="learner.import",
                target=learner_import,
                after={
                    "file": learner_import.file_name,
                    "new": writer.created,
                    "updated": writer.updated,
                    "unchanged": learner_import.unchanged_count,
                    "errors": learner_import.error_count,
                },
            )
    except (_Stale, IntegrityError):
        rows = sorted(set(stale) | set(_rows_no_longer_as_planned(learner_import)))
        if rows:
            message = in_each_language(
                _(
                    "Nothing was imported: since the check, records of %(count)s rows changed "
                    "(rows %(rows)s). Check the file again."
                ),
                {"count": len(rows), "rows": _row_list(rows)},
            )
        else:  # a collection that clashed with this import and was then rolled back
            message = in_each_language(
                _(
                    "Nothing was imported: someone collected one of these people while the "
                    "import ran. Check the file again."
                )
            )
        _set_state(learner_import, LearnerImport.State.STALE, message=message)
        return ApplyResult(applied=False, stale_rows=rows)
    return ApplyResult(applied=True, created=writer.created, updated=writer.updated)


def _row_list(rows: list[int], shown: int = 20) -> str:
    text = ", ".join(str(row) for row in rows[:shown])
    return text + ("…" if len(rows) > shown else "")


# --- Files for the officer ----------------------------------------------------------------


def template_xlsx() -> bytes:
    """The import template: Chinese headers, text-formatted number columns, a level list."""
    import openpyxl
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "学员"
    sheet.append([column.chinese for column in COLUMNS])
    text_columns = {"id_number", "mobile", "employer_uscc", "certificate_number"}
    for index, column in enumerate(COLUMNS, start=1):
        letter = openpyxl.utils.get_column_letter(index)
        sheet.cell(row=1, column=index).font = Font(bold=True)
        sheet.column_dimensions[letter].width = 22 if column.field != "employer_name" else 36
        if column.field in text_columns:
            # Text, so that Excel keeps all 18 digits of an ID number.
            for row in range(2, 2001):
                sheet.cell(row=row, column=index).number_format = "@"
    level_column = openpyxl.utils.get_column_letter(
        [c.field for c in COLUMNS].index("qualification_level") + 1
    )
    levels = DataValidation(type="list", formula1='"无,初级,中级,高级,正高级"', allow_blank=False)
    sheet.add_data_validation(levels)
    levels.add(f"{level_column}2:{level_column}{MAX_ROWS + 1}")
    sheet.freeze_panes = "A2"
    notes = workbook.create_sheet("填写说明")
    for line in TEMPLATE_NOTES:
        notes.append([line])
    notes.column_dimensions["A"].width = 100
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


TEMPLATE_NOTES = [
    "每行一人，第一行为列名，请勿修改列名。只读取第一个工作表。",
    "身份证号：18位居民身份证号码（末位可为X），15位旧号码自动转换。",
    "姓名：与身份证一致，少数民族姓名各部分之间用间隔号（·）。",
    "手机号：11位大陆手机号码。",
    "工作单位：单位全称；统一社会信用代码：18位，可不填。",
    "会计专业技术资格：无、初级、中级、高级、正高级。",
    "证书编号、取得年份：有资格者填写取得年份（四位数字）。",
    "已在本区采集的人员：信息有变化的将被更新，相同的保持不变；其他区已采集的人员不能导入。",
    "每个文件最多 200,000 行、20 MB。支持 .xlsx 和 .csv（UTF-8 或 GB18030）。",
]


def template_csv() -> bytes:
    return ("\ufeff" + ",".join(column.chinese for column in COLUMNS) + "\r\n").encode("utf-8")


def error_rows_xlsx(learner_import: LearnerImport) -> bytes:
    """The rows with errors, as they were uploaded, with an extra column naming every error.

    The check keeps those rows in the plan, encrypted, so a download reads only them; an
    import checked before it did so reads them from the uploaded file again.
    """
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    reasons = {
        error.row_number: _error_text(error.messages)
        for error in LearnerImportError.objects.filter(learner_import=learner_import)
    }
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("错误行")

    def text_row(values: tuple[Any, ...] | list[Any], reason: str) -> list[WriteOnlyCell]:
        cells = []
        for value in (*values, reason):
            cell = WriteOnlyCell(sheet, value=_text(value) if value is not None else None)
            cell.number_format = "@"
            cells.append(cell)
        return cells

    stored = _stored_error_rows(learner_import)
    if stored is not None:
        header, error_rows = stored
        sheet.append(text_row(header, str(_("Errors"))))
        for number, cells in error_rows:
            if number in reasons:
                sheet.append(text_row(cells, reasons[number]))
    else:
        with learner_import.upload.open("rb") as source:
            sheet_rows = read_sheet(source, learner_import.file_format)
            header = [v for v in sheet_rows.header if not _is_error_header(v)]
            sheet.append(text_row(header, str(_("Errors"))))
            width = len(header)
            for number, values in sheet_rows.rows:
                if number in reasons:
                    padded = (*values[:width], *([None] * (width - len(values[:width]))))
                    sheet.append(text_row(padded, reasons[number]))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _stored_error_rows(
    learner_import: LearnerImport,
) -> tuple[list[Any], list[tuple[int, list[Any]]]] | None:
    """The header and the error rows the check kept at the start of the plan, or None when
    the plan has none (checked by an earlier version) or they no longer decrypt."""
    if not learner_import.plan:
        return None
    lines = _plan_lines(learner_import)
    try:
        first = next(lines, None)
        if first is None or first["do"] != "header":
            return None
        error_rows = []
        for line in lines:
            if line["do"] != "error":
                break
            cells = json.loads(decrypt(line["cells"], purpose=ERROR_ROW_PURPOSE))
            error_rows.append((line["row"], cells))
    except DecryptionError:
        return None
    finally:
        lines.close()
    return first["cells"], error_rows


def _is_error_header(value: Any) -> bool:
    # The error column of an earlier download, uploaded again: drop it, a new one follows.
    return _header_key(_text(value)) in {"错误", "errors"}


def _error_text(messages: RowErrors) -> str:
    parts = []
    for field_name, texts in messages.items():
        column = COLUMN_BY_FIELD.get(field_name)
        label = column.label if column else field_name
        parts.append(f"{label}：{' '.join(in_current_language(texts))}")
    return "；".join(parts)


def row_error_lines(messages: RowErrors) -> list[tuple[str, list[str]]]:
    """(column name, messages) of one error row, in the reader's language, for the page."""
    lines = []
    for field_name, texts in messages.items():
        column = COLUMN_BY_FIELD.get(field_name)
        lines.append((column.label if column else field_name, in_current_language(texts)))
    return lines
