"""Fixtures and helpers of the registry tests: learners collected through the service, text
messages written to files (the file SMS backend) so a test reads the code it was sent,
uploads kept in a temporary folder, and the steps of an import."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cpe.core.services import Actor
from cpe.registry import import_samples as samples
from cpe.registry.imports import (
    FileRefused,
    learner_import_apply,
    learner_import_check,
    learner_import_confirm,
    learner_import_start,
)
from cpe.registry.models import Learner, LearnerImport
from cpe.registry.services import LearnerDetails, learner_collect

# Valid ID numbers (GB 11643 check characters) for the sign-in tests.
ZHANG = "420102199203010039"  # Jiang'an, born 1992-03-01
LI = "420102199203010055"  # Jiang'an, same birth date
NOT_COLLECTED_HONGSHAN = "420111198808080015"
NOT_COLLECTED_BEIJING = "110105198702020030"
NOT_COLLECTED_XILING = "420502198001010011"


@pytest.fixture(autouse=True)
def sms_dir(settings: Any, tmp_path: Path) -> Path:
    settings.SMS_BACKEND = "cpe.accounts.sms.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    return tmp_path / "sms"


@pytest.fixture
def sent_messages(sms_dir: Path) -> Callable[[], list[str]]:
    def read() -> list[str]:
        if not sms_dir.exists():
            return []
        return [p.read_text(encoding="utf-8") for p in sorted(sms_dir.iterdir())]

    return read


@pytest.fixture
def last_code(sent_messages: Callable[[], list[str]]) -> Callable[[], str]:
    def read() -> str:
        messages = sent_messages()
        assert messages, "no text message was sent"
        match = re.search(r"(?<!\d)(\d{6})(?!\d)", messages[-1].split("\n\n", 1)[1])
        assert match, messages[-1]
        return match.group(1)

    return read


@pytest.fixture
def collect(users: dict[str, Any], regions: dict[str, Any]) -> Callable[..., Learner]:
    officer = Actor(user=users["district_officer"])

    def make(
        id_number: str = ZHANG, name: str = "张三", mobile: str = "13912345678", **extra: Any
    ) -> Learner:
        details = LearnerDetails(
            id_number=id_number,
            name=name,
            mobile=mobile,
            employer_name="武汉某某有限公司",
            qualification_level="junior",
            qualification_year=2018,
            **extra,
        )
        return learner_collect(actor=officer, district=regions["420102"], details=details)

    return make


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def officer(users: dict[str, Any]) -> Actor:
    """The Jiang'an district officer."""
    return Actor(user=users["district_officer"], ip="192.0.2.40")


@pytest.fixture
def hongshan_officer(users: dict[str, Any]) -> Actor:
    return Actor(user=users["officer_elsewhere"], ip="192.0.2.41")


def no_progress(*args: Any, **kwargs: Any) -> None:
    return None


def upload(content: bytes, name: str = "learners.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def checked(actor: Actor, content: bytes, name: str = "learners.xlsx") -> LearnerImport:
    """Upload a file and run its check here (the queued job is left alone)."""
    district = actor.user.region
    learner_import = learner_import_start(
        actor=actor, district=district, upload=upload(content, name)
    )
    with suppress(FileRefused):  # a refused file is recorded on the import
        learner_import_check(learner_import=learner_import, progress=no_progress)
    learner_import.refresh_from_db()
    return learner_import


def applied(actor: Actor, learner_import: LearnerImport) -> LearnerImport:
    learner_import_confirm(actor=actor, learner_import=learner_import)
    learner_import_apply(actor=actor, learner_import=learner_import, progress=no_progress)
    learner_import.refresh_from_db()
    return learner_import


def rows(count: int, start: int = 0) -> list[list[object]]:
    return list(samples.people(count, start=start))


xlsx = samples.xlsx_bytes
csv_bytes = samples.csv_bytes
