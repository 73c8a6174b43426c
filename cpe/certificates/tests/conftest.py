"""Fixtures of the certificate tests: a learner with a complete year in the ledger."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cpe.certificates.testing import complete_year
from cpe.learning.testing import collected_learner
from cpe.registry.models import Learner


@pytest.fixture
def make_learner(regions: dict[str, Any]) -> Callable[..., Learner]:
    counter = iter(range(1, 1000))

    def make(district: str = "420102", user: Any = None) -> Learner:
        return collected_learner(district=regions[district], sequence=next(counter), user=user)

    return make


@pytest.fixture
def learner(make_learner: Callable[..., Learner]) -> Learner:
    return make_learner()


@pytest.fixture
def completed(learner: Learner) -> tuple[Learner, int]:
    return learner, complete_year(learner)
