"""The whole journey: an officer collects a person, who signs in for the first time, studies a
course's lesson to the end, passes its exam, completes the year and downloads the certificate;
the URL of its QR code says valid, and a tampered certificate number does not. On a phone,
each outcome of a verification (valid, replaced, revoked, not genuine) shows its own colour and
words.

The demo courses are small, so the year is topped up beforehand with credits from an exam
passed elsewhere (60/90 minus the course's 3 professional credits): the course completes it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import LazySettings
from django.core.files import File
from django.utils import timezone
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from cpe.catalog.media import video_duration_seconds
from cpe.catalog.models import Course, CourseYear, Lesson
from cpe.certificates import numbers
from cpe.certificates.models import Certificate
from cpe.certificates.selectors import verification_url
from cpe.certificates.services import certificate_issue
from cpe.core.services import Actor
from cpe.credits.models import CreditEntry, YearStatus
from cpe.credits.services import credit_record, credit_reverse
from cpe.exams.models import Option
from cpe.exams.testing import make_bank
from cpe.regions.models import Region
from cpe.registry.models import Learner
from cpe.registry.testing import make_id_number
from tests.e2e.conftest import PHONE
from tests.e2e.test_learner_sign_in import code_sent_to
from tests.e2e.test_phone_layout import assert_fits_the_phone

pytestmark = pytest.mark.e2e

SYSTEM = Actor.for_system("e2e")
DEMO_VIDEO = Path(__file__).resolve().parents[2] / "cpe/catalog/demo_media/hb-zy-01.mp4"
CODE = "E2E-ZY-CERT"
ID_NUMBER = make_id_number("420102", "19920606", 77)
NAME = "欧阳明"
MOBILE = "13912347777"
PASSWORD = "lantern-river-2026"
PLAY_TIMEOUT_MS = 30_000


@pytest.fixture
def sms_dir(settings: LazySettings, tmp_path: Path) -> Path:
    settings.SMS_BACKEND = "cpe.accounts.sms.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    return tmp_path / "sms"


@pytest.fixture
def course(site_url: str, settings: LazySettings) -> Course:
    """A professional course of this year: one real video lesson and an exam of two questions."""
    settings.COURSE_MEDIA_STREAM = True
    settings.SITE_URL = site_url  # the QR code's URL points at the live server
    course = Course.objects.create(
        region=Region.objects.get(code="420000"),
        code=CODE,
        title="会计职业道德（证明测试）",
        category=Course.Category.PROFESSIONAL,
        class_hours=Decimal(1),
        status=Course.Status.PUBLISHED,
        published_at=timezone.now(),
        exam_required=True,
    )
    CourseYear.objects.create(course=course, year=timezone.localdate().year)
    with DEMO_VIDEO.open("rb") as handle:
        seconds = video_duration_seconds(handle)
        handle.seek(0)
        lesson = Lesson(
            course=course, title="第一讲 视频", kind=Lesson.Kind.VIDEO, duration_seconds=seconds
        )
        lesson.video.save("cert.mp4", File(handle), save=True)
    make_bank(course, single=2, multiple=0, true_false=0)
    return course


def officer_collects(page: Page, staff_sign_in: Callable[..., None]) -> Learner:
    staff_sign_in(page, "officer.jiangan")
    page.goto("/staff/learners/new/")
    form = page.locator("main form[method=post]")
    form.locator("[name=id_number]").fill(ID_NUMBER)
    form.locator("[name=name]").fill(NAME)
    form.locator("[name=mobile]").fill(MOBILE)
    form.locator("[name=employer_name]").fill("武汉市江岸区某某会计师事务所")
    form.locator("[name=qualification_level]").select_option("intermediate")
    form.locator("[name=qualification_year]").fill(str(timezone.localdate().year - 1))
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/staff/learners/\d+/$"))
    return Learner.objects.get(name=NAME)


def first_sign_in(page: Page, sms_dir: Path) -> None:
    page.goto("/login/first/")
    form = page.locator("main form[method=post]")
    form.locator("[name=id_number]").fill(ID_NUMBER)
    form.locator("[name=name]").fill(NAME)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    form = page.locator("main form[method=post]").first
    form.locator("[name=code]").fill(code_sent_to(sms_dir, MOBILE))
    form.locator("[name=password]").fill(PASSWORD)
    form.locator("[name=password_again]").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/learn/$"))


def study_the_lesson(page: Page, year: int) -> None:
    page.goto("/study/")
    with page.expect_navigation():
        page.locator("#current-year button[type=submit]").click()
    with page.expect_navigation():
        page.locator(f"li[data-course='{CODE}'] button[type=submit]").click()
    page.goto(f"/study/{year}/courses/{CODE}/")
    with page.expect_navigation():
        page.locator("main a.button").first.click()
    expect(page.locator("[data-study-player]")).to_have_attribute("data-session", re.compile(".+"))
    page.evaluate("() => { const v = document.querySelector('video'); v.muted = true; v.play(); }")
    expect(page.locator("[data-complete]")).to_be_visible(timeout=PLAY_TIMEOUT_MS)


def pass_the_exam(page: Page, year: int) -> None:
    page.goto(f"/study/{year}/courses/{CODE}/")
    with page.expect_navigation():
        page.locator("[data-start-exam]").click()
    correct = set(
        Option.objects.filter(question__course__code=CODE, is_correct=True).values_list(
            "pk", flat=True
        )
    )
    questions = page.locator("fieldset[data-position]")
    for question in questions.all():
        for value in question.locator("input").evaluate_all("all => all.map(i => i.value)"):
            if value.isdigit() and int(value) in correct:
                question.locator(f"input[value='{value}']").check()
    expect(page.locator("fieldset[data-saved='1']")).to_have_count(questions.count())
    with page.expect_navigation():
        page.locator("[data-submit-exam]").click()
    expect(page.locator(".exam-result")).to_have_attribute("data-passed", "1")


def qr_url(pdf: bytes) -> str:
    """The URL of the QR code, from the link the PDF lays over it."""
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    links = [annot.get_object()["/A"]["/URI"] for annot in page.get("/Annots", [])]
    assert links, "the certificate has no link over its QR code"
    return str(links[0])


def test_from_collection_to_a_certificate_whose_qr_url_verifies(
    new_page: Callable[..., Page],
    staff_sign_in: Callable[..., None],
    course: Course,
    sms_dir: Path,
    tmp_path: Path,
) -> None:
    year = timezone.localdate().year
    learner = officer_collects(new_page(), staff_sign_in)
    # The top-up: an exam passed elsewhere, as the district bureau records it.
    for category, credits in (("professional", 57), ("public", 30)):
        credit_record(
            actor=SYSTEM,
            learner=learner,
            year=year,
            category=category,
            credits=credits,
            source=CreditEntry.Source.EXAM,
            reference="全国会计专业技术资格考试",
        )
    assert YearStatus.objects.get(learner=learner, year=year).status == "in_progress"

    page = new_page(PHONE)  # most learners study on their phones
    first_sign_in(page, sms_dir)
    study_the_lesson(page, year)
    pass_the_exam(page, year)
    assert YearStatus.objects.get(learner=learner, year=year).status == "complete"

    page.goto("/study/credits/")
    panel = page.locator(f"#year-{year} form.certificate-download")
    expect(panel).to_be_visible()
    panel.locator("[name=language]").select_option("zh-hans")
    with page.expect_download() as download_info:
        panel.locator("button[type=submit]").click()
    path = tmp_path / "certificate.pdf"
    download_info.value.save_as(path)
    pdf = path.read_bytes()
    assert pdf.startswith(b"%PDF")
    certificate = Certificate.objects.get(learner=learner, year=year)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace("\x00", "")
    assert NAME in text and certificate.number_grouped in text

    url = qr_url(pdf)
    assert url.startswith(page.url.split("/study/")[0])
    verification = new_page(PHONE)  # anyone, scanning the code: a phone without a session
    response = verification.goto(url)
    assert response is not None and response.status == 200
    result = verification.locator("[data-status]")
    expect(result).to_have_attribute("data-status", "valid")
    expect(result).to_contain_text(NAME)
    expect(result).to_contain_text(learner.id_number_masked)
    verification.screenshot(path=str(tmp_path / "verify.png"), full_page=True)
    assert_fits_the_phone(verification, urlsplit(url).path + "?" + urlsplit(url).query)
    assert_fits_the_phone(page, "/study/credits/")

    # One character of the number changed, with the signature from the QR code: not genuine.
    number = certificate.number
    tampered = numbers.ALPHABET[(numbers.ALPHABET.index(number[0]) + 1) % 32] + number[1:]
    query = urlsplit(url).query
    response = verification.goto(f"/verify/{tampered}/?{query}")
    assert response is not None and response.status == 404
    expect(verification.locator("[data-status]")).to_have_attribute("data-status", "not_genuine")
    expect(verification.locator("main")).not_to_contain_text(NAME)
    # Typed from paper into the form, the tampered number is refused too.
    verification.goto("/verify/")
    verification.locator("[name=number]").fill(numbers.grouped(tampered))
    with verification.expect_navigation():
        verification.locator("main form button[type=submit]").click()
    expect(verification.locator(".field .error, .form-errors").first).to_be_visible()


# The banner's colours (site.css: --ok, --warn, --bad), as the browser computes them.
GREEN, AMBER, RED = "rgb(30, 123, 52)", "rgb(161, 92, 0)", "rgb(180, 35, 24)"


def verdict_on_the_phone(page: Page, path: str, status: int, words: str, colour: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == status
    verdict = page.locator(".verification .verdict")
    expect(verdict).to_be_visible()
    expect(verdict).to_contain_text(words)
    assert verdict.evaluate("e => getComputedStyle(e).backgroundColor") == colour
    assert verdict.evaluate("e => getComputedStyle(e).color") == "rgb(255, 255, 255)"
    box = verdict.bounding_box()
    assert box is not None and box["y"] < PHONE["height"] / 2  # seen without scrolling
    assert_fits_the_phone(page, path)


def test_each_verification_outcome_shows_its_colour_and_words_on_a_phone(
    new_page: Callable[..., Page], site_url: str, settings: LazySettings
) -> None:
    settings.SITE_URL = site_url
    first = Certificate.objects.get()  # the demo learner's, from the demo data
    learner, year = first.learner, first.year
    page = new_page(PHONE)
    path = urlsplit(verification_url(first))
    first_path = f"{path.path}?{path.query}"

    verdict_on_the_phone(page, first_path, 200, "有效", GREEN)
    expect(page.locator("h1")).to_have_text("证明有效")

    # More credits for the year: the next download replaces the certificate.
    credit_record(
        actor=SYSTEM,
        learner=learner,
        year=year,
        category="public",
        credits=3,
        source=CreditEntry.Source.FACE_TO_FACE,
        reference="线下培训",
    )
    current = certificate_issue(actor=SYSTEM, learner=learner, year=year)
    verdict_on_the_phone(page, first_path, 410, "无效", AMBER)
    expect(page.locator(".verification")).to_contain_text(current.number_grouped)
    with page.expect_navigation():
        page.locator(".verification-replaced a").click()
    expect(page.locator(".verification")).to_have_attribute("data-status", "valid")

    # The year's professional credits taken back: every certificate of the year is revoked.
    for entry in CreditEntry.objects.filter(
        learner=learner,
        year=year,
        category="professional",
        reverses__isnull=True,
        reversed_by__isnull=True,
    ):
        credit_reverse(actor=SYSTEM, entry=entry, reason="登记有误")
    assert YearStatus.objects.get(learner=learner, year=year).status == "revoked"
    verdict_on_the_phone(page, f"/verify/{current.number}/", 410, "无效", RED)
    expect(page.locator("h1")).to_have_text("已撤销：该年度已不再是完成状态")

    tampered = numbers.ALPHABET[(numbers.ALPHABET.index(first.number[0]) + 1) % 32]
    verdict_on_the_phone(page, f"/verify/{tampered}{first.number[1:]}/", 404, "无效", RED)
    expect(page.locator("h1")).to_have_text("证明不真实：请勿采信")
