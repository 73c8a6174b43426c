"""A lean Redis client for one event loop: the heartbeat's few commands, pipelined.

redis-py's asyncio client spends about a tenth of a millisecond of Python per command
(a connection taken from its pool and given back, arguments encoded one by one, a timeout
per call), as much as the rest of a heartbeat's handling. Here each event loop keeps one
connection; commands are written as they come (those issued in the same turn of the loop
leave in one write) and their replies, which Redis sends in order, are matched to them in
that order and parsed by hiredis. Only what the fast path needs: a command and its reply,
a script by its digest (loaded again when Redis has lost it), reconnection after a broken
connection, and a deadline after which the connection is given up.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import time
import weakref
from typing import Any
from urllib.parse import unquote, urlsplit

import hiredis

# A command not answered within this long fails (with every command behind it), and the
# next one connects again.
TIMEOUT_SECONDS = 5.0


class RedisLoopError(ConnectionError):
    """The connection to Redis failed or Redis did not answer in time."""


class ReplyError(Exception):
    """Redis answered the command with an error."""


def _encode(args: tuple[Any, ...]) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode()
        elif isinstance(arg, int | float):
            arg = str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


class _Protocol(asyncio.Protocol):
    def __init__(self, client: LoopRedis) -> None:
        self.client = client
        self.reader = hiredis.Reader(encoding="utf-8", replyError=ReplyError)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        waiting = self.client.waiting
        while (reply := self.reader.gets()) is not False:
            if not waiting:  # a reply to nothing asked: the connection cannot be trusted
                if self.transport is not None:
                    self.transport.abort()
                return
            future, _sent = waiting.popleft()
            if not future.done():
                if isinstance(reply, ReplyError):
                    future.set_exception(reply)
                else:
                    future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.client.lost(self, exc)


class LoopRedis:
    """One connection to the Redis at `url`, for the running event loop."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "unix"):
            raise ValueError(f"unsupported Redis URL scheme: {parts.scheme}")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 6379
        self.socket = parts.path if parts.scheme == "unix" else None
        self.db = int((parts.path or "/0").strip("/") or 0) if parts.scheme == "redis" else 0
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.protocol: _Protocol | None = None
        self.connecting: asyncio.Future | None = None
        self.waiting: collections.deque[tuple[asyncio.Future, float]] = collections.deque()
        self.outgoing: list[bytes] = []
        self.scripts: dict[str, str] = {}  # digest -> source
        self.watchdog: asyncio.TimerHandle | None = None

    async def call(self, *args: Any) -> Any:
        """Send one command and wait for its reply (ReplyError for an error reply)."""
        if self.protocol is None:
            await self._connect()
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.waiting.append((future, time.monotonic()))
        if not self.outgoing:
            loop.call_soon(self._flush)
        self.outgoing.append(_encode(args))
        return await future

    async def script(self, source: str, keys: list[str], args: list[Any]) -> Any:
        """Run a Lua script by its digest, sending its source only when Redis lacks it."""
        digest = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 (Redis's own name)
        self.scripts[digest] = source
        try:
            return await self.call("EVALSHA", digest, len(keys), *keys, *args)
        except ReplyError as error:
            if not str(error).startswith("NOSCRIPT"):
                raise
        return await self.call("EVAL", source, len(keys), *keys, *args)

    def _flush(self) -> None:
        data, self.outgoing = b"".join(self.outgoing), []
        if data and self.protocol is not None and self.protocol.transport is not None:
            self.protocol.transport.write(data)

    async def _connect(self) -> _Protocol:
        if self.connecting is None:
            self.connecting = asyncio.ensure_future(self._open())
        try:
            return await asyncio.shield(self.connecting)
        finally:
            if self.connecting is not None and self.connecting.done():
                self.connecting = None

    async def _open(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        try:
            if self.socket:
                _transport, protocol = await asyncio.wait_for(
                    loop.create_unix_connection(lambda: _Protocol(self), self.socket),
                    TIMEOUT_SECONDS,
                )
            else:
                _transport, protocol = await asyncio.wait_for(
                    loop.create_connection(lambda: _Protocol(self), self.host, self.port),
                    TIMEOUT_SECONDS,
                )
        except (OSError, TimeoutError) as error:
            raise RedisLoopError(f"cannot connect to Redis: {error}") from error
        self.protocol = protocol
        if self.watchdog is None:
            self.watchdog = loop.call_later(1.0, self._watch)
        if self.password:
            auth = (self.username, self.password) if self.username else (self.password,)
            await self.call("AUTH", *auth)
        if self.db:
            await self.call("SELECT", self.db)
        return protocol

    def _watch(self) -> None:
        """Give the connection up when its oldest command has waited too long."""
        self.watchdog = None
        late = self.waiting and time.monotonic() - self.waiting[0][1] > TIMEOUT_SECONDS
        if late and self.protocol and self.protocol.transport:
            self.protocol.transport.abort()  # connection_lost fails what waits
        if self.protocol is not None:
            self.watchdog = asyncio.get_running_loop().call_later(1.0, self._watch)

    def lost(self, protocol: _Protocol, exc: Exception | None) -> None:
        if protocol is not self.protocol:
            return
        self.protocol = None
        self.outgoing = []
        error = RedisLoopError(f"the connection to Redis was lost: {exc or 'closed'}")
        while self.waiting:
            future, _sent = self.waiting.popleft()
            if not future.done():
                future.set_exception(error)

    def close(self) -> None:
        if self.protocol and self.protocol.transport:
            self.protocol.transport.close()


_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, LoopRedis]] = (
    weakref.WeakKeyDictionary()
)


def loop_redis(url: str) -> LoopRedis:
    """The running event loop's client for `url`."""
    held = _clients.setdefault(asyncio.get_running_loop(), {})
    client = held.get(url)
    if client is None:
        client = held[url] = LoopRedis(url)
    return client
