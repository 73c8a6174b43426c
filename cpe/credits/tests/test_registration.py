"""Credit registration: a learner's application with evidence, the officer's decision, and the
learner's and officer's pages for them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from cpe.accounts.roles import Role
from cpe.core.models import AuditEntry
from cpe.core.services import Actor
from cpe.credits.chain import ledger_verify
from cpe.credits.models import CreditApplication, CreditEntry, YearStatus
from cpe.credits.registration import (
    credit_application_approve,
    credit_application_reject,
    credit_application_withdraw,
)
from cpe.credits.testing import EXAM_DETAILS, PDF_BYTES, apply_for_credits, evidence_file
from cpe.learning.testing import collected_learner
from cpe.registry.testing import make_id_number

pytestmark = pytest.mark.django_db
THIS_YEAR = timezone.localdate().year


@pytest.fixture
def applicant(regions, make_user):
    user = make_user(Role.LEARNER, "420102")
    return collected_learner(district=regions["420102"], sequence=11, user=user)


def officer_actor(users):
    return Actor(user=users["district_officer"])


def test_an_application_keeps_the_tables_credits_and_its_evidence_on_private_storage(applicant):
    application = apply_for_credits(applicant)
    assert application.state == "pending"
    assert application.source == CreditEntry.Source.EXAM
    assert application.category == CreditEntry.Category.PROFESSIONAL
    assert application.credits_claimed == Decimal("90")
    assert application.reference == "Z2024-0001"
    assert application.evidence_type == "application/pdf"
    assert application.evidence.name.startswith(f"credit-evidence/{applicant.pk}/")
    assert "证书" not in application.evidence.name  # stored under a random name
    assert AuditEntry.objects.filter(action="credit_application.submit").count() == 1


def test_it_refuses_an_application_without_evidence_when_the_table_requires_it(applicant):
    from cpe.credits.registration import credit_application_submit

    with pytest.raises(ValidationError) as refused:
        credit_application_submit(
            actor=Actor(user=applicant.user),
            learner=applicant,
            year=THIS_YEAR,
            kind="exam_subject",
            details=dict(EXAM_DETAILS),
        )
    assert "evidence" in refused.value.message_dict
    assert not CreditApplication.objects.exists()


def test_it_refuses_a_file_that_is_not_a_pdf_jpeg_or_png_whatever_its_name(applicant):
    with pytest.raises(ValidationError) as refused:
        apply_for_credits(applicant, evidence=evidence_file("scan.pdf", b"MZ\x90\x00 not a pdf"))
    assert "evidence" in refused.value.message_dict
    with pytest.raises(ValidationError):
        apply_for_credits(applicant, evidence=evidence_file("scan.pdf", PDF_BYTES[:20]))
    assert not CreditApplication.objects.exists()


def test_it_refuses_a_year_after_this_one_and_before_the_first_required_year(applicant):
    for year in (THIS_YEAR + 1, THIS_YEAR - 5):
        with pytest.raises(ValidationError) as refused:
            apply_for_credits(applicant, year=year)
        assert "year" in refused.value.message_dict
    assert not CreditApplication.objects.exists()


def test_it_names_every_missing_or_malformed_detail(applicant):
    with pytest.raises(ValidationError) as refused:
        apply_for_credits(
            applicant,
            kind="paper_sole",
            details={"title": "论成本", "journal": "会计研究", "issn": "12345", "cn": ""},
        )
    errors = refused.value.message_dict
    assert set(errors) == {"issn", "cn"}


def test_an_id_number_typed_into_a_detail_is_a_field_error_and_nothing_is_kept(applicant):
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        apply_for_credits(
            applicant,
            kind="paper_sole",
            details={
                "title": f"论成本（作者身份证 {make_id_number(sequence=11)}）",
                "journal": "会计研究",
                "issn": "1003-2886",
                "cn": "11-1078/F",
            },
        )
    assert refused.value.message_dict == {
        "title": ["Leave ID numbers out of this field: the platform keeps them only encrypted."]
    }
    assert not CreditApplication.objects.exists()


def test_an_id_number_in_a_decision_reason_is_kept_masked_and_the_ledger_still_verifies(
    applicant, users
):
    number = make_id_number(sequence=11)
    masked = number[:6] + "********" + number[-4:]
    rejected = credit_application_reject(
        actor=officer_actor(users),
        application=apply_for_credits(applicant),
        reason=f"证件 {number} 与证书不符",
    )
    assert rejected.decision_reason == f"证件 {masked} 与证书不符"
    approved = credit_application_approve(
        actor=officer_actor(users),
        application=apply_for_credits(applicant),
        reason=f"已核对 {number} 的证书",
    )
    assert approved.decision_reason == f"已核对 {masked} 的证书"
    assert approved.entry.reason == f"#{approved.pk} 已核对 {masked} 的证书"
    assert ledger_verify() == []  # sealed as stored


def test_an_id_number_cut_by_the_length_of_a_reason_leaves_no_digits_of_it(applicant, users):
    number = make_id_number(sequence=11)
    reason = "核" * 490 + number  # 508 characters: kept to 500, after masking
    rejected = credit_application_reject(
        actor=officer_actor(users), application=apply_for_credits(applicant), reason=reason
    )
    assert rejected.decision_reason == "核" * 490 + number[:6] + "****"


def test_it_refuses_the_same_activity_twice_naming_the_first_application(applicant):
    first = apply_for_credits(applicant)
    with pytest.raises(ValidationError) as refused:
        apply_for_credits(applicant, details=EXAM_DETAILS | {"certificate_number": " z2024-0001 "})
    assert str(first.pk) in refused.value.message_dict["certificate_number"][0]
    assert CreditApplication.objects.count() == 1


def test_a_withdrawn_application_may_be_made_again(applicant):
    first = apply_for_credits(applicant)
    credit_application_withdraw(actor=Actor(user=applicant.user), application=first)
    again = apply_for_credits(applicant)
    assert again.pk != first.pk
    with pytest.raises(ValidationError):
        credit_application_withdraw(actor=Actor(user=applicant.user), application=first)


def test_approving_records_one_ledger_entry_and_moves_the_year(applicant, users):
    application = apply_for_credits(applicant)
    approved = credit_application_approve(actor=officer_actor(users), application=application)
    entry = approved.entry
    assert approved.state == "approved" and approved.credits_granted == Decimal("90")
    assert (entry.source, entry.category, entry.credits) == ("exam", "professional", 90)
    assert entry.approved_by == users["district_officer"]
    assert entry.recorded_by == users["district_officer"]
    assert entry.reference == "Z2024-0001"
    assert entry.reason == f"#{application.pk}"
    # The entry names the very file the officer saw, and the ledger's seal covers it.
    assert entry.evidence == f"sha256:{application.evidence_sha256}"
    status = YearStatus.objects.get(learner=applicant, year=THIS_YEAR)
    assert status.professional_credits == 90
    assert AuditEntry.objects.filter(action="credit_application.approve").count() == 1


def test_approving_twice_makes_one_entry(applicant, users):
    application = apply_for_credits(applicant)
    credit_application_approve(actor=officer_actor(users), application=application)
    with pytest.raises(ValidationError) as refused:
        credit_application_approve(actor=officer_actor(users), application=application)
    assert "state" in refused.value.message_dict
    assert CreditEntry.objects.filter(learner=applicant).count() == 1


def test_a_changed_amount_needs_a_reason_and_stays_within_the_tables_limits(applicant, users):
    application = apply_for_credits(
        applicant,
        kind="paper_sole",
        details={"title": "论成本", "journal": "会计研究", "issn": "1003-2886", "cn": "11-1078/F"},
    )
    actor = officer_actor(users)
    with pytest.raises(ValidationError) as no_reason:
        credit_application_approve(actor=actor, application=application, credits="20")
    assert "reason" in no_reason.value.message_dict
    with pytest.raises(ValidationError) as too_many:
        credit_application_approve(actor=actor, application=application, credits="45", reason="x")
    assert "credits" in too_many.value.message_dict
    assert not CreditEntry.objects.exists()
    approved = credit_application_approve(
        actor=actor, application=application, credits="20", reason="刊物非核心"
    )
    assert approved.entry.credits == 20
    assert approved.entry.reason == f"#{application.pk} 刊物非核心"


def test_a_rejection_needs_a_reason_and_writes_nothing_to_the_ledger(applicant, users):
    application = apply_for_credits(applicant)
    with pytest.raises(ValidationError):
        credit_application_reject(actor=officer_actor(users), application=application, reason=" ")
    rejected = credit_application_reject(
        actor=officer_actor(users), application=application, reason="证书照片不清晰"
    )
    assert rejected.state == "rejected" and rejected.decision_reason == "证书照片不清晰"
    assert not CreditEntry.objects.exists()


def test_only_an_officer_of_the_learners_district_decides(applicant, users):
    application = apply_for_credits(applicant)
    for role in ("officer_elsewhere", "city_admin", "auditor"):
        with pytest.raises(PermissionDenied):
            credit_application_approve(actor=Actor(user=users[role]), application=application)
    assert CreditApplication.objects.get().state == "pending"


# --- Pages --------------------------------------------------------------------------------


def test_a_learner_applies_on_the_page_and_sees_it_waiting_on_the_credits_page(
    applicant, client_for
):
    client = client_for(applicant.user)
    choose = client.get("/study/credits/apply/").content.decode()
    assert "/study/credits/apply/exam_subject/" in choose
    data = EXAM_DETAILS | {"year": THIS_YEAR, "evidence": evidence_file()}
    response = client.post("/study/credits/apply/exam_subject/", data)
    assert response.status_code == 302
    page = client.get("/study/credits/").content.decode()
    assert 'data-state="pending"' in page and "Z2024-0001" in page


def test_the_application_page_shows_the_missing_evidence_beside_its_field(applicant, client_for):
    client = client_for(applicant.user)
    response = client.post("/study/credits/apply/exam_subject/", EXAM_DETAILS | {"year": THIS_YEAR})
    assert response.status_code == 422
    assert "has-error" in response.content.decode()
    assert not CreditApplication.objects.exists()


def test_a_learner_withdraws_on_the_page_and_opens_only_their_own_evidence(
    applicant, regions, make_user, client_for
):
    application = apply_for_credits(applicant)
    client = client_for(applicant.user)
    evidence = client.get(f"/study/credits/applications/{application.pk}/evidence/")
    assert evidence.status_code == 200 and evidence["Content-Type"] == "application/pdf"
    other = collected_learner(
        district=regions["420102"], sequence=12, user=make_user(Role.LEARNER, "420102")
    )
    stranger = client_for(other.user)
    assert (
        stranger.get(f"/study/credits/applications/{application.pk}/evidence/").status_code == 404
    )
    assert (
        stranger.post(f"/study/credits/applications/{application.pk}/withdraw/").status_code == 404
    )
    client.post(f"/study/credits/applications/{application.pk}/withdraw/")
    assert CreditApplication.objects.get().state == "withdrawn"


def test_the_officer_approves_from_the_queue_and_the_learner_sees_the_credits(
    applicant, users, client_for
):
    application = apply_for_credits(applicant)
    officer = client_for(users["district_officer"])
    queue = officer.get("/staff/credits/applications/").content.decode()
    assert f"/staff/credits/applications/{application.pk}/" in queue
    detail = officer.get(f"/staff/credits/applications/{application.pk}/").content.decode()
    assert 'data-action="approve"' in detail and "/evidence/" in detail
    opened = officer.get(f"/staff/credits/applications/{application.pk}/evidence/")
    assert opened.status_code == 200
    assert AuditEntry.objects.filter(action="credit_application.evidence_view").count() == 1
    response = officer.post(
        f"/staff/credits/applications/{application.pk}/approve/", {"credits": "90", "reason": ""}
    )
    assert response.status_code == 302
    page = client_for(applicant.user).get("/study/credits/").content.decode()
    assert 'data-state="approved"' in page and "90" in page


def test_the_queue_is_scoped_and_read_only_for_city_administrators(applicant, users, client_for):
    application = apply_for_credits(applicant)
    elsewhere = client_for(users["officer_elsewhere"])
    assert (
        f"/applications/{application.pk}/"
        not in elsewhere.get("/staff/credits/applications/").content.decode()
    )
    assert elsewhere.get(f"/staff/credits/applications/{application.pk}/").status_code == 404
    city = client_for(users["city_admin"])
    page = city.get(f"/staff/credits/applications/{application.pk}/").content.decode()
    assert 'data-action="approve"' not in page
    denied = city.post(f"/staff/credits/applications/{application.pk}/approve/", {"credits": 90})
    assert denied.status_code == 403
    assert CreditApplication.objects.get().state == "pending"


def test_the_staff_console_shows_the_credit_registration_tile(users, client_for):
    page = client_for(users["district_officer"]).get("/staff/").content.decode()
    assert "/staff/credits/applications/" in page
    assert (
        "/staff/credits/applications/"
        not in client_for(users["course_manager"]).get("/staff/").content.decode()
    )


def test_the_study_dashboard_and_the_staff_study_page_show_the_applications(
    applicant, users, client_for
):
    application = apply_for_credits(applicant)
    credit_application_reject(
        actor=officer_actor(users), application=application, reason="证书照片不清晰"
    )
    dashboard = client_for(applicant.user).get("/study/").content.decode()
    assert 'id="credit-applications"' in dashboard and "证书照片不清晰" in dashboard
    staff = client_for(users["auditor"]).get(f"/staff/learners/{applicant.pk}/study/")
    assert f"/staff/credits/applications/{application.pk}/" in staff.content.decode()
    support = client_for(users["support"]).get(f"/staff/learners/{applicant.pk}/study/")
    assert 'id="credit-applications"' not in support.content.decode()


def _record_directly(users, learner, reference, **kwargs):
    from cpe.credits.registration import credit_record_direct

    values = {"kind": "exam_subject", "credits": "90", "evidence": "合格证书 Z2024-0001"} | kwargs
    return credit_record_direct(
        actor=officer_actor(users), learner=learner, year=THIS_YEAR, reference=reference, **values
    )


def test_an_approved_certificate_cannot_be_recorded_again_directly_in_any_spelling(
    applicant, users
):
    approved = credit_application_approve(
        actor=officer_actor(users), application=apply_for_credits(applicant)
    )
    with pytest.raises(ValidationError) as twice:
        _record_directly(users, applicant, "z2024 - 0001".replace(" - ", "-"))
    assert str(approved.entry.pk) in twice.value.message_dict["reference"][0]
    assert CreditEntry.objects.count() == 1


def test_an_application_for_credits_already_recorded_is_refused_at_approval(applicant, users):
    entry = _record_directly(users, applicant, "Ｚ2024-0001")
    application = apply_for_credits(applicant)
    with pytest.raises(ValidationError) as twice:
        credit_application_approve(actor=officer_actor(users), application=application)
    assert str(entry.pk) in twice.value.message_dict["reference"][0]
    application.refresh_from_db()
    assert application.state == "pending" and CreditEntry.objects.count() == 1


def test_reversed_credits_may_be_recorded_again_and_applied_for_again(applicant, users):
    from cpe.credits.services import credit_reverse

    approved = credit_application_approve(
        actor=officer_actor(users), application=apply_for_credits(applicant)
    )
    credit_reverse(actor=officer_actor(users), entry=approved.entry, reason="证书号错")
    again = apply_for_credits(applicant)
    assert again.state == "pending"
    credit_application_approve(actor=officer_actor(users), application=again)
    assert sum(e.credits for e in CreditEntry.objects.filter(learner=applicant)) == 90


def test_a_deregistered_learner_gets_no_credits_directly_or_by_approval(applicant, users):
    from cpe.registry.models import Learner

    application = apply_for_credits(applicant)
    Learner.objects.filter(pk=applicant.pk).update(status=Learner.Status.DEREGISTERED)
    applicant.refresh_from_db()
    with pytest.raises(ValidationError) as direct, translation.override("en"):
        _record_directly(users, applicant, "X-1")
    assert "deregistered" in direct.value.message_dict["learner"][0]
    with pytest.raises(ValidationError):
        credit_application_approve(actor=officer_actor(users), application=application)
    assert not CreditEntry.objects.exists()


def test_a_direct_recording_of_1e99999999_credits_is_a_field_error(applicant, users):
    with pytest.raises(ValidationError) as huge:
        _record_directly(
            users,
            applicant,
            "X-1",
            kind="",
            source="face_to_face",
            category="professional",
            credits="1e99999999",
        )
    assert "credits" in huge.value.message_dict
    assert not CreditEntry.objects.exists()


def test_days_in_a_non_ascii_digit_are_a_field_error(applicant):
    from cpe.credits.conversion import NATIONAL_TABLE
    from cpe.credits.registration import _clean_details

    rule = next(r for r in NATIONAL_TABLE if "days" in r.detail_fields)
    details = {name: "x" for name in rule.detail_fields} | {"days": "፩"}
    _cleaned, errors = _clean_details(rule, details)
    assert "days" in errors


# --- Evidence on credits recorded directly --------------------------------------------------


def _face_to_face_without_evidence_in_wuhan(users, regions) -> None:
    from cpe.credits.conversion import conversion_rule_save

    conversion_rule_save(
        actor=Actor(user=users["city_admin"]),
        region=regions["420100"],
        year=THIS_YEAR,
        kind="face_to_face",
        values={
            "category": "",
            "credits_per_unit": "24",
            "unit": "day",
            "min_credits": "3",
            "max_credits": "90",
            "evidence_required": False,
            "detail_fields": ["training_name", "organiser", "days"],
            "is_active": True,
        },
    )


@pytest.mark.parametrize(
    "how",
    [
        {"kind": "exam_subject"},
        {"kind": "", "source": "exam", "category": "professional"},
    ],
)
def test_a_direct_record_without_evidence_is_refused_where_the_table_requires_it(
    applicant, users, how
):
    with pytest.raises(ValidationError) as refused, translation.override("en"):
        _record_directly(users, applicant, "Z-1", **how, evidence="  ")
    assert "conversion table requires evidence" in refused.value.message_dict["evidence"][0]
    assert not CreditEntry.objects.exists()


def test_a_direct_record_keeps_its_evidence_on_the_entry(applicant, users):
    entry = _record_directly(users, applicant, "Z-1", evidence=" 鄂财会〔2026〕12号合格名单 ")
    assert CreditEntry.objects.get(pk=entry.pk).evidence == "鄂财会〔2026〕12号合格名单"


def test_a_direct_record_needs_no_evidence_where_the_table_does_not_ask_for_it(
    applicant, users, regions
):
    _face_to_face_without_evidence_in_wuhan(users, regions)
    by_kind = _record_directly(
        users,
        applicant,
        "面授-1",
        kind="face_to_face",
        category="public",
        credits="24",
        evidence="",
    )
    by_source = _record_directly(
        users,
        applicant,
        "面授-2",
        kind="",
        source="face_to_face",
        category="public",
        credits="24",
        evidence="",
    )
    assert (by_kind.evidence, by_source.evidence) == ("", "")
    # Another source of the same table still requires it.
    with pytest.raises(ValidationError) as refused:
        _record_directly(users, applicant, "论文-1", kind="paper_sole", credits="30", evidence="")
    assert "evidence" in refused.value.message_dict


def test_evidence_on_more_than_one_line_is_refused(applicant, users):
    with pytest.raises(ValidationError) as refused:
        _record_directly(users, applicant, "Z-1", evidence="第一行\n第二行")
    assert "evidence" in refused.value.message_dict


def test_the_record_page_asks_for_evidence_and_the_staff_ledger_shows_it(
    applicant, users, client_for
):
    officer = client_for(users["district_officer"])
    data = {
        "id_number": applicant.reveal_id_number(),
        "year": THIS_YEAR,
        "kind": "exam_subject",
        "credits": "90",
        "reference": "Z-1",
    }
    refused = officer.post("/staff/credits/record/", data)
    assert refused.status_code == 422
    assert "学分折算表要求提供证明材料" in refused.content.decode()
    assert not CreditEntry.objects.exists()
    done = officer.post("/staff/credits/record/", data | {"evidence": "鄂财会〔2026〕12号"})
    assert done.status_code == 302
    assert CreditEntry.objects.get().evidence == "鄂财会〔2026〕12号"
    page = officer.get(f"/staff/learners/{applicant.pk}/study/").content.decode()
    assert "证明材料" in page and "鄂财会〔2026〕12号" in page
