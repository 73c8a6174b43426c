"""Reading the rows of an import workbook's first sheet quickly, with openpyxl's values.

openpyxl reads the workbook's structure here (which part is the first sheet, which styles
are dates, the date epoch). The rows and the shared strings, which are nearly all of the
work, are read with the standard library's C XML parser instead of openpyxl's per-cell
objects: about three times faster, with the values openpyxl's read-only mode gives
(`iter_rows(values_only=True)`; the tests compare the two on every kind of cell).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any
from xml.etree.ElementTree import Element, fromstring

from openpyxl.reader.excel import ExcelReader
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.xml.constants import SHARED_STRINGS

Row = tuple[int, tuple[Any, ...]]
_BLOCK = 256 * 1024
# What may come before the rows (column widths, views...): far less than this.
_HEAD_LIMIT = 16 * 1024 * 1024


@dataclass
class Worksheet:
    """The first worksheet of a workbook and what reading its cells needs."""

    archive: Any  # zipfile.ZipFile
    path: str
    shared_strings: list[str]
    epoch: Any
    date_styles: frozenset[int]
    timedelta_styles: frozenset[int]
    dimension_rows: int


class _StructureReader(ExcelReader):  # type: ignore[misc]
    """openpyxl's reader for everything but the shared strings, which are read below."""

    def read_strings(self) -> None:
        part = self.package.find(SHARED_STRINGS)
        if part is not None:
            with self.archive.open(part.PartName[1:]) as source:
                self.shared_strings = _shared_strings(source)


def open_worksheet(source: IO[bytes]) -> Worksheet:
    reader = _StructureReader(source, read_only=True, data_only=True)
    reader.read()
    workbook = reader.wb
    sheet = workbook.worksheets[0]
    return Worksheet(
        archive=reader.archive,
        path=sheet._worksheet_path,
        shared_strings=reader.shared_strings,
        epoch=workbook.epoch,
        date_styles=frozenset(workbook._date_formats),
        timedelta_styles=frozenset(workbook._timedelta_formats),
        dimension_rows=sheet.max_row or 0,
    )


def _containers(source: IO[bytes], container: str, item: str) -> Iterator[Element]:
    """The `container` element (sheetData, sst) of a part, again and again, each time with
    the next run of complete `item` children (row, si) and nothing else.

    The part is cut into runs of items at their end tags and each run is parsed whole by
    the C parser, framed by the part's own opening (which declares its namespaces): no
    Python code runs per XML element, and no more than one run is in memory at a time.
    """
    head = b""
    while True:  # find the opening tag of the container
        block = source.read(_BLOCK)
        head += block
        match = re.search(rb"<(\w+:)?" + container.encode() + rb"\b[^>]*?(/?)>", head)
        if match or not block or len(head) > _HEAD_LIMIT:
            break
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        # A workbook part never declares entities; one that does may expand without end.
        raise ValueError("A document type declaration in a workbook part.")
    if match is None or match.group(2):  # no container, or an empty one
        return
    prefix = match.group(1) or b""
    rest = head[match.end() :]
    head = head[: match.end()]
    root = re.search(rb"<(\w+:)?(\w+)\b", re.sub(rb"<\?.*?\?>", b"", head, flags=re.S))
    closing = b"</" + prefix + container.encode() + b"></" + root.group(0)[1:] + b">"
    item_end = b"</" + prefix + item.encode() + b">"
    container_end = b"</" + prefix + container.encode() + b">"
    while True:
        block = source.read(_BLOCK)
        rest += block
        finished = container_end in rest or not block
        if finished:
            rest = rest.split(container_end, 1)[0]
            cut = len(rest)
        else:
            cut = rest.rfind(item_end)
            if cut < 0:
                continue
            cut += len(item_end)
        if rest[:cut].strip():
            # Entities and external references were refused above.
            parsed = fromstring(head + rest[:cut] + closing)  # noqa: S314
            yield parsed[-1]
        rest = rest[cut:]
        if finished:
            return


def _string(box: Element, text_tag: str, run_tag: str) -> str:
    """The text of a string item (<si> or <is>): its plain text and its runs, not phonetic
    guides, as openpyxl's `Text.content`."""
    if len(box) == 1 and box[0].tag == text_tag:
        return box[0].text or ""
    parts = []
    for child in box:
        if child.tag == text_tag:
            parts.append(child.text or "")
        elif child.tag == run_tag:
            text = child.find(text_tag)
            if text is not None:
                parts.append(text.text or "")
    return "".join(parts)


def _namespace(element: Element) -> str:
    return element.tag[: element.tag.index("}") + 1] if element.tag[0] == "{" else ""


def _shared_strings(source: IO[bytes]) -> list[str]:
    strings = []
    for table in _containers(source, "sst", "si"):
        namespace = _namespace(table)
        text_tag, run_tag = namespace + "t", namespace + "r"
        for item in table:
            # As openpyxl's string table does.
            strings.append(_string(item, text_tag, run_tag).replace("x005F_", ""))
    return strings


_COLUMNS: dict[str, int] = {}


def _column(reference: str) -> int:
    letters = reference.rstrip("0123456789")
    number = _COLUMNS.get(letters)
    if number is None:
        number = 0
        for letter in letters:
            number = number * 26 + ord(letter) - 64
        _COLUMNS[letters] = number
    return number


def rows(sheet: Worksheet) -> Iterator[Row]:
    """(row number, cell values) of every row present in the sheet, in order. A row's
    values run from column A to its last cell; cells not in the file are None."""
    strings = sheet.shared_strings
    dates, timedeltas, epoch = sheet.date_styles, sheet.timedelta_styles, sheet.epoch
    number = 0
    with sheet.archive.open(sheet.path) as source:
        for data in _containers(source, "sheetData", "row"):
            namespace = _namespace(data)
            row_tag, value_tag = namespace + "row", namespace + "v"
            box_tag, text_tag, run_tag = namespace + "is", namespace + "t", namespace + "r"
            for row in data:
                if row.tag != row_tag:
                    continue
                reference = row.get("r")
                number = int(reference) if reference else number + 1
                values: list[Any] = []
                column = 0
                for cell in row:
                    attributes = cell.attrib
                    reference = attributes.get("r")
                    column = _column(reference) if reference else column + 1
                    kind = attributes.get("t", "n")
                    if kind == "inlineStr":
                        box = cell.find(box_tag)
                        value = None if box is None else _string(box, text_tag, run_tag)
                    else:
                        value = cell.findtext(value_tag) or None
                        if value is not None:
                            if kind == "n":
                                value = (
                                    float(value)
                                    if "." in value or "E" in value or "e" in value
                                    else int(value)
                                )
                                style = attributes.get("s")
                                if style and int(style) in dates:
                                    value = from_excel(
                                        value, epoch, timedelta=int(style) in timedeltas
                                    )
                            elif kind == "s":
                                value = strings[int(value)]
                            elif kind == "b":
                                value = bool(int(value))
                            elif kind == "d":
                                value = from_ISO8601(value)
                    if column > len(values):  # cells come in order, with gaps left out
                        values.extend([None] * (column - len(values) - 1))
                        values.append(value)
                    else:
                        values[column - 1] = value
                yield number, tuple(values)
