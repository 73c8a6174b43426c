"""Fixtures shared by every test: demo regions, users of each role, a clean cache, inline jobs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from huey.contrib.djhuey import HUEY

from cpe.accounts.models import User
from cpe.accounts.roles import Role
from cpe.accounts.services import SECOND_FACTOR_SESSION_KEY, user_create
from cpe.core.services import Actor
from cpe.core.testing import TEST_PASSWORD as PASSWORD
from cpe.regions import demo as regions_demo
from cpe.regions.models import Region
from cpe.regions.services import bureau_save, region_upsert

SYSTEM = Actor.for_system("tests")


@pytest.fixture(autouse=True, scope="session")
def _jobs_run_inline() -> Iterator[None]:
    # Jobs run at commit time in the test process; one test runs a real consumer instead.
    HUEY.immediate = True
    yield
    HUEY.immediate = False


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # Argon2 is deliberately slow; tests that are about hashing ask for it themselves.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _files_in_tmp(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    # Uploads (evidence, import files) and job results go to a folder of the test's own,
    # never into the developer's var/.
    root = tmp_path_factory.mktemp("files")
    settings.MEDIA_ROOT = str(root / "media")
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": root / "private", "base_url": None},
        },
        "course_media": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": root / "course-media", "base_url": None},
        },
    }


@pytest.fixture(autouse=True)
def _heartbeats_straight_to_the_database(settings: Any) -> None:
    # Tests read what a heartbeat changed from the database at once; the heartbeat buffer's
    # own tests switch it on (cpe/learning/tests/test_heartbeat_buffer.py).
    settings.HEARTBEAT_BUFFER = False
    settings.HEARTBEAT_FLUSH_SECONDS = 0


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def system_actor() -> Actor:
    return SYSTEM


def _seed_regions() -> None:
    regions_demo.seed(SYSTEM)
    hubei = Region.objects.get(code="420000")
    yichang = region_upsert(
        actor=SYSTEM, code="420500", name="宜昌市", name_en="Yichang", parent=hubei
    )
    xiling = region_upsert(
        actor=SYSTEM, code="420502", name="西陵区", name_en="Xiling District", parent=yichang
    )
    bureau_save(
        actor=SYSTEM,
        region=xiling,
        name="西陵区财政局",
        address="宜昌市西陵区",
        phones="0717-1234567",
    )


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> None:
    # Seed the region tree once; each test's transaction is rolled back around it.
    with django_db_blocker.unblock():
        _seed_regions()


@pytest.fixture
def regions(db: Any) -> dict[str, Region]:
    """Hubei, Wuhan and its districts (the demo data), plus Yichang for out-of-scope checks."""
    if not Region.objects.filter(code="420502").exists():  # emptied by a transactional test
        _seed_regions()
    return {r.code: r for r in Region.objects.all()}


@pytest.fixture
def make_user(regions: dict[str, Region]) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(role: str, region_code: str | None = None, username: str | None = None) -> User:
        name = username or f"{role}-{next(counter)}"
        region = regions[region_code] if region_code else None
        return user_create(actor=SYSTEM, username=name, password=PASSWORD, role=role, region=region)

    return make


# One user per role, as the role matrix uses them.
ROLE_HOMES: dict[str, str | None] = {
    Role.LEARNER: "420102",
    Role.DISTRICT_OFFICER: "420102",
    Role.CITY_ADMIN: "420100",
    Role.PROVINCE_ADMIN: "420000",
    Role.COURSE_MANAGER: None,
    Role.SUPPORT: None,
    Role.AUDITOR: "420000",
    Role.SUPERUSER: None,
}


@pytest.fixture
def users(make_user: Callable[..., User]) -> dict[str, User]:
    people = {role: make_user(role, home, username=str(role)) for role, home in ROLE_HOMES.items()}
    people["officer_elsewhere"] = make_user(
        Role.DISTRICT_OFFICER, "420111", username="officer-hongshan"
    )
    people["city_admin_elsewhere"] = make_user(Role.CITY_ADMIN, "420500", username="city-yichang")
    return people


@pytest.fixture
def client_for() -> Callable[[User | None], Client]:
    """A test client signed in as `user`, as if through the whole staff sign-in.

    SecondFactorMiddleware signs out staff sessions that did not give an authenticator
    code, so the session is marked as having given one (the code step has its own tests).
    """

    def make(user: User | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
            session = client.session
            session[SECOND_FACTOR_SESSION_KEY] = "test"
            session.save()
        return client

    return make
