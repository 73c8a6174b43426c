"""With REDIS_URL set (CI's second run), sessions and rate limits live in Redis."""

from __future__ import annotations

import pytest
from django.conf import settings

from cpe.core.testing import TEST_PASSWORD as PASSWORD

pytestmark = pytest.mark.skipif(
    not settings.REDIS_URL, reason="REDIS_URL is not set (CI sets it in its second run)"
)


@pytest.fixture
def redis_client():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def test_a_session_is_stored_in_redis(client, users, redis_client):
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cache"
    client.post("/staff/login/", {"username": "auditor", "password": PASSWORD})
    key = client.session.session_key
    assert key
    assert any(key in name.decode() for name in redis_client.keys("*"))


def test_failed_sign_ins_are_counted_in_redis(client, users, redis_client):
    client.post("/staff/login/", {"username": "auditor", "password": "wrong"})
    assert [name for name in redis_client.keys("*rl:login-account:*")]
