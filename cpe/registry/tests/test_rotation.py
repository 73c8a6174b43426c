from __future__ import annotations

import base64
import io

import pytest
from django.core.management import call_command

from cpe.core.models import AuditEntry
from cpe.core.services import Actor
from cpe.registry.crypto import DecryptionError, key_id_of
from cpe.registry.models import Learner
from cpe.registry.services import LearnerDetails, learner_collect, learner_find_by_id_number

OLD = base64.b64encode(b"o" * 32).decode()
NEW = base64.b64encode(b"n" * 32).decode()
NUMBERS = ["42010219800101159X", "11010519491231002X", "420102198502020021"]


@pytest.fixture
def collected(users, regions, settings) -> list[Learner]:
    settings.FIELD_ENCRYPTION_KEYS = f"old:{OLD}"
    officer = Actor(user=users["district_officer"])
    return [
        learner_collect(
            actor=officer,
            district=regions["420102"],
            details=LearnerDetails(
                id_number=number,
                name="张晓梅",
                mobile=f"1380013800{index}",
                employer_name="某某公司",
                qualification_level="none",
            ),
        )
        for index, number in enumerate(NUMBERS)
    ]


def test_rotation_moves_every_value_to_the_new_key_in_batches(collected, settings):
    settings.FIELD_ENCRYPTION_KEYS = f"new:{NEW},old:{OLD}"
    out = io.StringIO()
    call_command("rotate_field_keys", "--batch-size", "2", stdout=out)
    assert "re-encrypted 3" in out.getvalue()
    assert {
        key_id_of(t) for t in Learner.objects.values_list("id_number_encrypted", flat=True)
    } == {"new"}
    settings.FIELD_ENCRYPTION_KEYS = f"new:{NEW}"  # the old key can now be removed
    assert sorted(learner.reveal_id_number() for learner in Learner.objects.all()) == sorted(
        NUMBERS
    )
    entry = AuditEntry.objects.get(action="learner.rotate_keys")
    assert entry.changes["after"]["reencrypted"] == 3


def test_a_second_run_changes_nothing(collected, settings):
    settings.FIELD_ENCRYPTION_KEYS = f"new:{NEW},old:{OLD}"
    call_command("rotate_field_keys", stdout=io.StringIO())
    before = list(Learner.objects.values_list("id_number_encrypted", flat=True))
    out = io.StringIO()
    call_command("rotate_field_keys", stdout=out)
    assert "re-encrypted 0, rehashed 0" in out.getvalue()
    assert list(Learner.objects.values_list("id_number_encrypted", flat=True)) == before


def test_a_new_hash_key_keeps_exact_search_working_after_rotation(collected, settings):
    settings.LOOKUP_HASH_KEY = NEW
    assert learner_find_by_id_number(NUMBERS[0]) is None  # old hashes no longer match
    call_command("rotate_field_keys", stdout=io.StringIO())
    assert learner_find_by_id_number(NUMBERS[0]) == collected[0]


def test_without_the_old_key_rotation_stops_and_says_why(collected, settings):
    settings.FIELD_ENCRYPTION_KEYS = f"new:{NEW}"
    with pytest.raises(DecryptionError):
        call_command("rotate_field_keys", stdout=io.StringIO())


def test_check_counts_values_per_key(collected, settings):
    settings.FIELD_ENCRYPTION_KEYS = f"new:{NEW},old:{OLD}"
    out = io.StringIO()
    call_command("rotate_field_keys", "--check", stdout=out)
    assert out.getvalue().strip() == "old: 3"
