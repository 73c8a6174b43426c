"""Fixtures and helpers of the registry tests: officers, uploads kept in a temporary folder,
and the steps of an import."""

from __future__ import annotations

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
from cpe.registry.models import LearnerImport


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
