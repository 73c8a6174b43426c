"""Generated people for import files: valid ID numbers, credit codes and mobiles, for tests
and the import benchmark. Deterministic for a given seed; nobody real."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterable, Iterator
from datetime import date, timedelta

from cpe.registry.identity import id_check_character, uscc_check_character

HEADERS_ZH = [
    "身份证号",
    "姓名",
    "手机号",
    "工作单位",
    "统一社会信用代码",
    "会计专业技术资格",
    "证书编号",
    "取得年份",
]
HEADERS_EN = [
    "ID number",
    "Name",
    "Mobile number",
    "Employer",
    "Unified social credit code",
    "Qualification level",
    "Certificate number",
    "Year obtained",
]
_DISTRICT_CODES = ["420102", "420103", "420104", "420105", "420106", "420111", "420115"]
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚"  # noqa: E501
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉梅红燕鹏辉晶"
_EMPLOYERS = [
    "会计师事务所",
    "商贸有限公司",
    "建设集团有限公司",
    "科技股份有限公司",
    "医院",
    "中学",
]
_LEVELS = ["无", "初级", "中级", "高级", "正高级"]
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def id_number(index: int) -> str:
    """A valid 18-digit number, unique per index (the sequence code carries the index)."""
    region = _DISTRICT_CODES[index % len(_DISTRICT_CODES)]
    # Birth date + 3-digit sequence give 1,000 people per day and region; spread by index.
    born = date(1960, 1, 1) + timedelta(days=(index // 1000) % (365 * 40))
    first17 = f"{region}{born:%Y%m%d}{index % 1000:03d}"
    return first17 + id_check_character(first17)


def uscc(rng: random.Random) -> str:
    first17 = "91" + "420102" + "".join(rng.choice(_USCC_CHARS) for _ in range(9))
    return first17 + uscc_check_character(first17)


def person(rng: random.Random, index: int) -> list[object]:
    """One row in the template's column order."""
    level = _LEVELS[index % len(_LEVELS)]
    return [
        id_number(index),
        rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice([1, 2]))),
        f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
        "武汉" + rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(_EMPLOYERS),
        uscc(rng),
        level,
        "" if level == "无" else f"ZG{index:08d}",
        "" if level == "无" else 2000 + index % 24,
    ]


def people(count: int, *, seed: int = 2026, start: int = 0) -> Iterator[list[object]]:
    rng = random.Random(seed)  # noqa: S311  (made-up people, not secrets)
    for index in range(start, start + count):
        yield person(rng, index)


def xlsx_bytes(rows: Iterable[list[object]], headers: list[str] = HEADERS_ZH) -> bytes:
    """A workbook as Excel writes it (shared strings, text cells)."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(
    rows: Iterable[list[object]],
    headers: list[str] = HEADERS_ZH,
    encoding: str = "utf-8-sig",
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)
