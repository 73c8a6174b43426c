"""The certificate as a PDF: A4, Simplified Chinese or English, the CJK font embedded (subset),
and a QR code to the public verification URL (also a link, and printed beside it)."""

from __future__ import annotations

from decimal import Decimal

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


def _render(certificate: Certificate, url: str, language: str) -> bytes:
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.add_page()
    pdf.add_font("cjk", fname=str(fonts.common_font()))
    variable = certificate.learner_name + certificate.platform_name
    if fonts.missing_from_common(variable):
        pdf.add_font(
            "cjkfull",
            fname=str(fonts.source_font()),
            collection_font_number=settings.CERTIFICATE_FONT_INDEX,
        )
        pdf.set_fallback_fonts(["cjkfull"])
    for font in pdf.fonts.values():
        # The fonts' bounding boxes are right already: recomputing them would decode and
        # re-encode every glyph of the subset (a quarter of the PDF's time).
        font.ttfont.recalcBBoxes = False
    title = _("Certificate of Continuing Education")
    pdf.set_title(f"{title} {certificate.number_grouped}")
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
    pdf.cell(width, 14, title, align="C")
    pdf.set_font("cjk", size=12)
    pdf.set_xy(_MARGIN, 50)
    pdf.cell(width, 8, _("Continuing education of accounting professionals"), align="C")

    pdf.set_text_color(20, 20, 20)
    pdf.set_font("cjk", size=13)
    pdf.set_xy(_MARGIN, 72)
    body = _(
        "This is to certify that %(name)s (ID number %(id_number)s) has completed the "
        "continuing education of accounting professionals for the year %(year)s and earned "
        "the credits below."
    ) % {
        "name": certificate.learner_name,
        "id_number": certificate.id_number_masked,
        "year": certificate.year,
    }
    pdf.multi_cell(width, 9, body, align="L")

    # The credits by category.
    top = pdf.get_y() + 8
    pdf.set_draw_color(120, 120, 120)
    pdf.set_line_width(0.2)
    rows = [
        (_("Year"), str(certificate.year)),
        (_("Total credits"), _credits(certificate.total_credits)),
        (_("Professional subjects"), _credits(certificate.professional_credits)),
        (_("Public subjects"), _credits(certificate.public_credits)),
    ]
    label_width = 70.0
    for index, (label, value) in enumerate(rows):
        y = top + index * 11
        pdf.set_xy(_MARGIN + 10, y)
        pdf.set_fill_color(246, 240, 232)
        pdf.cell(label_width, 11, label, border=1, align="C", fill=True)
        pdf.cell(width - 20 - label_width, 11, value, border=1, align="C")

    # Number, date and issuer.
    pdf.set_font("cjk", size=11)
    facts = [
        (pgettext("certificate", "Certificate number"), certificate.number_grouped),
        (_("Issue date"), formats.date_format(certificate.issued_on, "DATE_FORMAT")),
        (_("Issuing platform"), certificate.platform_name),
    ]
    y = top + len(rows) * 11 + 16
    for label, value in facts:
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
    pdf.multi_cell(
        width - _QR_SIZE - 6,
        6,
        _(
            "Scan the code, or open the address below, to check that these details are "
            "genuine. Anyone can also type the certificate number on the verification page."
        ),
    )
    pdf.set_font("cjk", size=7)
    pdf.set_text_color(60, 60, 60)
    pdf.set_xy(_MARGIN, qr_y + _QR_SIZE + 4)
    pdf.multi_cell(width, 3.6, url, link=url)
    return bytes(pdf.output())
