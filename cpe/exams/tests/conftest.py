"""Fixtures of the exam tests: a learner enrolled on a course with an exam and a bank."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cpe.accounts.roles import Role
from cpe.accounts.services import user_create
from cpe.core.services import Actor
from cpe.core.testing import TEST_PASSWORD
from cpe.exams.testing import make_bank
from cpe.learning.testing import Enrolment, enrolment

SYSTEM = Actor.for_system("tests")


@pytest.fixture
def make_enrolment(regions: dict[str, Any]) -> Callable[..., Enrolment]:
    """A Jiang'an learner (with an account) and a one-hour course with an exam in their plan;
    a bank of 4 single, 3 multiple and 3 true/false questions unless told."""
    counter = iter(range(1, 1000))

    def make(*, bank: bool = True, lessons: int = 2, **bank_sizes: int) -> Enrolment:
        number = next(counter)
        user = user_create(
            actor=SYSTEM,
            username=f"exam-learner-{number}",
            password=TEST_PASSWORD,
            role=Role.LEARNER,
            region=regions["420102"],
        )
        made = enrolment(
            district=regions["420102"],
            lessons=[("reading", 60)] * lessons,
            sequence=number,
            user=user,
            exam_required=True,
        )
        if bank:
            make_bank(made.course, **bank_sizes)
        return made

    return make
