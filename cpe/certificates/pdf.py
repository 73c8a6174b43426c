"""The certificate as a PDF: A4, Simplified Chinese or English, the CJK font embedded (subset),
and a QR code to the public verification URL (also a link, and printed beside it)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import segno
from django.conf import settings
from django.utils import formats, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from fpdf import FPDF

from cpe.certificates import fonts
from cpe.certificates.models import Certificate
from cpe.certificates.selectors import verification_url

LANGUAGES = ("zh-hans", "en")
_PAGE_WIDTH = 210.0
_MARGIN = 22.0
_QR_SIZE = 36.0


def _credits(value: Decimal) -> str:
    return format(Decimal(value).normalize(), "f")


def _qr(pdf: FPDF, text: str, x: float, y: float, size: float) -> None:
    """Draw the QR code as filled rectangles (vector: sharp when printed, no image)."""
    code = segno.make(text, error="m")
    matrix = code.matrix
    quiet = 2
    cells = len(matrix) + 2 * quiet
    module = size / cells
    pdf.set_fill_color(0, 0, 0)
    for row_index, row in enumerate(matrix):
        top = y + (row_index + quiet) * module
        start = None
        for column, dark in enumerate([*row, 0]):
            if dark and start is None:
                start = column
            elif not dark and start is not None:
                pdf.rect(x + (start + quiet) * module, top, (column - start) * module, module, "F")
                start = None


def certificate_pdf(certificate: Certificate, *, language: str = "zh-hans") -> bytes:
    """The PDF of a certificate in `language` (zh-hans or en)."""
    if language not in LANGUAGES:
        language = settings.LANGUAGE_CODE
    url = verification_url(certificate)
    with translation.override(language):
        return _render(certificate, url, language)


def _texts(certificate: Certificate, url: str) -> dict[str, Any]:
    """Every text the page prints, in the active language."""
    return {
        "title": _("Certificate of Continuing Education"),
        "subtitle": _("Continuing education of accounting professionals"),
        "body": _(
            "This is to certify that %(name)s (ID number %(id_number)s) has completed the "
            "continuing education of accounting professionals for the year %(year)s and "
            "earned the credits below."
        )
        % {
            "name": certificate.learner_name,
            "id_number": certificate.id_number_masked,
            "year": certificate.year,
        },
        "rows": [
            (_("Year"), str(certificate.year)),
            (_("Total credits"), _credits(certificate.total_credits)),
            (_("Professional subjects"), _credits(certificate.professional_credits)),
            (_("Public subjects"), _credits(certificate.public_credits)),
        ],
        "facts": [
            (pgettext("certificate", "Certificate number"), certificate.number_grouped),
            (_("Issue date"), formats.date_format(certificate.issued_on, "DATE_FORMAT")),
            (_("Issuing platform"), certificate.platform_name),
        ],
        "scan": _(
            "Scan the code, or open the address below, to check that these details are "
            "genuine. Anyone can also type the certificate number on the verification page."
        ),
        "url": url,
    }


def _characters(texts: dict[str, Any]) -> set[int]:
    parts = [texts["title"], texts["subtitle"], texts["body"], texts["scan"], texts["url"]]
    for label, value in texts["rows"] + texts["facts"]:
        parts += [label, value, ":"]
    return {ord(ch) for ch in "".join(parts)} | set(range(0x20, 0x7F))


def _add_fonts(pdf: FPDF, texts: dict[str, Any]) -> None:
    """The common font, limited to the characters this page prints (fpdf2 then measures only
    those), and the whole font for any it lacks."""
    used = _characters(texts)
    covered = fonts.covered_by_common()
    pdf.add_font("cjk", fname=str(fonts.common_font()), unicode_range=sorted(used & covered))
    rare = used - covered
    if rare:
        pdf.add_font(
            "cjkfull",
            fname=str(fonts.source_font()),
            collection_font_number=settings.CERTIFICATE_FONT_INDEX,
            unicode_range=sorted(rare),
        )
        pdf.set_fallback_fonts(["cjkfull"])
    for font in pdf.fonts.values():
        # The fonts' bounding boxes are right already: recomputing them would decode and
        # re-encode every glyph of the subset (a quarter of the PDF's time).
        font.ttfont.recalcBBoxes = False


def _render(certificate: Certificate, url: str, language: str) -> bytes:
    texts = _texts(certificate, url)
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.add_page()
    _add_fonts(pdf, texts)
    pdf.set_title(f"{texts['title']} {certificate.number_grouped}")
    pdf.set_creator(certificate.platform_name)
    pdf.set_lang("zh-CN" if language == "zh-hans" else "en")
    width = _PAGE_WIDTH - 2 * _MARGIN

    # A double frame.
    pdf.set_draw_color(140, 30, 30)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, 190, 277)
    pdf.set_line_width(0.3)
    pdf.rect(13, 13, 184, 271)

    pdf.set_text_color(140, 30, 30)
    pdf.set_font("cjk", size=28 if language == "zh-hans" else 22)
    pdf.set_xy(_MARGIN, 34)
    pdf.cell(width, 14, texts["title"], align="C")
    pdf.set_font("cjk", size=12)
    pdf.set_xy(_MARGIN, 50)
    pdf.cell(width, 8, texts["subtitle"], align="C")

    pdf.set_text_color(20, 20, 20)
    pdf.set_font("cjk", size=13)
    pdf.set_xy(_MARGIN, 72)
    pdf.multi_cell(width, 9, texts["body"], align="L")

    # The credits by category.
    top = pdf.get_y() + 8
    pdf.set_draw_color(120, 120, 120)
    pdf.set_line_width(0.2)
    label_width = 70.0
    for index, (label, value) in enumerate(texts["rows"]):
        y = top + index * 11
        pdf.set_xy(_MARGIN + 10, y)
        pdf.set_fill_color(246, 240, 232)
        pdf.cell(label_width, 11, label, border=1, align="C", fill=True)
        pdf.cell(width - 20 - label_width, 11, value, border=1, align="C")

    # Number, date and issuer.
    pdf.set_font("cjk", size=11)
    y = top + len(texts["rows"]) * 11 + 16
    for label, value in texts["facts"]:
        pdf.set_xy(_MARGIN, y)
        pdf.cell(40, 8, f"{label}:")
        pdf.cell(width - 40, 8, value)
        y += 9

    # The QR code to the verification page, a link over it, and the URL printed.
    qr_x, qr_y = _PAGE_WIDTH - _MARGIN - _QR_SIZE, 214.0
    _qr(pdf, url, qr_x, qr_y, _QR_SIZE)
    pdf.link(qr_x, qr_y, _QR_SIZE, _QR_SIZE, url)
    pdf.set_font("cjk", size=10)
    pdf.set_xy(_MARGIN, qr_y + 4)
    pdf.multi_cell(width - _QR_SIZE - 6, 6, texts["scan"])
    pdf.set_font("cjk", size=7)
    pdf.set_text_color(60, 60, 60)
    pdf.set_xy(_MARGIN, qr_y + _QR_SIZE + 4)
    pdf.multi_cell(width, 3.6, url, link=url)
    return bytes(pdf.output())
