"""Reading import files: XLSX and CSV in their encodings, headers, and files that are refused."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time, timedelta

import openpyxl
import pytest
from django.utils import translation

from cpe.registry import import_xlsx, imports
from cpe.registry.import_forms import LearnerImportUploadForm
from cpe.registry.import_samples import HEADERS_EN, HEADERS_ZH
from cpe.registry.imports import FileRefused, inspect_upload, read_sheet
from cpe.registry.models import LearnerImport
from cpe.registry.tests.conftest import checked, csv_bytes, rows, upload, xlsx

PEOPLE = rows(3)


def _read(content: bytes, file_format: str) -> list[tuple[int, tuple]]:
    sheet = read_sheet(io.BytesIO(content), file_format)
    return [
        (number, tuple(sheet.columns[i] for i in sorted(sheet.columns))) for number, _ in sheet.rows
    ]


def _names(content: bytes, file_format: str) -> list[str]:
    sheet = read_sheet(io.BytesIO(content), file_format)
    index = next(i for i, name in sheet.columns.items() if name == "name")
    return [values[index] for _number, values in sheet.rows]


def test_an_xlsx_file_is_read_with_the_row_numbers_excel_shows_skipping_blank_rows():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADERS_ZH)
    sheet.append(PEOPLE[0])
    sheet.append([None] * 8)
    sheet.append(PEOPLE[1])
    out = io.BytesIO()
    workbook.save(out)
    numbers = [number for number, _ in read_sheet(io.BytesIO(out.getvalue()), "xlsx").rows]
    assert numbers == [2, 4]


def test_english_headers_and_a_different_column_order_are_understood():
    order = [5, 0, 1, 2, 3, 4, 6, 7]
    content = csv_bytes(
        [[row[i] for i in order] for row in PEOPLE], headers=[HEADERS_EN[i] for i in order]
    )
    sheet = read_sheet(io.BytesIO(content), "csv")
    assert sheet.columns[0] == "qualification_level" and sheet.columns[1] == "id_number"
    assert len(list(sheet.rows)) == 3


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_csv_is_read_in_utf8_with_or_without_bom_and_in_gb18030(encoding):
    content = csv_bytes(PEOPLE, encoding=encoding)
    assert inspect_upload("people.csv", content[:65536]) == "csv"
    assert _names(content, "csv") == [row[1] for row in PEOPLE]


def test_the_headers_of_a_bom_csv_are_not_spoilt_by_the_mark():
    content = csv_bytes(PEOPLE, encoding="utf-8-sig")
    assert content.startswith(b"\xef\xbb\xbf")
    assert "id_number" in read_sheet(io.BytesIO(content), "csv").columns.values()


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("people.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "save it as .xlsx"),
        ("people.xlsx", b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "save it as .xlsx"),
        ("people.xlsx", b"name,mobile\n", "not an Excel workbook"),
        ("people.csv", b"\x89PNG\r\n\x1a\n\x00\x00", "not a text file"),
        ("people.csv", b"PK\x03\x04rest of a zip", "not a text file"),
        ("people.pdf", b"%PDF-1.7", "Upload an Excel workbook (.xlsx) or a CSV file"),
        ("people", b"plain", "Upload an Excel workbook (.xlsx) or a CSV file"),
    ],
)
def test_files_of_the_wrong_type_are_refused_with_a_reason(name, content, reason):
    with translation.override("en"), pytest.raises(FileRefused) as refused:
        inspect_upload(name, content)
    assert reason in str(refused.value)


def test_a_csv_that_is_neither_utf8_nor_gb18030_is_refused():
    with translation.override("en"), pytest.raises(FileRefused, match="neither UTF-8 nor GB18030"):
        inspect_upload("people.csv", b"\x81\x20\xff\xfe\x80")


def test_a_zip_that_is_not_a_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with translation.override("en"), pytest.raises(FileRefused, match="not an Excel workbook"):
        read_sheet(io.BytesIO(out.getvalue()), "xlsx")


def test_a_truncated_workbook_is_refused_as_damaged():
    content = xlsx(PEOPLE)
    with translation.override("en"), pytest.raises(FileRefused, match="damaged"):
        read_sheet(io.BytesIO(content[: len(content) // 2]), "xlsx")


def test_a_file_without_the_required_columns_is_refused_naming_them():
    content = csv_bytes([["张三", "13800138000"]], headers=["姓名", "手机号"])
    with translation.override("zh-hans"), pytest.raises(FileRefused) as refused:
        read_sheet(io.BytesIO(content), "csv")
    message = str(refused.value)
    assert "身份证号" in message and "工作单位" in message and "会计专业技术资格" in message
    assert "姓名" not in message.split("：", 1)[-1].split("。")[0]


def test_a_column_named_twice_is_refused():
    content = csv_bytes([], headers=[*HEADERS_ZH, "姓名"])
    with translation.override("en"), pytest.raises(FileRefused, match="appears twice"):
        read_sheet(io.BytesIO(content), "csv")


def test_an_empty_file_is_refused():
    with translation.override("en"), pytest.raises(FileRefused, match="empty"):
        read_sheet(io.BytesIO(b"\xef\xbb\xbf\r\n,,,\r\n"), "csv")


def test_a_file_with_more_rows_than_the_limit_is_refused(monkeypatch, officer):
    monkeypatch.setattr(imports, "MAX_ROWS", 5)
    learner_import = checked(officer, csv_bytes(rows(6)), "people.csv")
    assert learner_import.state == LearnerImport.State.REFUSED
    assert "5" in learner_import.message["en"] and "Split it" in learner_import.message["en"]
    assert "拆分" in learner_import.message["zh-hans"]
    assert not learner_import.row_errors.exists()


def test_a_malformed_csv_is_refused_by_the_check_with_the_row(officer):
    content = csv_bytes(rows(2)) + b'"' + b"x" * 200_000 + b'"\r\n'
    learner_import = checked(officer, content, "people.csv")
    assert learner_import.state == LearnerImport.State.REFUSED
    assert "row 4" in learner_import.message["en"]


def test_an_upload_larger_than_the_limit_is_refused_by_the_form(db):
    big = upload(b"a" * (imports.MAX_UPLOAD_BYTES + 1), "people.csv")
    form = LearnerImportUploadForm(data={}, files={"file": big})
    with translation.override("en"):
        assert not form.is_valid()
        assert "larger than 20 MB" in form.errors["file"][0]


def test_the_form_refuses_a_file_of_the_wrong_type_in_chinese_by_default(db):
    form = LearnerImportUploadForm(data={}, files={"file": upload(b"%PDF", "people.pdf")})
    with translation.override("zh-hans"):
        assert not form.is_valid()
        assert ".xlsx" in form.errors["file"][0] and "上传" in form.errors["file"][0]


def test_the_xlsx_template_has_the_chinese_headers_and_text_columns():
    workbook = openpyxl.load_workbook(io.BytesIO(imports.template_xlsx()))
    sheet = workbook.worksheets[0]
    assert [cell.value for cell in sheet[1]] == HEADERS_ZH
    assert sheet["A2"].number_format == "@"
    assert read_sheet(io.BytesIO(imports.template_xlsx()), "xlsx").columns == dict(
        enumerate(c.field for c in imports.COLUMNS)
    )


def test_the_csv_template_is_utf8_with_bom_and_reads_back():
    content = imports.template_csv()
    assert content.startswith("\ufeff身份证号,姓名".encode())
    assert len(read_sheet(io.BytesIO(content), "csv").columns) == 8


def _openpyxl_rows(content: bytes) -> list[tuple]:
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    sheet = workbook.worksheets[0]
    sheet.reset_dimensions()
    return [
        (number, tuple(values))
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        if values
    ]


def _fast_rows(content: bytes) -> list[tuple]:
    sheet = import_xlsx.open_worksheet(io.BytesIO(content))
    return [(number, values) for number, values in import_xlsx.rows(sheet) if values]


def test_the_fast_xlsx_reader_gives_the_values_openpyxl_gives_for_every_kind_of_cell():
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["身份证号", "姓名", 1, 2.5, True, None, date(2020, 1, 2), datetime(2021, 3, 4)])
    sheet.append([])
    sheet.append([None, None, "only C"])
    sheet["A5"], sheet["B5"], sheet["C5"] = "=1+2", 1e20, -3
    sheet["D5"], sheet["E5"] = "a&b<c>\"'", "  spaced  "
    sheet["A6"] = CellRichText(["plain ", TextBlock(InlineFont(b=True), "bold"), " tail"])
    sheet["B6"], sheet["C6"], sheet["D6"] = time(13, 30), timedelta(hours=30), False
    sheet["H9"], sheet["A10"], sheet["B10"] = "far", "x005F_y", ""
    sheet.append(["after", "a", "gap"])
    out = io.BytesIO()
    workbook.save(out)  # shared strings, as Excel writes them
    assert _fast_rows(out.getvalue()) == _openpyxl_rows(out.getvalue())
    inline = xlsx(rows(50))  # inline strings, as the import samples write them
    assert _fast_rows(inline) == _openpyxl_rows(inline)


def test_an_xlsx_part_that_declares_entities_is_refused():
    content = xlsx(PEOPLE)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w") as target:
        for member in source.infolist():
            data = source.read(member)
            if member.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(
                    b"<worksheet", b'<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">]><worksheet', 1
                )
            target.writestr(member, data)
    with translation.override("en"), pytest.raises(FileRefused, match="damaged"):
        list(read_sheet(io.BytesIO(out.getvalue()), "xlsx").rows)
