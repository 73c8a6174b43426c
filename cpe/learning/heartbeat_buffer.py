"""Heartbeats accepted into Redis and written to the database in batches.

In the year-end rush heartbeats are most of the platform's writes. With a buffer (on when
Redis is configured; HEARTBEAT_BUFFER=false turns it off) a playing session's state lives
in Redis while it plays: a heartbeat is judged by the same rule as without the buffer
(`heartbeat_judge`), its new state is written back with a compare-and-set on a version, and
the heartbeat is queued. A flusher in every web process (one at a time, by a Redis lock)
writes the queue and the changed states to the database every HEARTBEAT_FLUSH_SECONDS.

Everything rare goes to the database as before: loading a session, an attention check
falling due, a lesson completing, the calendar day changing, starting another session,
answering a check. Those first *settle* the session (write its state to the database and
drop it from Redis) while holding its lock, so the database is the one truth whenever
anything other than a plain heartbeat happens.

Each answer carries the session's new state as a *ticket* (sealed by the server: encrypted
and authenticated, bound to the session) that the player echoes with its next heartbeat, so a
heartbeat usually costs one Redis call: the rule judges the ticket's state and the
compare-and-set writes the result only if the session is still at the ticket's version
(otherwise the script answers the current state, judged again). A ticket is only a copy of
what Redis holds; an old, replayed or forged one is never believed beyond that check.

What a crash can lose: a web process, nothing (Redis holds what it accepted). Redis, the
heartbeats accepted since the last flush (at most HEARTBEAT_FLUSH_SECONDS, less than one
heartbeat interval); the learner's next heartbeat is judged from the last flushed state, so
the lost play is credited again as far as the gap rule allows. The flusher writes absolute
values guarded by the session's sequence and time, so a stale or repeated flush never moves
a session back and never credits twice.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import functools
import json
import logging
import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import redis
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import (
    DEFAULT_DB_ALIAS,
    close_old_connections,
    connection,
    connections,
    transaction,
)
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from cpe.accounts.models import User
from cpe.core.redis_loop import loop_redis
from cpe.core.services import Actor
from cpe.learning.models import Heartbeat, LessonProgress, StudySession
from cpe.learning.services import StudyRefused
from cpe.learning.study import (
    HeartbeatIn,
    HeartbeatResult,
    Rules,
    StudyState,
    Verdict,
    completion_reached,
    heartbeat_judge,
    heartbeat_record,
    validate_heartbeat,
)
from cpe.registry.models import Learner

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LOCK_SECONDS = 10
LOCK_WAIT_SECONDS = 5
FLUSH_BATCH = 10_000
# A session that has not sent a heartbeat for this long is written out and dropped from
# Redis, so abandoned tabs do not stay in memory.
IDLE = timedelta(minutes=10)
# And a session's state expires from Redis this long after its last heartbeat in any case
# (one loaded only to answer "taken over", or a flusher that stopped for that long).
KEEP_MS = 3_600_000
CAS_TRIES = 3


def buffer_enabled() -> bool:
    return bool(getattr(settings, "HEARTBEAT_BUFFER", False) and settings.REDIS_URL)


@functools.lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True, health_check_interval=30)


def _redis() -> redis.Redis:
    return _client(settings.REDIS_URL)


def _prefix() -> str:
    return getattr(settings, "HEARTBEAT_BUFFER_PREFIX", "cpe:hb:")


def _state_key(session_id: uuid.UUID | str) -> str:
    return f"{_prefix()}s:{session_id}"


def _lock_key(session_id: uuid.UUID | str) -> str:
    return f"{_prefix()}lock:{session_id}"


def _log_key() -> str:
    return f"{_prefix()}log"


def _dirty_key() -> str:
    return f"{_prefix()}dirty"


def _flush_lock_key() -> str:
    return f"{_prefix()}flushing"


# --- Redis scripts: each runs atomically on the server.

# Write a heartbeat's new state if nobody changed the session since it was read (same load
# epoch and version), queue the heartbeat, and mark the session for the flusher (score: the
# new version). Otherwise answer the session's current state, for the heartbeat to be judged
# again without another call (an empty answer: the session is no longer in Redis).
_COMMIT = """
local now = redis.call('HMGET', KEYS[1], 'v', 'e')
if now[1] ~= ARGV[1] or (now[2] or '') ~= ARGV[5] then return redis.call('HGETALL', KEYS[1]) end
local nv = tonumber(now[1]) + 1
redis.call('HSET', KEYS[1], 'v', nv, unpack(ARGV, 6))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], nv, ARGV[3])
return nv
"""
# Put a session loaded from the database into Redis, unless someone already did.
_LOAD = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""
# Drop a session from Redis if it is still at the version that was written to the database.
_DROP = """
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if redis.call('ZSCORE', KEYS[2], ARGV[2]) == ARGV[1] then redis.call('ZREM', KEYS[2], ARGV[2]) end
return 1
"""
# After a flush: forget the sessions whose flushed version is still their latest.
_CLEAN = """
local n = 0
for i = 1, #ARGV, 2 do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('ZREM', KEYS[1], ARGV[i]); n = n + 1
  end
end
return n
"""
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@functools.lru_cache(maxsize=8)
def _script(client: redis.Redis, source: str) -> Any:
    return client.register_script(source)


def _run(source: str, keys: list[str], args: list[Any]) -> Any:
    client = _redis()
    return _script(client, source)(keys=keys, args=args, client=client)


# --- The session's state as a Redis hash of strings.


def _us(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def _moment(us: str | int) -> datetime:
    return EPOCH + timedelta(microseconds=int(us))


def _encode(session: StudySession) -> dict[str, str]:
    state = StudyState.of(session)
    rules = state.rules
    return {
        "v": "1",
        # A new epoch each time the session is loaded into Redis: versions start again at 1,
        # and a ticket from before a settle must not match the state loaded after it.
        "e": secrets.token_hex(6),
        "learner": str(session.learner_id),
        "user": str(session.learner.user_id or ""),
        "progress": str(session.progress_id),
        "st": state.state,
        "seq": str(state.last_seq),
        "at": str(_us(state.last_at)),
        "pos": str(state.last_position_ms),
        "fur": str(state.furthest_ms),
        "ver": str(state.verified_ms),
        "done": "1" if state.completed else "0",
        "dur": str(state.duration_ms),
        "video": "1" if state.is_video else "0",
        "hb": str(rules.heartbeat_seconds),
        "rate": str(rules.max_rate),
        "att": str(rules.attention_minutes),
        "pct": str(rules.completion_percent),
        "day": state.allowed_on,
        "due": str(_us(state.attention_due_at)) if state.attention_due_at else "",
        "asked": "1" if state.attention_asked else "0",
        "q": session.attention_question if state.attention_asked else "",
    }


def _decode(raw: dict[str, str]) -> StudyState:
    return StudyState(
        state=raw["st"],
        last_seq=int(raw["seq"]),
        last_at=_moment(raw["at"]),
        last_position_ms=int(raw["pos"]),
        furthest_ms=int(raw["fur"]),
        verified_ms=int(raw["ver"]),
        completed=raw["done"] == "1",
        duration_ms=int(raw["dur"]),
        is_video=raw["video"] == "1",
        rules=Rules(
            heartbeat_seconds=int(raw["hb"]),
            max_rate=Decimal(raw["rate"]),
            attention_minutes=int(raw["att"]),
            completion_percent=int(raw["pct"]),
        ),
        attention_due_at=_moment(raw["due"]) if raw["due"] else None,
        attention_asked=raw["asked"] == "1",
        allowed_on=raw["day"],
    )


# --- The state ticket: the session's Redis state, sealed for the player to echo.

_TICKET_FIELDS = (
    "v",
    "e",
    "learner",
    "user",
    "progress",
    "st",
    "seq",
    "at",
    "pos",
    "fur",
    "ver",
    "done",
    "dur",
    "video",
    "hb",
    "rate",
    "att",
    "pct",
    "day",
    "due",
    "asked",
    "q",
)
MAX_TICKET = 1024


@functools.lru_cache(maxsize=4)
def _sealer(secret_key: str) -> AESGCM:
    return AESGCM(
        salted_hmac(
            "cpe.learning.state-ticket", "key", secret=secret_key, algorithm="sha256"
        ).digest()
    )


def state_ticket(session_id: uuid.UUID, raw: dict[str, str]) -> str:
    """The session's state, encrypted (the next attention check's moment stays secret) and
    authenticated, bound to the session."""
    plain = "\x1f".join(raw.get(name, "") for name in _TICKET_FIELDS).encode()
    nonce = os.urandom(12)
    sealed = _sealer(settings.SECRET_KEY).encrypt(nonce, plain, session_id.bytes)
    return base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()


def ticket_state(session_id: uuid.UUID, ticket: str) -> dict[str, str] | None:
    """The state a ticket of this session holds, or None for anything the server did not
    seal for it."""
    if not 40 <= len(ticket) <= MAX_TICKET:
        return None
    try:
        sealed = base64.urlsafe_b64decode(ticket + "=" * (-len(ticket) % 4))
        plain = _sealer(settings.SECRET_KEY).decrypt(sealed[:12], sealed[12:], session_id.bytes)
    except (ValueError, InvalidTag):
        return None
    values = plain.decode().split("\x1f")
    if len(values) != len(_TICKET_FIELDS):
        return None
    return dict(zip(_TICKET_FIELDS, values, strict=True))


# --- Locks: held while the database, not Redis, changes a session.


@contextlib.contextmanager
def _locked(session_id: uuid.UUID | str) -> Iterator[None]:
    client, key, token = _redis(), _lock_key(session_id), secrets.token_hex(8)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while not client.set(key, token, nx=True, px=LOCK_SECONDS * 1000):
        if time.monotonic() > deadline:
            raise StudyRefused(
                "busy", _("This lesson is busy; the player will try again."), status=409
            )
        time.sleep(0.005)
    try:
        yield
    finally:
        _run(_UNLOCK, [key], [token])


def _settle(session_id: uuid.UUID | str) -> None:
    """Write the session's buffered state to the database and drop it from Redis."""
    client = _redis()
    while True:
        raw = client.hgetall(_state_key(session_id))
        if not raw:
            return
        with transaction.atomic():
            _write_states([(str(session_id), raw)])
        if _run(_DROP, [_state_key(session_id), _dirty_key()], [raw["v"], str(session_id)]):
            return


@contextlib.contextmanager
def session_held(session_id: uuid.UUID | str) -> Iterator[None]:
    """Hold a session out of the buffer: its state is in the database and no heartbeat
    changes it until the block ends. A no-op without the buffer."""
    if not buffer_enabled():
        yield
        return
    with _locked(session_id):
        _settle(session_id)
        yield


@contextlib.contextmanager
def learner_sessions_held(learner_id: int) -> Iterator[None]:
    """Hold every active session of a learner (before starting another, or before changing
    the learner's lesson progress in the database)."""
    if not buffer_enabled():
        yield
        return
    active = StudySession.objects.filter(
        learner_id=learner_id, state=StudySession.State.ACTIVE
    ).values_list("pk", flat=True)
    with contextlib.ExitStack() as stack:
        for session_id in sorted(str(pk) for pk in active):
            stack.enter_context(session_held(session_id))
        yield


def _load(session_id: uuid.UUID) -> dict[str, str] | None:
    with _locked(session_id):
        raw = _redis().hgetall(_state_key(session_id))
        if raw:
            return raw
        # Locked: a change that holds the session (a reset of the course's lessons, another
        # lesson starting) may release the Redis lock before its transaction commits; the
        # row locks make this read wait for the commit.
        with transaction.atomic():
            session = (
                StudySession.objects.select_for_update(of=("self", "progress"))
                .select_related("progress", "lesson", "learner")
                .defer("lesson__reading_text")
                .filter(pk=session_id)
                .first()
            )
        if session is None:
            return None
        encoded = _encode(session)
        flat = [part for pair in encoded.items() for part in pair]
        _run(_LOAD, [_state_key(session_id)], [KEEP_MS, *flat])
        return encoded


def session_buffer_put(session: StudySession) -> None:
    """Put a session that has just started into Redis, so that its first heartbeat does not
    have to load it (at the top of a busy hour thousands start within minutes)."""
    if not buffer_enabled():
        return
    encoded = _encode(session)
    flat = [part for pair in encoded.items() for part in pair]
    _run(_LOAD, [_state_key(session.pk)], [KEEP_MS, *flat])


# --- A heartbeat.


def heartbeat_accept(
    *,
    session_id: Any,
    beat: HeartbeatIn,
    actor: Actor | None = None,
    user_id: int | None = None,
    learner_id: int | None = None,
    ticket: str | None = None,
    now: datetime | None = None,
) -> HeartbeatResult:
    """Record one heartbeat, through the buffer when it is on.

    The caller proves the session is the learner's: by the signed-in user's id, by the
    learner, or (the fast path) by the session's signed token, giving neither. `ticket` is
    the one the previous answer carried, if the player echoed it: with it the buffer need not
    read the session's state first (it is checked against Redis when the heartbeat is
    written, never believed beyond that).
    """
    validate_heartbeat(beat)
    try:
        session_uuid = session_id if isinstance(session_id, uuid.UUID) else uuid.UUID(session_id)
    except (TypeError, ValueError, AttributeError):
        raise StudyRefused("not_found", _("There is no such study session."), status=404) from None
    now = now or timezone.now()
    if not buffer_enabled():
        return _through_database(
            session_uuid, beat, now, actor=actor, user_id=user_id, learner_id=learner_id
        )
    flusher_ensure()
    client = _redis()
    raw = ticket_state(session_uuid, ticket) if ticket else None
    confirmed = False  # whether raw was read from Redis, rather than taken from the ticket
    for _try in range(CAS_TRIES):
        if raw is None:
            raw = client.hgetall(_state_key(session_uuid)) or _load(session_uuid)
            confirmed = True
        if raw is None:
            raise StudyRefused("not_found", _("There is no such study session."), status=404)
        if (user_id is not None and raw["user"] != str(user_id)) or (
            learner_id is not None and raw["learner"] != str(learner_id)
        ):
            raise StudyRefused("not_found", _("There is no such study session."), status=404)
        outcome = _judge_in_buffer(session_uuid, raw, beat, now, confirmed=confirmed)
        if isinstance(outcome, dict):  # the session changed: judge its current state
            raw, confirmed = outcome or None, True
            continue
        if outcome is _UNCONFIRMED:
            raw = None
            continue
        break
    if isinstance(outcome, HeartbeatResult):
        return outcome
    # Anything the buffer does not keep by itself: the database, with the session held.
    return _through_database(
        session_uuid, beat, now, actor=actor, user_id=user_id, learner_id=learner_id
    )


# What _judge_in_buffer answers when the database must decide, or when a verdict judged on a
# ticket's state must be judged again on the state in Redis (a dict: the session's current
# state, which changed since it was read).
_DATABASE = object()
_UNCONFIRMED = object()


def _judge_in_buffer(
    session_uuid: uuid.UUID,
    raw: dict[str, str],
    beat: HeartbeatIn,
    now: datetime,
    *,
    confirmed: bool = True,
) -> HeartbeatResult | dict[str, str] | object:
    """The heartbeat kept in Redis, or _DATABASE, or the current state to judge it again on,
    or _UNCONFIRMED."""
    plan = _buffer_plan(session_uuid, raw, beat, now, confirmed=confirmed)
    if isinstance(plan, _Logged):
        _redis().rpush(_log_key(), plan.entry)
        return plan.result
    if isinstance(plan, _Commit):
        return plan.answer(_run(_COMMIT, plan.keys, plan.args))
    return plan


@dataclass(frozen=True)
class _Logged:
    """A heartbeat that changes nothing: only queued for the record."""

    entry: str
    result: HeartbeatResult


@dataclass(frozen=True)
class _Commit:
    """A heartbeat kept in Redis by the compare-and-set script (_COMMIT), and its answer
    once the script has run."""

    keys: list[str]
    args: list[Any]
    session_uuid: uuid.UUID
    state: dict[str, str]  # the state after the heartbeat, but for its new version
    result: HeartbeatResult  # the answer, but for its ticket

    def answer(self, committed: Any) -> HeartbeatResult | dict[str, str]:
        """The answer, or the session's current state when it had moved on (nothing kept)."""
        if not isinstance(committed, int):
            return dict(zip(committed[::2], committed[1::2], strict=True))
        sealed = state_ticket(self.session_uuid, {**self.state, "v": str(committed)})
        return dataclasses.replace(self.result, ticket=sealed)


def _buffer_plan(
    session_uuid: uuid.UUID,
    raw: dict[str, str],
    beat: HeartbeatIn,
    now: datetime,
    *,
    confirmed: bool,
) -> _Logged | _Commit | object:
    """What keeping the heartbeat in Redis takes, judged on `raw` without asking Redis
    anything: a _Logged or a _Commit to carry out, or _DATABASE, or _UNCONFIRMED."""
    state = _decode(raw)
    judged = heartbeat_judge(state, beat, now)
    position_ms = round(beat.position * 1000)
    row = [str(session_uuid), _us(now), beat.seq, position_ms, beat.state, beat.rate]
    verdict, credited = judged.verdict, judged.credited_ms
    if verdict in (Verdict.TAKEN_OVER, Verdict.ENDED, Verdict.REPLAY):
        # Kept without a compare-and-set: judged only on a state read from Redis.
        if not confirmed:
            return _UNCONFIRMED
        return _Logged(
            json.dumps([*row, 0, verdict]),
            HeartbeatResult(
                verdict,
                0,
                verified_ms=state.verified_ms,
                furthest_ms=state.furthest_ms,
                completed=state.completed,
                stop=state.state if verdict != Verdict.REPLAY else None,
            ),
        )
    if judged.ask_attention:
        return _DATABASE
    if credited and state.allowed_on != timezone.localdate(now).isoformat():
        return _DATABASE
    verified = state.verified_ms + credited
    furthest = judged.furthest_ms if state.is_video else verified
    if not state.completed and completion_reached(
        verified_ms=verified,
        furthest_ms=furthest,
        duration_ms=state.duration_ms,
        is_video=state.is_video,
        percent=state.rules.completion_percent,
    ):
        return _DATABASE
    last_position = max(0, min(position_ms, state.duration_ms)) if state.is_video else 0
    fields = {
        "seq": str(beat.seq),
        "at": str(_us(now)),
        "pos": str(last_position if state.is_video else state.last_position_ms),
        "ver": str(verified),
        "fur": str(furthest),
    }
    flat = [part for pair in fields.items() for part in pair]
    return _Commit(
        keys=[_state_key(session_uuid), _log_key(), _dirty_key()],
        args=[
            raw["v"],
            json.dumps([*row, credited, verdict]),
            str(session_uuid),
            KEEP_MS,
            raw.get("e", ""),
            *flat,
        ],
        session_uuid=session_uuid,
        state={**raw, **fields},
        result=HeartbeatResult(
            verdict,
            credited,
            verified_ms=verified,
            furthest_ms=furthest,
            completed=state.completed,
            attention_question=raw.get("q") or None if state.attention_asked else None,
        ),
    )


# --- A heartbeat on an event loop (the ASGI fast path, cpe.learning.fastpath).


async def heartbeat_accept_async(
    *, session_id: uuid.UUID, beat: HeartbeatIn, ticket: str | None, now: datetime
) -> HeartbeatResult | None:
    """A heartbeat kept in Redis without blocking the event loop: as heartbeat_accept does,
    judged on its ticket's state (or the state read from Redis) and written by the
    compare-and-set, usually in one Redis call.

    None when the database has to act (no buffer, a session not in Redis, an attention
    check, a lesson completing, a new day); nothing has changed then, and the caller hands
    the heartbeat to heartbeat_accept in a thread, with the same `now`.
    """
    if not buffer_enabled():
        return None
    validate_heartbeat(beat)
    client = loop_redis(settings.REDIS_URL)
    raw = ticket_state(session_id, ticket) if ticket else None
    confirmed = False
    for _try in range(CAS_TRIES):
        if raw is None:
            flat = await client.call("HGETALL", _state_key(session_id))
            raw, confirmed = dict(zip(flat[::2], flat[1::2], strict=True)), True
            if not raw:
                return None  # loaded from the database by heartbeat_accept
        plan = _buffer_plan(session_id, raw, beat, now, confirmed=confirmed)
        if plan is _UNCONFIRMED:
            raw = None
            continue
        if isinstance(plan, _Logged):
            await client.call("RPUSH", _log_key(), plan.entry)
            return plan.result
        if not isinstance(plan, _Commit):
            return None
        flusher_ensure()
        answer = plan.answer(await client.script(_COMMIT, plan.keys, plan.args))
        if isinstance(answer, HeartbeatResult):
            return answer
        raw, confirmed = answer or None, True
        if raw is None:
            return None
    return None


def _through_database(
    session_uuid: uuid.UUID,
    beat: HeartbeatIn,
    now: datetime,
    *,
    actor: Actor | None,
    user_id: int | None = None,
    learner_id: int | None = None,
) -> HeartbeatResult:
    with session_held(session_uuid):
        if user_id is not None:
            return heartbeat_record(
                actor=_acting(actor, lambda: User.objects.filter(pk=user_id).first()),
                user_id=user_id,
                session_id=session_uuid,
                beat=beat,
                now=now,
            )
        if learner_id is None:
            # The fast path: the session's signed token proved it is its learner's.
            learner_id = (
                StudySession.objects.filter(pk=session_uuid)
                .values_list("learner_id", flat=True)
                .first()
            )
        learner = Learner.objects.select_related("user").filter(pk=learner_id).first()
        if learner is None:
            raise StudyRefused("not_found", _("There is no such study session."), status=404)
        return heartbeat_record(
            actor=_acting(actor, lambda: learner.user),
            learner=learner,
            session_id=session_uuid,
            beat=beat,
            now=now,
        )


def _acting(actor: Actor | None, owner: Callable[[], Any]) -> Actor:
    """Who acts when the database path changes something (a lesson completing): the caller,
    or the session's learner when the caller proved only the session (the fast path)."""
    if actor is not None and (actor.user is not None or actor.system):
        return actor
    return Actor(user=owner(), ip=actor.ip if actor else None)


# --- The flusher.

_SESSION_UPDATE = (
    f"UPDATE {StudySession._meta.db_table} "  # noqa: S608 (names from the models)
    "SET last_seq = %s, last_heartbeat_at = %s, last_position_ms = %s "
    "WHERE id = %s AND last_seq <= %s AND last_heartbeat_at <= %s"
)
# The progress is written only when its session was (or already is) at this state, so an
# older snapshot never overwrites what the database path wrote since.
_PROGRESS_UPDATE = (
    f"UPDATE {LessonProgress._meta.db_table} "  # noqa: S608 (names from the models)
    "SET verified_ms = %s, furthest_ms = %s, position_ms = %s, updated_at = %s "
    "WHERE id = %s AND verified_ms <= %s AND EXISTS ("
    f"SELECT 1 FROM {StudySession._meta.db_table} s "
    "WHERE s.id = %s AND s.last_seq = %s AND s.last_heartbeat_at = %s)"
)
# A session removed meanwhile (its course taken out of the plan) takes its queued
# heartbeats with it, rather than failing the whole batch.
_HEARTBEAT_INSERT = (
    f"INSERT INTO {Heartbeat._meta.db_table} "  # noqa: S608 (names from the models)
    "(session_id, received_at, seq, position_ms, state, rate, credited_ms, verdict) "
    "SELECT %s, %s, %s, %s, %s, %s, %s, %s "
    f"WHERE EXISTS (SELECT 1 FROM {StudySession._meta.db_table} WHERE id = %s)"
)


class _Adapt:
    """Values as this thread's database connection takes them, the connection looked up once
    per batch (Django's `connection` proxy costs a thread-local look-up at each use)."""

    def __init__(self) -> None:
        self.connection = connections[DEFAULT_DB_ALIAS]
        self.ops = self.connection.ops
        self.pk = StudySession._meta.pk

    def time(self, moment: datetime) -> Any:
        return self.ops.adapt_datetimefield_value(moment)

    def uuid(self, value: str) -> Any:
        return self.pk.get_db_prep_value(uuid.UUID(value), self.connection)


def _write_states(states: list[tuple[str, dict[str, str]]]) -> None:
    adapt = _Adapt()
    sessions, progress = [], []
    for session_id, raw in states:
        at = adapt.time(_moment(raw["at"]))
        pk = adapt.uuid(session_id)
        seq = int(raw["seq"])
        sessions.append([seq, at, int(raw["pos"]), pk, seq, at])
        progress.append(
            [
                int(raw["ver"]),
                int(raw["fur"]),
                int(raw["pos"]),
                at,
                int(raw["progress"]),
                int(raw["ver"]),
                pk,
                seq,
                at,
            ]
        )
    with adapt.connection.cursor() as cursor:
        cursor.executemany(_SESSION_UPDATE, sessions)
        cursor.executemany(_PROGRESS_UPDATE, progress)


def _heartbeat_rows(entries: list[str]) -> list[list[Any]]:
    adapt = _Adapt()
    rates: dict[float, Any] = {}  # a handful of playback rates, adapted once each
    rows = []
    for entry in entries:
        session_id, at, seq, position_ms, state, rate, credited, verdict = json.loads(entry)
        if rate not in rates:
            rates[rate] = adapt.ops.adapt_decimalfield_value(
                Decimal(str(rate)).quantize(Decimal("0.01")), 5, 2
            )
        pk = adapt.uuid(session_id)
        rows.append(
            [
                pk,
                adapt.time(_moment(at)),
                seq,
                position_ms,
                state,
                rates[rate],
                credited,
                verdict,
                pk,
            ]
        )
    return rows


# On PostgreSQL a batch is three statements whatever its size, each over arrays of the
# batch's values (unnest), with the same guards as the statements above: a few thousand
# statements a batch, one per row, cost the database and the flusher's Python about as much
# as answering the heartbeats did.
def _array_of(model: type, name: str) -> str:
    return f"%s::{model._meta.get_field(name).db_type(connection)}[]"


def _batch_statements() -> tuple[str, str, str]:
    sessions, progress, beats = (
        StudySession._meta.db_table,
        LessonProgress._meta.db_table,
        Heartbeat._meta.db_table,
    )
    session_update = (
        f"UPDATE {sessions} s SET last_seq = u.seq, last_heartbeat_at = u.at, "  # noqa: S608
        "last_position_ms = u.pos "
        f"FROM unnest({_array_of(StudySession, 'id')}, {_array_of(StudySession, 'last_seq')}, "
        f"{_array_of(StudySession, 'last_heartbeat_at')}, "
        f"{_array_of(StudySession, 'last_position_ms')}) AS u(id, seq, at, pos) "
        "WHERE s.id = u.id AND s.last_seq <= u.seq AND s.last_heartbeat_at <= u.at"
    )
    progress_update = (
        f"UPDATE {progress} p SET verified_ms = u.ver, furthest_ms = u.fur, "  # noqa: S608
        "position_ms = u.pos, updated_at = u.at "
        f"FROM unnest({_array_of(LessonProgress, 'id')}, "
        f"{_array_of(LessonProgress, 'verified_ms')}, "
        f"{_array_of(LessonProgress, 'furthest_ms')}, "
        f"{_array_of(LessonProgress, 'position_ms')}, "
        f"{_array_of(StudySession, 'last_heartbeat_at')}, "
        f"{_array_of(StudySession, 'id')}, {_array_of(StudySession, 'last_seq')}) "
        "AS u(id, ver, fur, pos, at, session, seq) "
        "WHERE p.id = u.id AND p.verified_ms <= u.ver AND EXISTS ("
        f"SELECT 1 FROM {sessions} s "
        "WHERE s.id = u.session AND s.last_seq = u.seq AND s.last_heartbeat_at = u.at)"
    )
    columns = [
        "session",
        "received_at",
        "seq",
        "position_ms",
        "state",
        "rate",
        "credited_ms",
        "verdict",
    ]
    arrays = ", ".join(
        _array_of(StudySession, "id") if name == "session" else _array_of(Heartbeat, name)
        for name in columns
    )
    names = ", ".join("session_id" if name == "session" else name for name in columns)
    # In the order they were queued, which the ids keep.
    heartbeat_insert = (
        f"INSERT INTO {beats} ({names}) SELECT {names} "  # noqa: S608
        f"FROM unnest({arrays}) WITH ORDINALITY AS u({names}, queued) "
        f"WHERE EXISTS (SELECT 1 FROM {sessions} s WHERE s.id = u.session_id) ORDER BY queued"
    )
    return session_update, progress_update, heartbeat_insert


def _write_batch(entries: list[str], states: list[tuple[str, dict[str, str]]]) -> None:
    """Write queued heartbeats and session states (inside the caller's transaction)."""
    if connection.vendor == "postgresql":
        _write_batch_postgresql(entries, states)
        return
    if entries:
        with connection.cursor() as cursor:
            cursor.executemany(_HEARTBEAT_INSERT, _heartbeat_rows(entries))
    _write_states(states)


def _write_batch_postgresql(entries: list[str], states: list[tuple[str, dict[str, str]]]) -> None:
    session_update, progress_update, heartbeat_insert = _batch_statements()
    sessions: list[list[Any]] = [[], [], [], []]
    progress: list[list[Any]] = [[], [], [], [], [], [], []]
    seen: set[int] = set()
    repeated = []  # a lesson's progress in two sessions of one batch: written in order
    for session_id, raw in states:
        at, pk, seq = _moment(raw["at"]), uuid.UUID(session_id), int(raw["seq"])
        for column, value in zip(sessions, (pk, seq, at, int(raw["pos"])), strict=True):
            column.append(value)
        row = (int(raw["progress"]), int(raw["ver"]), int(raw["fur"]), int(raw["pos"]), at, pk, seq)
        if row[0] in seen:
            repeated.append(row)
            continue
        seen.add(row[0])
        for column, value in zip(progress, row, strict=True):
            column.append(value)
    beats: list[list[Any]] = [[], [], [], [], [], [], [], []]
    rates: dict[float, Decimal] = {}
    for entry in entries:
        session_id, at, seq, position_ms, state, rate, credited, verdict = json.loads(entry)
        if rate not in rates:
            rates[rate] = Decimal(str(rate)).quantize(Decimal("0.01"))
        values = (uuid.UUID(session_id), _moment(at), seq, position_ms, state, rates[rate])
        for column, value in zip(beats, (*values, credited, verdict), strict=True):
            column.append(value)
    with connection.cursor() as cursor:
        if beats[0]:
            cursor.execute(heartbeat_insert, beats)
        if sessions[0]:
            cursor.execute(session_update, sessions)
            cursor.execute(progress_update, progress)
        for row in repeated:
            cursor.execute(progress_update, [[value] for value in row])


def heartbeats_flush(*, batch: int = FLUSH_BATCH) -> int:
    """Write queued heartbeats and changed session states to the database; the number of
    heartbeats written (0 when another process is flushing)."""
    if not buffer_enabled():
        return 0
    client = _redis()
    lock, token = _flush_lock_key(), secrets.token_hex(8)
    if not client.set(lock, token, nx=True, px=120_000):
        return 0
    try:
        entries = client.lrange(_log_key(), 0, batch - 1)
        dirty = client.zrange(_dirty_key(), 0, batch - 1, withscores=True)
        pipe = client.pipeline(transaction=False)
        for session_id, _version in dirty:
            pipe.hgetall(_state_key(session_id))
        snapshots = [
            (session_id, raw)
            for (session_id, _version), raw in zip(dirty, pipe.execute(), strict=True)
            if raw
        ]
        # This commit waits for the disk (unlike a heartbeat's own without the buffer): the
        # batch leaves Redis right after it.
        with transaction.atomic():
            _write_batch(entries, snapshots)
        if entries:
            client.ltrim(_log_key(), len(entries), -1)
        # Forget the sessions written at their latest version (and those settled meanwhile,
        # which have no state left).
        flushed = {session_id: raw["v"] for session_id, raw in snapshots}
        pairs = [
            part
            for session_id, version in dirty
            for part in (session_id, flushed.get(session_id, str(int(version))))
        ]
        if pairs:
            _run(_CLEAN, [_dirty_key()], pairs)
        idle_before = _us(timezone.now() - IDLE)
        for session_id, raw in snapshots:
            if int(raw["at"]) < idle_before:
                _run(_DROP, [_state_key(session_id), _dirty_key()], [raw["v"], session_id])
        return len(entries)
    finally:
        _run(_UNLOCK, [lock], [token])


_flusher: dict[str, Any] = {"started": False, "thread": None}
_flusher_guard = threading.Lock()
# gunicorn forks its workers from a parent that may have started one: each starts its own.
os.register_at_fork(after_in_child=lambda: _flusher.update(started=False, thread=None))


def flusher_ensure() -> None:
    """Start this process's flusher thread once (again after a fork), unless the flusher
    runs in a process of its own (HEARTBEAT_FLUSHER = "dedicated": gunicorn's dirty worker,
    cpe.learning.flusher), where it keeps the interpreter's lock away from the heartbeats."""
    if _flusher["started"]:
        return
    if getattr(settings, "HEARTBEAT_FLUSHER", "web") == "dedicated":
        _flusher["started"] = True
        return
    flusher_start()


def flusher_start() -> bool:
    """Start the flusher thread in this process, once; whether it is running."""
    with _flusher_guard:
        if _flusher.get("thread") is not None:
            return True
        _flusher["started"] = True
        if getattr(settings, "HEARTBEAT_FLUSH_SECONDS", 2) <= 0:
            return False  # flushed by hand (tests, or `manage.py flush_heartbeats` from a timer)
        thread = threading.Thread(target=_flush_forever, name="heartbeat-flusher", daemon=True)
        thread.start()
        _flusher["thread"] = thread
        return True


def _flush_forever() -> None:
    interval = float(settings.HEARTBEAT_FLUSH_SECONDS)
    while True:
        time.sleep(interval * (0.9 + 0.2 * secrets.SystemRandom().random()))
        try:
            while heartbeats_flush() >= FLUSH_BATCH:
                pass
        except Exception:  # the next round tries again; nothing is lost from Redis
            log.exception("flushing heartbeats failed")
        finally:
            close_old_connections()
