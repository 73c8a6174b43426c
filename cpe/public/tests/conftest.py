"""Fixtures of the public query's tests: a person with three required years, low
proof-of-work difficulty, and an API caller that can pretend to come from any address."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from cpe.credits.models import CreditEntry
from cpe.credits.testing import record
from cpe.learning.testing import collected_learner
from cpe.registry.models import Learner

URL = "/api/v1/public/credit-query"
NAME = "张晓梅"  # cpe.registry.testing.learner_details


@pytest.fixture(autouse=True)
def _query_limits(settings: Any) -> None:
    # Small numbers, so the tests reach every limit quickly and solve proofs in milliseconds.
    settings.PUBLIC_QUERY_RATE_IP = "8/3600"
    settings.PUBLIC_QUERY_RATE_ID = "5/3600"
    settings.PUBLIC_QUERY_FREE = "3/600"
    settings.PUBLIC_QUERY_POW_BITS = 4
    settings.PUBLIC_QUERY_POW_MAX_BITS = 8
    settings.PUBLIC_QUERY_POW_SECONDS = 300
    settings.PUBLIC_QUERY_RATE_OFFICE = "20/3600"


@pytest.fixture
def this_year() -> int:
    return timezone.localdate().year


@pytest.fixture
def person(regions: dict[str, Any], this_year: int) -> Learner:
    """Qualified three years ago: the year before last complete, last year begun, this year
    not started."""
    learner = collected_learner(
        district=regions["420102"], sequence=7, qualification_year=this_year - 3
    )
    record(learner, 60, year=this_year - 2)
    record(learner, 30, year=this_year - 2, category=CreditEntry.Category.PUBLIC)
    record(learner, 20, year=this_year - 1)
    return Learner.objects.select_related("district").get(pk=learner.pk)


@pytest.fixture
def id_number(person: Learner) -> str:
    return person.reveal_id_number()


@pytest.fixture
def ask() -> Callable[..., Any]:
    """POST a query to the API as if from `ip` (REMOTE_ADDR), with optional headers."""
    client = Client()

    def post(body: dict[str, Any], *, ip: str = "203.0.113.5", **headers: str) -> Any:
        return client.post(
            URL, body, content_type="application/json", REMOTE_ADDR=ip, headers=headers
        )

    return post
