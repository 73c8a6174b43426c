"""The event loop's lean Redis client, against a real Redis: replies matched to their
commands in order, scripts by digest, errors, a lost connection and a silent server."""

from __future__ import annotations

import asyncio
import socket
import uuid

import pytest
import redis

from cpe.core import redis_loop
from cpe.core.redis_loop import LoopRedis, RedisLoopError, ReplyError, loop_redis
from cpe.core.testing import run_coroutine
from cpe.learning.tests.conftest import buffer_redis_url


@pytest.fixture
def url():
    url = buffer_redis_url()
    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError:
        pytest.skip(f"needs Redis ({url})")
    return url


@pytest.fixture
def key(url):
    name = f"test:loop:{uuid.uuid4().hex[:12]}"
    yield name
    redis.Redis.from_url(url).delete(name, f"{name}:list")


def test_many_commands_at_once_each_get_their_own_reply(url, key):
    async def main():
        client = LoopRedis(url)
        replies = await asyncio.gather(
            *(client.call("HSET", key, f"f{n}", n) for n in range(200)),
            *(client.call("RPUSH", f"{key}:list", n) for n in range(200)),
        )
        flat = await client.call("HGETALL", key)
        client.close()
        return replies, dict(zip(flat[::2], flat[1::2], strict=True))

    replies, stored = run_coroutine(main())
    assert replies[:200] == [1] * 200
    assert replies[200:] == list(range(1, 201))  # each push saw the ones before it
    assert stored == {f"f{n}": str(n) for n in range(200)}
    # The database the URL names (Redis's /15 in the tests), not database 0.
    assert redis.Redis.from_url(url).hlen(key) == 200


def test_a_script_is_sent_by_digest_and_loaded_again_when_redis_lost_it(url, key):
    source = "return redis.call('INCRBY', KEYS[1], ARGV[1])"

    async def main():
        client = LoopRedis(url)
        first = await client.script(source, [key], [5])
        await client.call("SCRIPT", "FLUSH")
        second = await client.script(source, [key], [2])
        client.close()
        return first, second

    assert run_coroutine(main()) == (5, 7)


def test_an_error_reply_fails_its_command_only(url, key):
    async def main():
        client = LoopRedis(url)
        await client.call("SET", key, "text")
        wrong = client.call("HGETALL", key)  # the wrong type
        right = client.call("GET", key)
        results = await asyncio.gather(wrong, right, return_exceptions=True)
        client.close()
        return results

    wrong, right = run_coroutine(main())
    assert isinstance(wrong, ReplyError) and "WRONGTYPE" in str(wrong)
    assert right == "text"


def test_a_killed_connection_fails_what_waited_and_the_next_command_connects_again(url, key):
    async def main():
        client = LoopRedis(url)
        await client.call("SET", key, "1")
        me = await client.call("CLIENT", "ID")
        redis.Redis.from_url(url).client_kill_filter(_id=me)
        with pytest.raises(RedisLoopError):
            await client.call("BLPOP", f"{key}:list", 1)
        value = await client.call("GET", key)
        client.close()
        return value

    assert run_coroutine(main()) == "1"


def test_a_server_that_does_not_answer_fails_the_command_in_time(monkeypatch):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    monkeypatch.setattr(redis_loop, "TIMEOUT_SECONDS", 0.5)

    async def main():
        client = LoopRedis(f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        with pytest.raises(RedisLoopError):
            await asyncio.wait_for(client.call("PING"), 5)

    try:
        run_coroutine(main())
    finally:
        silent.close()


def test_nothing_listening_is_a_connection_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def main():
        await LoopRedis(f"redis://127.0.0.1:{port}/0").call("PING")

    with pytest.raises(RedisLoopError):
        run_coroutine(main())


def test_each_event_loop_has_its_own_client(url):
    async def client():
        return loop_redis(url)

    async def twice():
        return await client(), await client()

    first, second = run_coroutine(twice())
    assert first is second
    assert run_coroutine(client()) is not first
    with pytest.raises(ValueError, match="scheme"):
        LoopRedis("http://127.0.0.1:6379/0")
