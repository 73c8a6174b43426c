from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from cpe.core.models import AuditEntry
from cpe.core.services import Actor
from cpe.core.testing import database_dump
from cpe.registry.models import Learner, LearnerEvidence
from cpe.registry.services import (
    learner_collect,
    learner_deregister,
    learner_evidence_attach,
    learner_evidence_open,
    learner_evidence_remove,
    learner_find_by_id_number,
    learner_reinstate,
    learner_transfer_accept,
    learner_transfer_cancel,
    learner_transfer_decline,
    learner_transfer_request,
    learner_update,
)
from cpe.registry.testing import (
    ID_NUMBER,
    JPEG_BYTES,
    PDF_BYTES,
    PNG_BYTES,
    learner_details,
    make_id_number,
)


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "private", "base_url": None},
        },
    }


@pytest.fixture
def officer(users) -> Actor:
    return Actor(user=users["district_officer"], ip="192.0.2.30")


@pytest.fixture
def hongshan(users) -> Actor:
    return Actor(user=users["officer_elsewhere"], ip="192.0.2.31")


@pytest.fixture
def learner(officer, regions) -> Learner:
    return learner_collect(actor=officer, district=regions["420102"], details=learner_details())


def test_an_officer_corrects_a_record_and_the_audit_shows_only_what_changed(officer, learner):
    learner_update(
        actor=officer,
        learner=learner,
        details=learner_details(id_number="", mobile="13900139000"),
        reason="新手机",
    )
    learner.refresh_from_db()
    assert learner.mobile == "13900139000" and learner.reveal_id_number() == ID_NUMBER
    entry = AuditEntry.objects.get(action="learner.update")
    assert entry.changes == {
        "before": {"mobile": "13800138000"},
        "after": {"mobile": "13900139000"},
    }
    assert entry.reason == "新手机"


def test_saving_the_same_details_again_writes_nothing(officer, learner):
    learner_update(actor=officer, learner=learner, details=learner_details(id_number=""))
    learner_update(actor=officer, learner=learner, details=learner_details())
    assert not AuditEntry.objects.filter(action="learner.update").exists()


def test_correcting_the_id_number_rederives_birth_date_and_gender(officer, learner):
    corrected = make_id_number("420102", "19850612", 2)  # an even sequence: female
    learner_update(actor=officer, learner=learner, details=learner_details(id_number=corrected))
    learner.refresh_from_db()
    assert learner_find_by_id_number(corrected) == learner
    assert learner_find_by_id_number(ID_NUMBER) is None
    assert str(learner.birth_date) == "1985-06-12" and learner.gender == "female"
    entry = AuditEntry.objects.get(action="learner.update")
    assert "id_number" in entry.changes["after"] and corrected not in str(entry.changes)


def test_correcting_to_a_number_someone_else_holds_is_refused(officer, learner, regions):
    other = make_id_number(sequence=7)
    learner_collect(
        actor=officer, district=regions["420102"], details=learner_details(id_number=other)
    )
    with pytest.raises(ValidationError) as error:
        learner_update(actor=officer, learner=learner, details=learner_details(id_number=other))
    assert "江岸区" in error.value.message_dict["id_number"][0]
    assert learner_find_by_id_number(ID_NUMBER) == learner


def test_bad_corrections_report_every_field_and_change_nothing(officer, learner):
    with pytest.raises(ValidationError) as error:
        learner_update(
            actor=officer,
            learner=learner,
            details=learner_details(id_number="", name="", mobile="12"),
        )
    assert set(error.value.message_dict) == {"name", "mobile"}
    learner.refresh_from_db()
    assert learner.name == "张晓梅" and learner.mobile == "13800138000"


def test_officers_of_other_districts_and_readers_cannot_change_a_record(users, learner):
    for role in ("officer_elsewhere", "city_admin", "auditor", "support"):
        actor = Actor(user=users[role])
        with pytest.raises(PermissionDenied):
            learner_update(
                actor=actor, learner=learner, details=learner_details(mobile="13911112222")
            )
        with pytest.raises(PermissionDenied):
            learner_deregister(actor=actor, learner=learner, reason="x")


def test_an_id_number_in_a_status_changes_reason_is_kept_masked(officer, learner, regions):
    number = make_id_number(sequence=77)
    learner_transfer_request(
        actor=officer, learner=learner, to_district=regions["420111"], reason=f"与 {number} 对调"
    )
    change = learner.status_changes.get(to_status="transfer_pending")
    assert change.reason == f"与 {number[:6]}********{number[-4:]} 对调"


def test_a_transfer_moves_the_learner_only_when_the_receiving_district_accepts(
    officer, hongshan, learner, regions
):
    learner_transfer_request(
        actor=officer, learner=learner, to_district=regions["420111"], reason="换工作到洪山"
    )
    learner.refresh_from_db()
    assert learner.status == "transfer_pending" and learner.district == regions["420102"]
    with pytest.raises(ValidationError):  # the record is frozen while the transfer waits
        learner_update(
            actor=officer, learner=learner, details=learner_details(mobile="13911112222")
        )
    with pytest.raises(PermissionDenied):  # the sender cannot accept on the receiver's behalf
        learner_transfer_accept(actor=officer, learner=learner)
    learner_transfer_accept(actor=hongshan, learner=learner)
    learner.refresh_from_db()
    assert learner.status == "collected" and learner.district == regions["420111"]
    assert learner.transfer_to is None
    history = [
        (c.from_status, c.to_status, c.to_district.code) for c in learner.status_changes.all()
    ]
    assert history == [
        ("", "collected", "420102"),
        ("collected", "transfer_pending", "420102"),
        ("transfer_pending", "collected", "420111"),
    ]
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"learner.transfer_request", "learner.transfer_accept"} <= actions
    # Now Jiang'an can no longer change the record and Hongshan can.
    with pytest.raises(PermissionDenied):
        learner_update(
            actor=officer, learner=learner, details=learner_details(mobile="13911112222")
        )
    learner_update(actor=hongshan, learner=learner, details=learner_details(mobile="13911112222"))


def test_a_learner_with_an_account_takes_it_along_to_the_new_district(
    officer, hongshan, learner, regions, make_user
):
    account = make_user("learner", "420102")
    Learner.objects.filter(pk=learner.pk).update(user=account)
    learner.refresh_from_db()
    learner_transfer_request(
        actor=officer, learner=learner, to_district=regions["420111"], reason="调动"
    )
    learner_transfer_accept(actor=hongshan, learner=learner)
    account.refresh_from_db()
    assert account.region == regions["420111"]


def test_a_declined_or_withdrawn_transfer_leaves_the_learner_where_they_were(
    officer, hongshan, learner, regions
):
    learner_transfer_request(
        actor=officer, learner=learner, to_district=regions["420111"], reason="a"
    )
    with pytest.raises(ValidationError) as error:
        learner_transfer_decline(actor=hongshan, learner=learner, reason="  ")
    assert "reason" in error.value.message_dict
    learner_transfer_decline(actor=hongshan, learner=learner, reason="不在本区工作")
    learner.refresh_from_db()
    assert (learner.status, learner.district.code, learner.transfer_to) == (
        "collected",
        "420102",
        None,
    )
    learner_transfer_request(
        actor=officer, learner=learner, to_district=regions["420111"], reason="b"
    )
    learner_transfer_cancel(actor=officer, learner=learner)
    learner.refresh_from_db()
    assert (learner.status, learner.district.code) == ("collected", "420102")
    with pytest.raises(ValidationError):
        learner_transfer_cancel(actor=officer, learner=learner)


def test_a_transfer_to_the_same_district_or_a_city_is_refused(officer, learner, regions):
    for target in ("420102", "420100"):
        with pytest.raises(ValidationError) as error:
            learner_transfer_request(
                actor=officer, learner=learner, to_district=regions[target], reason="x"
            )
        assert "to_district" in error.value.message_dict
    learner.refresh_from_db()
    assert learner.status == "collected"


def test_deregistering_closes_the_account_and_reinstating_opens_it(
    officer, learner, regions, make_user
):
    account = make_user("learner", "420102")
    Learner.objects.filter(pk=learner.pk).update(user=account)
    learner.refresh_from_db()
    with pytest.raises(ValidationError):
        learner_deregister(actor=officer, learner=learner, reason="")
    learner_deregister(actor=officer, learner=learner, reason="调离会计岗位")
    account.refresh_from_db()
    learner.refresh_from_db()
    assert learner.status == "deregistered" and not account.is_active
    with pytest.raises(ValidationError):
        learner_deregister(actor=officer, learner=learner, reason="again")
    learner_reinstate(actor=officer, learner=learner, reason="回到会计岗位")
    account.refresh_from_db()
    assert account.is_active
    assert AuditEntry.objects.get(action="learner.deregister").reason == "调离会计岗位"


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(PDF_BYTES, "application/pdf"), (PNG_BYTES, "image/png"), (JPEG_BYTES, "image/jpeg")],
)
def test_documents_are_typed_by_their_content_not_their_name(
    officer, learner, content, content_type, tmp_path
):
    upload = SimpleUploadedFile("scan.txt", content, content_type="text/plain")
    evidence = learner_evidence_attach(
        actor=officer, learner=learner, kind="employment", upload=upload
    )
    assert evidence.content_type == content_type and evidence.size == len(content)
    # Kept on the private storage as configured now, never under MEDIA_ROOT.
    assert Path(evidence.file.path).is_relative_to(tmp_path / "private")
    with evidence.file.open("rb") as handle:
        assert handle.read() == content
    assert AuditEntry.objects.filter(action="learner.evidence_attach").count() == 1


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"MZ\x90\x00 an executable renamed to .pdf", "file_type"),
        (b"<html><body>not a scan</body></html>", "file_type"),
        (PDF_BYTES[:20], "file_damaged"),  # cut short: no end-of-file marker
        (PNG_BYTES[:-12], "file_damaged"),
        (JPEG_BYTES[:-2], "file_damaged"),
        (b"", "file_empty"),
    ],
)
def test_wrong_or_damaged_files_are_refused_and_nothing_is_kept(officer, learner, content, code):
    upload = SimpleUploadedFile("scan.pdf", content, content_type="application/pdf")
    with pytest.raises(ValidationError) as error:
        learner_evidence_attach(actor=officer, learner=learner, kind="employment", upload=upload)
    assert error.value.error_dict["file"][0].code == code
    assert not LearnerEvidence.objects.exists()


def test_a_file_over_ten_megabytes_is_refused_with_its_size(officer, learner, tmp_path):
    content = PDF_BYTES + b"0" * (10 * 1024 * 1024)
    upload = SimpleUploadedFile("big.pdf", content, content_type="application/pdf")
    with pytest.raises(ValidationError) as error:
        learner_evidence_attach(actor=officer, learner=learner, kind="employment", upload=upload)
    assert "10 MB" in error.value.message_dict["file"][0]
    assert not LearnerEvidence.objects.exists()
    assert not list((tmp_path / "private").rglob("*.pdf"))


def test_an_id_number_in_a_file_name_is_masked_before_it_is_stored(officer, learner):
    upload = SimpleUploadedFile(f"{ID_NUMBER}-证书.pdf", PDF_BYTES)
    evidence = learner_evidence_attach(
        actor=officer, learner=learner, kind="qualification", upload=upload
    )
    assert evidence.original_name == "420102********159X-证书.pdf"
    assert ID_NUMBER not in evidence.file.name


def test_opening_a_document_is_audited_and_limited_to_the_learners_area(officer, users, learner):
    evidence = learner_evidence_attach(
        actor=officer,
        learner=learner,
        kind="employment",
        upload=SimpleUploadedFile("a.png", PNG_BYTES),
    )
    city = Actor(user=users["city_admin"])
    with learner_evidence_open(actor=city, evidence=evidence) as handle:
        assert handle.read() == PNG_BYTES
    assert AuditEntry.objects.filter(
        action="learner.evidence_view", actor=users["city_admin"]
    ).exists()
    for role in ("officer_elsewhere", "city_admin_elsewhere", "course_manager"):
        with pytest.raises(PermissionDenied):
            learner_evidence_open(actor=Actor(user=users[role]), evidence=evidence)


def test_removing_a_document_deletes_the_file_and_keeps_a_note(
    officer, learner, django_capture_on_commit_callbacks
):
    evidence = learner_evidence_attach(
        actor=officer,
        learner=learner,
        kind="employment",
        upload=SimpleUploadedFile("a.pdf", PDF_BYTES),
    )
    storage, name = evidence.file.storage, evidence.file.name
    with django_capture_on_commit_callbacks(execute=True):
        learner_evidence_remove(actor=officer, evidence=evidence, reason="传错了")
    assert not LearnerEvidence.objects.exists() and not storage.exists(name)
    entry = AuditEntry.objects.get(action="learner.evidence_remove")
    assert entry.changes["before"]["original_name"] == "a.pdf" and entry.reason == "传错了"


def test_console_work_leaves_no_plaintext_id_number_in_the_database(officer, hongshan, regions):
    first, corrected = make_id_number(sequence=11), make_id_number(sequence=13)
    learner = learner_collect(
        actor=officer, district=regions["420102"], details=learner_details(id_number=first)
    )
    learner_update(actor=officer, learner=learner, details=learner_details(id_number=corrected))
    learner_evidence_attach(
        actor=officer,
        learner=learner,
        kind="employment",
        upload=SimpleUploadedFile(f"{corrected}.pdf", PDF_BYTES),
    )
    learner_transfer_request(
        actor=officer,
        learner=learner,
        to_district=regions["420111"],
        reason=f"号码 {corrected}"[:2],
    )
    learner_transfer_accept(actor=hongshan, learner=learner)
    dump = database_dump()
    assert learner.id_number_masked in dump
    for number in (first, corrected):
        assert number not in dump and number[:17] not in dump
