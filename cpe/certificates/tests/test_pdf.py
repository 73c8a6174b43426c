"""The certificate PDF: A4, the printed details in Chinese or English, the CJK font embedded
as a subset, a QR code whose link is the verification URL, and rare characters printed."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from cpe.certificates.fonts import FontMissing
from cpe.certificates.pdf import certificate_pdf
from cpe.certificates.selectors import verification_url
from cpe.certificates.services import certificate_issue
from cpe.core.services import Actor
from cpe.registry.models import Learner

SYSTEM = Actor.for_system("tests")
pytestmark = pytest.mark.django_db


def _issue(learner: Learner, year: int):
    return certificate_issue(actor=SYSTEM, learner=learner, year=year)


def _text(pdf: bytes) -> str:
    # pypdf reads fpdf2's two-byte ToUnicode map as UTF-16 code units: drop the NULs.
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return text.replace("\x00", "")


def _fonts(pdf: bytes) -> list[dict]:
    reader = PdfReader(io.BytesIO(pdf))
    found = []
    for font in reader.pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        for descendant in font.get("/DescendantFonts", []):
            descriptor = descendant.get_object()["/FontDescriptor"].get_object()
            found.append({"name": str(descriptor["/FontName"]), "descriptor": descriptor})
    return found


def test_the_chinese_certificate_prints_the_details(completed):
    learner, year = completed
    certificate = _issue(learner, year)
    pdf = certificate_pdf(certificate)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    text = _text(pdf)
    assert "继续教育证明" in text
    assert learner.name in text
    assert learner.id_number_masked in text
    assert certificate.number_grouped in text
    assert "专业科目" in text and "60" in text and "公需科目" in text and "30" in text
    assert "90" in text
    assert str(year) in text


def test_the_id_number_is_printed_only_masked(completed):
    learner, year = completed
    text = _text(certificate_pdf(_issue(learner, year)))
    assert learner.reveal_id_number() not in text
    assert "*" in learner.id_number_masked and learner.id_number_masked in text


def test_the_english_certificate_is_in_english(completed):
    learner, year = completed
    text = _text(certificate_pdf(_issue(learner, year), language="en"))
    assert "Certificate of Continuing Education" in text
    assert "Professional subjects" in text
    assert "继续教育证明" not in text
    assert learner.name in text  # the name as recorded, in Chinese


def test_the_cjk_font_is_embedded_as_a_subset(completed):
    learner, year = completed
    fonts = _fonts(certificate_pdf(_issue(learner, year)))
    assert fonts
    for font in fonts:
        # A subset's name starts with six capitals and a plus; the font file is in the PDF.
        assert font["name"][7] == "+" and font["name"][1:7].isupper()
        assert any(key in font["descriptor"] for key in ("/FontFile2", "/FontFile3"))


def test_the_qr_code_links_to_the_verification_url(completed):
    learner, year = completed
    certificate = _issue(learner, year)
    pdf = certificate_pdf(certificate)
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    links = [a.get_object()["/A"]["/URI"] for a in page.get("/Annots", [])]
    assert verification_url(certificate) in links
    assert f"/verify/{certificate.number}/?s=" in verification_url(certificate)


def test_a_name_with_a_rare_character_is_printed_from_the_whole_font(completed):
    learner, year = completed
    Learner.objects.filter(pk=learner.pk).update(name="王䶮")  # U+4DAE, outside GB 2312
    learner.refresh_from_db()
    pdf = certificate_pdf(_issue(learner, year))
    assert "王䶮" in _text(pdf)
    # Two fonts: the common one and the whole font for the rare character.
    assert len(_fonts(pdf)) == 2


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils is not installed")
def test_the_page_renders_with_poppler(completed, tmp_path):
    learner, year = completed
    path = tmp_path / "certificate.pdf"
    path.write_bytes(certificate_pdf(_issue(learner, year)))
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", "-singlefile", str(path), str(tmp_path / "page")],
        check=True,
        capture_output=True,
    )
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True)
    assert "NotoSansCJKSC" in fonts.stdout and " yes " in fonts.stdout  # embedded
    assert (tmp_path / "page.png").stat().st_size > 1000


def test_a_missing_font_is_a_plain_error_naming_the_package(completed, settings, tmp_path):
    learner, year = completed
    certificate = _issue(learner, year)
    settings.CERTIFICATE_FONT_PATH = str(tmp_path / "absent.ttc")
    settings.CERTIFICATE_FONT_CACHE = str(tmp_path / "fonts")
    with pytest.raises(FontMissing, match="fonts-noto-cjk"):
        certificate_pdf(certificate)
    with pytest.raises(CommandError, match="CERTIFICATE_FONT_PATH"):
        call_command("prepare_certificate_font")
