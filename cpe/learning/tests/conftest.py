"""Fixtures of the learning tests: learners collected through the service, courses of the
catalog built directly (the catalog's own services are another part's), and plans."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable
from decimal import Decimal

import pytest
import redis
from django.utils import timezone

from cpe.accounts.models import User
from cpe.accounts.roles import Role
from cpe.accounts.services import user_create
from cpe.catalog.models import Course, CourseYear, Lesson, levels_mask
from cpe.core.services import Actor
from cpe.core.testing import TEST_PASSWORD
from cpe.regions.models import Region
from cpe.registry.models import Learner
from cpe.registry.services import learner_collect
from cpe.registry.testing import learner_details, make_id_number

_sequence = itertools.count(100)


SYSTEM = Actor.for_system("tests")


@pytest.fixture
def make_learner(regions: dict[str, Region]) -> Callable[..., Learner]:
    """A learner of Jiang'an with a user account; `qualification_year=None` with level none."""

    def make(
        qualification_year: int | None = 2020, level: str = "junior", district: str = "420102"
    ) -> Learner:
        number = next(_sequence)
        details = learner_details(
            id_number=make_id_number(district, sequence=number % 1000),
            mobile=f"139{number:08d}",
            qualification_year=qualification_year,
            qualification_level=level if qualification_year else "none",
        )
        learner = learner_collect(actor=SYSTEM, district=regions[district], details=details)
        learner.user = user_create(
            actor=SYSTEM,
            username=f"learner-{number}",
            password=TEST_PASSWORD,
            role=Role.LEARNER,
            region=regions[district],
        )
        learner.save(update_fields=["user"])
        return learner

    return make


@pytest.fixture
def make_course(regions: dict[str, Region]) -> Callable[..., Course]:
    """A published Hubei course offered in the given years (all years by default)."""
    codes = itertools.count(1)

    def make(
        code: str | None = None,
        *,
        category: str = "professional",
        class_hours: str | int = 10,
        years: list[int] | None = None,
        levels: list[str] | None = None,
        status: str = "published",
        region: str = "420000",
        title: str | None = None,
    ) -> Course:
        code = code or f"T{next(codes):04d}"
        course = Course.objects.create(
            region=regions[region],
            code=code,
            title=title or f"Course {code}",
            category=category,
            class_hours=Decimal(class_hours),
            target_levels=levels_mask(levels or []),
            status=status,
            published_at=timezone.now() if status == "published" else None,
        )
        for year in years if years is not None else range(2018, timezone.localdate().year + 1):
            CourseYear.objects.create(course=course, year=year)
        Lesson.objects.create(
            course=course, title="Lesson 1", kind="reading", duration_seconds=60, position=1
        )
        return course

    return make


@pytest.fixture
def learner_user(make_learner: Callable[..., Learner]) -> User:
    learner = make_learner()
    assert learner.user is not None
    return learner.user


def buffer_redis_url() -> str:
    """The Redis the heartbeat buffer's tests use (CI's, or a local one)."""
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


@pytest.fixture
def heartbeat_buffer(settings):
    """Switch the heartbeat buffer on, with keys of this test's own; skipped without Redis."""
    url = buffer_redis_url()
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"the heartbeat buffer needs Redis ({url})")
    prefix = f"test:hb:{uuid.uuid4().hex[:12]}:"
    settings.REDIS_URL = url
    settings.HEARTBEAT_BUFFER = True
    settings.HEARTBEAT_FLUSH_SECONDS = 0
    settings.HEARTBEAT_BUFFER_PREFIX = prefix
    yield client
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
