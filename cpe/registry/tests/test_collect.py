from __future__ import annotations

import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections

from cpe.core.models import AuditEntry
from cpe.core.services import Actor
from cpe.core.testing import database_dump
from cpe.registry.models import Learner
from cpe.registry.services import (
    LearnerDetails,
    learner_collect,
    learner_find_by_id_number,
    learner_id_number_reveal,
)

ID_NUMBER = "42010219800101159X"  # valid: region 420102, born 1980-01-01, male
LEGACY = "420102800101159"  # the same person's pre-1999 15-digit number


def details(**changes) -> LearnerDetails:
    values = {
        "id_number": ID_NUMBER,
        "name": "张晓梅",
        "mobile": "13800138000",
        "employer_name": "武汉市某某会计师事务所",
        "qualification_level": "junior",
        "qualification_year": 2020,
        "employer_uscc": "91350100M000100Y43",
    }
    values.update(changes)
    return LearnerDetails(**values)


@pytest.fixture
def officer(users) -> Actor:
    return Actor(user=users["district_officer"], ip="192.0.2.30")


def test_an_officer_collects_a_learner_with_derived_birth_date_and_gender(officer, regions):
    learner = learner_collect(actor=officer, district=regions["420102"], details=details())
    assert learner.id_number_masked == "420102********159X"
    assert str(learner.birth_date) == "1980-01-01" and learner.gender == "male"
    assert learner.reveal_id_number() == ID_NUMBER
    assert learner.status_changes.get().to_status == "collected"
    entry = AuditEntry.objects.get(action="learner.collect", target_id=str(learner.pk))
    assert entry.changes["after"]["id_number_masked"] == "420102********159X"
    assert ID_NUMBER not in str(entry.changes)


def test_a_second_collection_of_the_same_person_names_the_district_that_holds_them(
    officer, users, regions
):
    learner_collect(actor=officer, district=regions["420102"], details=details())
    hongshan = Actor(user=users["officer_elsewhere"])
    with pytest.raises(ValidationError) as error:
        learner_collect(
            actor=hongshan,
            district=regions["420111"],
            details=details(id_number=ID_NUMBER.lower(), name="张晓梅"),
        )
    assert "江岸区" in error.value.message_dict["id_number"][0]
    assert Learner.objects.count() == 1


def test_every_field_error_is_reported_at_once_and_nothing_is_written(officer, regions):
    with pytest.raises(ValidationError) as error:
        learner_collect(
            actor=officer,
            district=regions["420102"],
            details=details(
                id_number="420102198001011232",
                name="X",
                mobile="123",
                employer_uscc="91350100M000100Y44",
                qualification_year=None,
            ),
        )
    assert set(error.value.message_dict) == {
        "id_number",
        "name",
        "mobile",
        "employer_uscc",
        "qualification_year",
    }
    assert not Learner.objects.exists()
    assert not AuditEntry.objects.filter(action="learner.collect").exists()


def test_an_officer_cannot_collect_for_another_district(officer, regions):
    with pytest.raises(PermissionDenied):
        learner_collect(actor=officer, district=regions["420111"], details=details())


def test_exact_search_finds_the_person_by_any_form_of_their_number(officer, regions):
    learner = learner_collect(actor=officer, district=regions["420102"], details=details())
    assert learner_find_by_id_number(" 42010219800101159x ") == learner
    assert learner_find_by_id_number("110105194912310021") is None
    assert learner_find_by_id_number("nonsense") is None


def test_a_legacy_number_is_stored_in_its_18_digit_form(officer, regions):
    learner = learner_collect(
        actor=officer, district=regions["420102"], details=details(id_number=LEGACY)
    )
    assert learner.reveal_id_number() == ID_NUMBER
    assert learner_find_by_id_number(LEGACY) == learner
    assert learner_find_by_id_number(ID_NUMBER) == learner


def test_only_an_officer_of_the_learners_district_may_see_the_full_number(officer, users, regions):
    learner = learner_collect(actor=officer, district=regions["420102"], details=details())
    assert learner_id_number_reveal(actor=officer, learner=learner) == ID_NUMBER
    assert (
        AuditEntry.objects.filter(
            action="learner.reveal_id_number", actor=users["district_officer"]
        ).count()
        == 1
    )
    for role in ("officer_elsewhere", "city_admin", "superuser", "auditor"):
        with pytest.raises(PermissionDenied):
            learner_id_number_reveal(actor=Actor(user=users[role]), learner=learner)


def test_no_plaintext_id_number_is_stored_anywhere(officer, regions):
    numbers = [ID_NUMBER, "11010519491231002X", "420102198502020021"]
    for index, number in enumerate(numbers):
        learner_collect(
            actor=officer,
            district=regions["420102"],
            details=details(id_number=number, mobile=f"1380013800{index}"),
        )
    learner = Learner.objects.first()
    learner_id_number_reveal(actor=officer, learner=learner)  # the audited reveal too
    dump = database_dump()
    assert "420102********159X" in dump  # the dump does contain the learners
    for number in numbers:
        assert number not in dump and number.lower() not in dump
        assert number[:17] not in dump  # nor the number without its check character


@pytest.mark.django_db(transaction=True)
def test_two_officers_collecting_the_same_person_at_once_make_one_record(regions, users):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def collect() -> None:
        try:
            barrier.wait()
            learner_collect(
                actor=Actor(user=users["district_officer"]),
                district=regions["420102"],
                details=details(),
            )
            outcomes.append("created")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=collect) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created", "refused"]
    assert Learner.objects.count() == 1
