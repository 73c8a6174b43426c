"""Fixtures of the credit tests: a learner whose first required year is the current one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cpe.learning.testing import collected_learner
from cpe.registry.models import Learner


@pytest.fixture
def make_learner(regions: dict[str, Any]) -> Callable[..., Learner]:
    counter = iter(range(1, 1000))

    def make() -> Learner:
        return collected_learner(district=regions["420102"], sequence=next(counter))

    return make


@pytest.fixture
def learner(make_learner: Callable[..., Learner]) -> Learner:
    return make_learner()
