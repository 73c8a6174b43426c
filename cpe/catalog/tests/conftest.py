"""Fixtures of the catalog's tests: a course manager and the actor that stands for them."""

from __future__ import annotations

import pytest

from cpe.accounts.roles import Role
from cpe.core.services import Actor


@pytest.fixture
def manager(make_user):
    return make_user(Role.COURSE_MANAGER, username="courses")


@pytest.fixture
def actor(manager) -> Actor:
    return Actor(user=manager, ip="127.0.0.1")


@pytest.fixture
def hubei(regions):
    return regions["420000"]
