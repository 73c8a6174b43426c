"""Credits count only for a year the learner may still earn them for: the region's make-up
rules close earlier years for an application, its approval, a direct recording (page and
service) and each row of an import alike, with one message naming the open years, and a
refusal writes nothing. A course completion keeps the year it was studied for."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from cpe.accounts.roles import Role
from cpe.core.services import Actor
from cpe.credits import imports
from cpe.credits.models import CreditApplication, CreditEntry, CreditImport, YearStatus
from cpe.credits.registration import credit_application_approve, credit_record_direct
from cpe.credits.services import credit_record_completion
from cpe.credits.testing import SYSTEM, apply_for_credits, record
from cpe.learning.models import CourseCompletion
from cpe.learning.testing import collected_learner, complete_lessons, enrol, study_course
from cpe.regions.services import region_policy_save

pytestmark = pytest.mark.django_db
THIS_YEAR = timezone.localdate().year
MAKEUP_FROM = 2019  # Hubei's rules in the demo data (cpe.regions.demo)
BEFORE_MAKEUP = MAKEUP_FROM - 1
EVIDENCE = "鄂财会〔2026〕12号"


def zh(first: int, last: int) -> str:
    return f"请选择{first}至{last}年之间的年度：按本地区的规定，只有这些年度仍可计入学分。"


@pytest.fixture
def long_qualified(regions, make_user):
    """A learner of Jiang'an qualified in 2015: required from 2016, open from 2019 (make-up)."""
    user = make_user(Role.LEARNER, "420102")
    return collected_learner(
        district=regions["420102"], sequence=41, qualification_year=2015, user=user
    )


@pytest.fixture
def no_makeup(regions):
    """Jiang'an's rules allow no make-up study: only the current year earns credits."""
    return region_policy_save(
        actor=SYSTEM, region=regions["420102"], effective_from=THIS_YEAR - 5, makeup_from=None
    )


def officer(users) -> Actor:
    return Actor(user=users["district_officer"])


def nothing_written_for(learner, year: int) -> bool:
    return (
        not CreditEntry.objects.filter(learner=learner, year=year).exists()
        and not YearStatus.objects.filter(learner=learner, year=year).exists()
    )


# --- The ledger's own check -----------------------------------------------------------


def test_credits_for_a_year_before_the_make_up_start_are_refused_naming_the_open_years(
    long_qualified,
):
    with pytest.raises(ValidationError) as refused:
        record(long_qualified, 30, year=BEFORE_MAKEUP)
    assert refused.value.message_dict["year"] == [zh(MAKEUP_FROM, THIS_YEAR)]
    assert nothing_written_for(long_qualified, BEFORE_MAKEUP)
    assert record(long_qualified, 30, year=MAKEUP_FROM).year == MAKEUP_FROM


def test_without_make_up_in_the_rules_last_year_is_refused_and_this_year_is_not(regions, no_makeup):
    learner = collected_learner(
        district=regions["420102"], sequence=42, qualification_year=THIS_YEAR - 3
    )
    with pytest.raises(ValidationError) as refused, translation.override("en"):
        record(learner, 30, year=THIS_YEAR - 1)
    assert refused.value.message_dict["year"] == [
        f"Choose a year from {THIS_YEAR} to {THIS_YEAR}: under the region's rules only these "
        "years can still earn credits."
    ]
    assert nothing_written_for(learner, THIS_YEAR - 1)
    assert record(learner, 30, year=THIS_YEAR).year == THIS_YEAR


def test_a_course_completed_for_a_year_now_closed_is_still_credited(
    regions, no_makeup, monkeypatch
):
    learner = collected_learner(
        district=regions["420102"], sequence=43, qualification_year=THIS_YEAR - 3
    )
    course = study_course(region=regions["420000"], lessons=[("reading", 60)])
    # Studied for last year while it was open; the ledger brings it in afterwards.
    monkeypatch.setattr("cpe.learning.hooks._completion_listeners", [])
    complete_lessons(enrol(learner, course, year=THIS_YEAR - 1))
    monkeypatch.undo()
    completion = CourseCompletion.objects.get(learner=learner)
    entry = credit_record_completion(actor=SYSTEM, completion=completion)
    assert entry.year == THIS_YEAR - 1
    assert YearStatus.objects.filter(learner=learner, year=THIS_YEAR - 1).exists()


# --- Applications and their approval -----------------------------------------------------


def test_an_application_for_a_year_before_the_make_up_start_is_refused(long_qualified):
    with pytest.raises(ValidationError) as refused:
        apply_for_credits(long_qualified, year=BEFORE_MAKEUP)
    assert refused.value.message_dict["year"] == [zh(MAKEUP_FROM, THIS_YEAR)]
    assert not CreditApplication.objects.exists()


def test_approving_an_application_for_a_year_closed_since_is_refused_and_writes_nothing(
    regions, make_user, users
):
    learner = collected_learner(
        district=regions["420102"],
        sequence=44,
        qualification_year=THIS_YEAR - 3,
        user=make_user(Role.LEARNER, "420102"),
    )
    application = apply_for_credits(learner, year=THIS_YEAR - 1)
    region_policy_save(
        actor=SYSTEM, region=regions["420102"], effective_from=THIS_YEAR - 5, makeup_from=None
    )
    with pytest.raises(ValidationError) as refused:
        credit_application_approve(actor=officer(users), application=application)
    assert refused.value.message_dict["year"] == [zh(THIS_YEAR, THIS_YEAR)]
    application.refresh_from_db()
    assert application.state == CreditApplication.State.PENDING and application.entry is None
    assert nothing_written_for(learner, THIS_YEAR - 1)


# --- An officer's direct recording ------------------------------------------------------


def test_a_direct_recording_for_a_year_before_the_make_up_start_is_refused(long_qualified, users):
    with pytest.raises(ValidationError) as refused:
        credit_record_direct(
            actor=officer(users),
            learner=long_qualified,
            year=BEFORE_MAKEUP,
            kind="exam_subject",
            credits="90",
            reference="Z2018-0001",
            evidence="合格证书 Z2018-0001",
        )
    assert refused.value.message_dict["year"] == [zh(MAKEUP_FROM, THIS_YEAR)]
    assert nothing_written_for(long_qualified, BEFORE_MAKEUP)


def test_the_record_page_shows_the_year_refusal_beside_the_year(long_qualified, users, client_for):
    page = client_for(users["district_officer"]).post(
        "/staff/credits/record/",
        {
            "id_number": long_qualified.reveal_id_number(),
            "year": BEFORE_MAKEUP,
            "kind": "source:face_to_face",
            "category": "public",
            "credits": "6",
            "reference": "面授-2018",
            "evidence": "培训签到表 2018-03",
        },
    )
    assert page.status_code == 422
    assert page.context["form"].errors["year"] == [zh(MAKEUP_FROM, THIS_YEAR)]
    assert nothing_written_for(long_qualified, BEFORE_MAKEUP)


# --- Imports ----------------------------------------------------------------------------


def _xlsx(rows: list[list]) -> bytes:
    import io

    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(
        ["身份证号", "姓名", "年度", "学分类型", "科目类别", "学分", "凭证编号", "证明材料"]
    )
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _row(learner, year: int, reference: str) -> list:
    return [
        learner.reveal_id_number(),
        learner.name,
        year,
        "考试",
        "专业科目",
        90,
        reference,
        EVIDENCE,
    ]


def test_an_import_row_for_a_year_before_the_make_up_start_is_a_row_error_the_others_record(
    long_qualified, regions, users, django_capture_on_commit_callbacks
):
    other = collected_learner(district=regions["420102"], sequence=45)
    content = _xlsx(
        [
            _row(other, THIS_YEAR, "2026会计考试合格名单"),
            _row(long_qualified, BEFORE_MAKEUP, "2018会计考试合格名单"),
            _row(long_qualified, MAKEUP_FROM, "2019会计考试合格名单"),
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        credit_import = imports.credit_import_start(
            actor=officer(users),
            district=users["district_officer"].region,
            upload=SimpleUploadedFile("credits.xlsx", content),
        )
    credit_import.refresh_from_db()
    assert (credit_import.new_count, credit_import.error_count) == (2, 1)
    (bad,) = credit_import.error_rows
    assert bad["row"] == 3 and set(bad["errors"]) == {"year"}
    assert bad["errors"]["year"]["zh-hans"] == [zh(MAKEUP_FROM, THIS_YEAR)]
    assert str(MAKEUP_FROM) in bad["errors"]["year"]["en"][0]
    with django_capture_on_commit_callbacks(execute=True):
        imports.credit_import_confirm(
            actor=officer(users), credit_import=credit_import, valid_rows_only=True
        )
    credit_import.refresh_from_db()
    assert credit_import.state == CreditImport.State.APPLIED
    assert CreditEntry.objects.filter(learner=other, year=THIS_YEAR).count() == 1
    assert CreditEntry.objects.filter(learner=long_qualified, year=MAKEUP_FROM).count() == 1
    assert nothing_written_for(long_qualified, BEFORE_MAKEUP)
