"""Heartbeat ingestion on PostgreSQL through the production server, beside pgbench in one run.

What runs (all on loopback, in a child process with production settings: DEBUG off, secrets
set, PostgreSQL from DATABASE_URL, Redis sessions and cache from REDIS_URL, requests marked
as coming through the TLS proxy):

1. A throw-away database `test_<name>` is migrated; the demo regions and rules, one published
   course with a two-hour video lesson, and HB_LEARNERS learners (default 2,000) each with a
   user, a current-year plan holding the course, and a signed-in session in Redis are created.
2. gunicorn serves the application its own gunicorn.conf.py names (cpe.asgi: several
   uvicorn worker processes and the dirty worker that flushes heartbeats), exactly as in
   production; a baseline checkout whose configuration names none serves cpe.wsgi.
3. An asyncio load generator on uvloop (a lean HTTP/1.1 client over CONNECTIONS kept-alive
   connections, as a reverse proxy's upstream pool) plays every learner: each opens the
   player once, signed in with its own session cookie and CSRF token
   (POST /api/v1/learner/lessons/{id}/sessions), and then sends heartbeats as the player
   does, with the session's X-Study-Token, a position that advances with real time, state
   "playing" and rate 1, echoing each answer's state ticket. The learners together offer
   HB_SHARE (default 0.26) x the round's pgbench TPS, a little more than the target asks,
   each at a random phase; HB_INTERVAL
   fixes the interval instead. Think time is the rest of the interval: a learner never
   sends faster because the server answered quickly, and a late answer does not make it
   catch up in a burst. Latency is measured around the whole request, waiting for a pooled
   connection included. Heartbeats/s counts the 200 answers received in the window. The
   heartbeat buffer is on (production with Redis); the check at the end flushes it.
4. pgbench (16 clients, 2 threads, TCP to the same host and port as the app) runs a custom
   script that updates one random row of a copy of the lesson-progress table (same rows,
   same indexes) per transaction: the machine's own speed for the write each heartbeat does.
5. HB_ROUNDS rounds (default 3) of pgbench then heartbeats, HB_SECONDS each (default 30,
   after HB_WARMUP seconds of load not counted). Reported: each round, the medians, and the
   median of the rounds' ratios heartbeats/s ÷ pgbench TPS.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<name> REDIS_URL=redis://127.0.0.1:6379/<n> \\
        .venv/bin/python benchmarks/run.py bench_heartbeats
    HB_LEARNERS=4000 HB_ROUNDS=1 HB_SECONDS=20 ...   # other sizes
    HB_BASELINE=/path/to/a/checkout ...              # that code too, side by side

With HB_BASELINE (another checkout of the project, with its own .venv or this one's) its
server runs beside this one on the same database and Redis: every round measures pgbench,
then each server in turn under the same offered load (the players open their sessions
again on each), so old and new code meet the same machine within seconds of each other.

It needs PostgreSQL and Redis; without them it says so and measures nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import uvloop

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

LEARNERS = int(os.environ.get("HB_LEARNERS", "2000"))
# The heartbeats offered per second, as a share of the round's pgbench TPS: the target asks
# the server to keep up with a quarter of it, so the learners offer a bit more than that
# (their think time is the interval this gives). HB_INTERVAL instead fixes the interval.
SHARE = float(os.environ.get("HB_SHARE", "0.26"))
FIXED_INTERVAL = float(os.environ.get("HB_INTERVAL", "0"))
POLICY_INTERVAL = 5  # the region's heartbeat setting in the run (the shortest allowed)
SECONDS = float(os.environ.get("HB_SECONDS", "30"))
WARMUP = float(os.environ.get("HB_WARMUP", "8"))
ROUNDS = int(os.environ.get("HB_ROUNDS", "3"))
PGBENCH_CLIENTS = 16
# Connections the load generator keeps to gunicorn, as a reverse proxy's upstream pool would.
CONNECTIONS = int(os.environ.get("HB_CONNECTIONS", "256"))
BASELINE = os.environ.get("HB_BASELINE", "")
# Long enough for every server's flusher to write out a round before the next one starts.
SETTLE_SECONDS = 5
LESSON_SECONDS = 4 * 3600  # long enough that nobody completes the lesson during the run


def run() -> list[tuple[str, str]]:
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")) or not redis_url:
        return [("skipped", "needs DATABASE_URL=postgres://… and REDIS_URL=redis://…")]
    completed = subprocess.run(
        [sys.executable, __file__, "--child"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(completed.stdout[-2000:] + completed.stderr[-6000:])
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    return _table(figures)


def _table(f: dict) -> list[tuple[str, str]]:
    rows = [
        (
            "load",
            f"{f['learners']:,} learners with think time, offering {SHARE:g} x the round's "
            f"pgbench TPS (or HB_INTERVAL); {f['rounds']} rounds of {f['seconds']:g} s",
        )
    ]
    for server in f["servers"]:
        label = server["label"]
        rows.append(
            (
                f"{label}: server",
                f"{server['root']}: gunicorn {server['workers']} {server['worker_class']} "
                "workers"
                + (
                    f" x {server['threads']} threads" if server["worker_class"] == "gthread" else ""
                ),
            )
        )
        for number, r in enumerate(server["round_figures"], 1):
            rows.append(
                (
                    f"{label}: round {number}",
                    f"pgbench {r['tps']:7,.0f} TPS   offered {r['offered']:6,.0f}/s "
                    f"(every {r['interval']:.2f} s)   heartbeats {r['rate']:6,.0f}/s   "
                    f"p50 {r['p50']:6.1f} ms   p99 {r['p99']:6.1f} ms   "
                    f"ratio {r['rate'] / r['tps']:.2f}   errors {r['errors'] or 0}   "
                    f"CPU per heartbeat: gunicorn {r['server_cpu_ms']:.2f} ms, "
                    f"load generator {r['client_cpu_ms']:.2f} ms",
                )
            )
        rows += [
            (
                f"{label}: pgbench TPS (median)",
                f"{server['tps']:,.0f}  (16 clients, single-row UPDATE)",
            ),
            (f"{label}: heartbeats/s (median)", f"{server['rate']:,.0f}"),
            (
                f"{label}: latency p50 / p99 (median)",
                f"{server['p50']:.1f} / {server['p99']:.1f} ms  (target p99 < 100)",
            ),
            (
                f"{label}: ratio heartbeats/s ÷ pgbench TPS",
                f"{server['ratio']:.2f}  (median of rounds; target >= 0.25)",
            ),
            (
                f"{label}: gunicorn CPU per heartbeat (median)",
                f"{server['server_cpu_ms']:.2f} ms",
            ),
        ]
    rows += [
        (
            "server check",
            f"{f['heartbeats_stored']:,} heartbeats stored, {f['credited_s']:,.0f} s credited "
            f"for {f['playing_s']:,.0f} s of real play",
        ),
    ]
    return rows


# --- The child: production settings, its own database, gunicorn, the load and pgbench.


def _child() -> None:
    sys.path.insert(0, str(ROOT))
    var_dir = tempfile.mkdtemp(prefix="cpe-bench-hb-")
    env = _production_env(var_dir)
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    _say("migrating a throw-away database")
    databases = setup_databases(verbosity=0, interactive=False)
    servers: list[Server] = []
    try:
        # As a deployment does: the pages' static files with hashed names (error pages too).
        call_command("collectstatic", "--noinput", verbosity=0)
        _say(f"creating {LEARNERS:,} learners with plans and sessions")
        learners, lesson_id = _seed()
        test_url = _url_with_database(os.environ["DATABASE_URL"], connection.settings_dict["NAME"])
        connection.close()
        for server in _servers():
            _say(f"starting gunicorn ({server.label}: {server.root})")
            # Each server's buffer has keys of its own, so each flushes its own heartbeats
            # with its own code (the baseline's flusher never writes this code's batches).
            server.buffer_prefix = f"{env['HEARTBEAT_BUFFER_PREFIX']}{server.label}:"
            _start_gunicorn(
                server,
                {**env, "DATABASE_URL": test_url, "HEARTBEAT_BUFFER_PREFIX": server.buffer_prefix},
            )
            servers.append(server)
        figures = uvloop.run(_measure(servers, learners, lesson_id, test_url))
        print(json.dumps(figures))
    finally:
        for server in servers:
            _stop(server.process)
        from django.db import connections

        connections.close_all()
        teardown_databases(databases, verbosity=0)
        _forget_sessions(env["CACHE_KEY_PREFIX"])


@dataclass
class Server:
    """One gunicorn serving one checkout of the project (this one, or HB_BASELINE)."""

    label: str
    root: Path
    python: str
    port: int = 0
    process: subprocess.Popen | None = None
    rounds: list[dict] = field(default_factory=list)
    buffer_prefix: str = ""

    @property
    def settings(self) -> dict:
        """The gunicorn settings this checkout's gunicorn.conf.py gives (as in production)."""
        import runpy

        return runpy.run_path(str(self.root / "gunicorn.conf.py"))


def _servers() -> list[Server]:
    servers = [Server("now", ROOT, sys.executable)]
    if BASELINE:
        root = Path(BASELINE).resolve()
        own = root / ".venv" / "bin" / "python"
        servers.insert(0, Server("baseline", root, str(own) if own.exists() else sys.executable))
    return servers


def _say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def _production_env(var_dir: str) -> dict[str, str]:
    from cpe.core.env import SECRET_GENERATORS

    env = {
        "DJANGO_SETTINGS_MODULE": "cpe.settings",
        "DEBUG": "false",
        "CPE_VAR_DIR": var_dir,
        "ALLOWED_HOSTS": "127.0.0.1",
        # As behind the production proxy: it terminates TLS and says so in X-Forwarded-Proto.
        "BEHIND_TLS_PROXY": "true",
        "NUM_PROXIES": "1",
        # Only this run's keys in Redis, removed at the end.
        "CACHE_KEY_PREFIX": (prefix := f"cpe-bench-hb-{secrets.token_hex(4)}"),
        "HEARTBEAT_BUFFER_PREFIX": f"{prefix}:hb:",
        "LOG_LEVEL": "WARNING",
    }
    for name, generate in SECRET_GENERATORS.items():
        env[name] = generate()
    return env


def _url_with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return parts._replace(path=f"/{name}").geturl()


def _seed() -> tuple[list[dict], int]:
    """Regions and rules, a course, learners with plans, and a signed-in session for each."""
    from decimal import Decimal

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.cache import SessionStore
    from django.db import transaction
    from django.utils import timezone

    from cpe.accounts.roles import Role
    from cpe.accounts.services import user_create
    from cpe.catalog.models import Course, CourseYear, Lesson
    from cpe.core.services import Actor
    from cpe.learning.models import PlanCourse, YearPlan
    from cpe.regions import demo as regions_demo
    from cpe.regions.models import Region, RegionPolicy
    from cpe.registry.services import LearnerDetails, learner_collect
    from cpe.registry.testing import make_id_number

    actor = Actor.for_system("bench")
    year = timezone.localdate().year
    with transaction.atomic():
        regions_demo.seed(actor)
        # The shortest heartbeat interval a region may set, so that fewer simulated
        # learners offer the load; the server's rules are otherwise the demo's.
        RegionPolicy.objects.update(heartbeat_seconds=POLICY_INTERVAL)
        district = Region.objects.get(code="420102")
        province = Region.objects.get(code="420000")
        course = Course.objects.create(
            region=province,
            code="BENCH-HB-1",
            title="心跳基准测试课程",
            category=Course.Category.PROFESSIONAL,
            class_hours=Decimal(4),
            target_levels=0,
            status=Course.Status.PUBLISHED,
            total_seconds=LESSON_SECONDS,
            published_at=timezone.now(),
        )
        CourseYear.objects.create(course=course, year=year)
        lesson = Lesson.objects.create(
            course=course,
            position=1,
            title="第一讲",
            kind=Lesson.Kind.VIDEO,
            video="bench/lesson.mp4",
            duration_seconds=LESSON_SECONDS,
        )
        learners = []
        for number in range(LEARNERS):
            # Distinct valid ID numbers: 100 sequence numbers a day, 28 days a month, 12 months.
            year_born = 1960 + number // 33600
            born = f"{year_born}{number // 2800 % 12 + 1:02d}{number // 100 % 28 + 1:02d}"
            person = learner_collect(
                actor=actor,
                district=district,
                details=LearnerDetails(
                    id_number=make_id_number("420102", born, number % 100 + 1),
                    name=_name(number),
                    mobile=f"139{number:08d}",
                    employer_name="基准测试有限公司",
                    qualification_level="junior",
                    # Required from this year on: only the current year to study.
                    qualification_year=year - 1,
                ),
            )
            person.user = user_create(
                actor=actor,
                username=f"bench-learner-{number}",
                password=None,
                role=Role.LEARNER,
                region=district,
                display_name=person.name,
            )
            person.save(update_fields=["user"])
            learners.append(person)
        plans = YearPlan.objects.bulk_create(
            [YearPlan(learner=person, year=year) for person in learners]
        )
        PlanCourse.objects.bulk_create(
            [
                PlanCourse(
                    plan=plan,
                    learner=plan.learner,
                    course=course,
                    category=course.category,
                    credits=Decimal(12),
                )
                for plan in plans
            ]
        )
    sessions = []
    for person in learners:
        store = SessionStore()
        store[SESSION_KEY] = str(person.user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = person.user.get_session_auth_hash()
        store.create()
        csrf = secrets.token_hex(16)  # a 32-character secret, as Django's cookie holds
        sessions.append(
            {"cookie": f"sessionid={store.session_key}; csrftoken={csrf}", "csrf": csrf}
        )
    return sessions, lesson.pk


FAMILY = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍"


def _name(number: int) -> str:
    family = FAMILY[number % len(FAMILY)]
    rest = number // len(FAMILY)
    return family + GIVEN[rest % len(GIVEN)] + GIVEN[rest // len(GIVEN) % len(GIVEN)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_gunicorn(server: Server, env: dict[str, str]) -> None:
    server.port = _free_port()
    server.process = subprocess.Popen(
        [
            server.python,
            "-m",
            "gunicorn",
            "--config",
            str(server.root / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{server.port}",
            # The application the configuration names (cpe.asgi), or an older checkout's WSGI.
            *([] if "wsgi_app" in server.settings else ["cpe.wsgi"]),
        ],
        cwd=server.root,
        env={**os.environ, **env},
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/healthz", headers={"X-Forwarded-Proto": "https"}
    )
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn stopped with {server.process.returncode}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(request, timeout=2) as answer,  # noqa: S310 (loopback)
        ):
            if answer.status == 200:
                return
        time.sleep(0.5)
    _stop(server.process)
    raise RuntimeError("gunicorn did not answer /healthz within 60 s")


def _stop(server: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=40)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def _forget_sessions(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])


# --- The load generator.


@dataclass
class Player:
    """One learner's player: its cookies, its study session and where the video is."""

    cookie: str
    csrf: str
    session: str = ""
    token: str = ""
    seq: int = 0
    ticket: str | None = None  # the last answer's, echoed as the player does
    started: float = 0.0
    first_started: float = 0.0
    position: float = 0.0


@dataclass
class Window:
    """What was answered inside the measured window of one round."""

    opens: float
    closes: float
    latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    sent: int = 0  # heartbeats sent in the whole round, warm-up included
    attention_answered: int = 0

    def count(self, answered: float, latency: float, error: str | None) -> None:
        if not self.opens <= answered < self.closes:
            return
        if error:
            self.errors[error] += 1
        else:
            self.latencies.append(latency)


class Http:
    """A lean HTTP/1.1 client over a pool of kept-alive connections, as a reverse proxy's
    upstream pool: the load generator must cost the machine much less than the server."""

    def __init__(self, port: int, connections: int) -> None:
        self.port = port
        self.free: asyncio.Queue = asyncio.Queue()
        for _number in range(connections):
            self.free.put_nowait(None)

    async def post(self, path: str, body: dict, headers: dict[str, str]) -> tuple[int, bytes]:
        payload = json.dumps(body, separators=(",", ":")).encode()
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n{head}"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode() + payload
        connection = await self.free.get()
        try:
            for attempt in (1, 2):  # a kept-alive connection the server closed: open another
                if connection is None:
                    connection = await asyncio.open_connection("127.0.0.1", self.port)
                reader, writer = connection
                try:
                    writer.write(request)
                    status_line = await reader.readline()
                    if not status_line:
                        raise ConnectionResetError
                    length, closing = 0, False
                    while (line := await reader.readline()) not in (b"\r\n", b""):
                        name, _sep, value = line.decode("latin-1").partition(":")
                        name = name.strip().lower()
                        if name == "content-length":
                            length = int(value)
                        elif name == "connection" and value.strip().lower() == "close":
                            closing = True
                    answer = await reader.readexactly(length) if length else b""
                    if closing:
                        writer.close()
                        connection = None
                    return int(status_line.split()[1]), answer
                except (ConnectionError, asyncio.IncompleteReadError):
                    writer.close()
                    connection = None
                    if attempt == 2:
                        raise
            raise ConnectionResetError
        except BaseException:
            connection = None
            raise
        finally:
            self.free.put_nowait(connection)


async def _measure(
    servers: list[Server], sessions: list[dict], lesson_id: int, database_url: str
) -> dict:
    players = [Player(cookie=s["cookie"], csrf=s["csrf"]) for s in sessions]
    # Opening the players makes the lesson-progress rows that pgbench's table copies.
    _say(f"opening the players on {servers[0].label}")
    await _open_players(Http(servers[0].port, CONNECTIONS), players, lesson_id)
    opened_on = servers[0]
    table = await asyncio.to_thread(_pgbench_table)
    for number in range(1, ROUNDS + 1):
        _say(f"round {number}: pgbench")
        tps = await asyncio.to_thread(_pgbench, database_url, table)
        interval = FIXED_INTERVAL or len(players) / (SHARE * tps)
        # Who goes first alternates, so neither always meets the machine just after pgbench.
        order = servers if number % 2 else servers[::-1]
        for server in order:
            http = Http(server.port, CONNECTIONS)
            if opened_on is not server:
                _say(f"round {number}: opening the players on {server.label}")
                await _open_players(http, players, lesson_id)
                opened_on = server
            _say(f"round {number}: {server.label}, one heartbeat every {interval:.2f} s each")
            server_cpu, own_cpu = _cpu_seconds(server.process.pid), time.process_time()
            window = await _round(http, players, interval)
            server_cpu = _cpu_seconds(server.process.pid) - server_cpu
            own_cpu = time.process_time() - own_cpu
            latencies = sorted(window.latencies)
            server.rounds.append(
                {
                    "tps": tps,
                    "interval": interval,
                    "offered": len(players) / interval,
                    "rate": len(latencies) / SECONDS,
                    "p50": _percentile(latencies, 50),
                    "p99": _percentile(latencies, 99),
                    "errors": dict(window.errors),
                    "attention_answered": window.attention_answered,
                    "server_cpu_ms": server_cpu * 1000 / max(1, window.sent),
                    "client_cpu_ms": own_cpu * 1000 / max(1, window.sent),
                }
            )
            if len(servers) > 1:
                await asyncio.sleep(SETTLE_SECONDS)
    stored, credited_s = await asyncio.to_thread(_server_totals, servers)
    return {
        "learners": len(players),
        "seconds": SECONDS,
        "rounds": ROUNDS,
        "servers": [_server_figures(server) for server in servers],
        "heartbeats_stored": stored,
        "credited_s": credited_s,
        "playing_s": sum(time.monotonic() - p.first_started for p in players),
    }


def _server_figures(server: Server) -> dict:
    rounds, settings = server.rounds, server.settings
    return {
        "label": server.label,
        "root": str(server.root),
        "workers": settings["workers"],
        "worker_class": settings.get("worker_class", "sync"),
        "threads": settings.get("threads", 1),
        "round_figures": rounds,
        "tps": statistics.median(r["tps"] for r in rounds),
        "rate": statistics.median(r["rate"] for r in rounds),
        "ratio": statistics.median(r["rate"] / r["tps"] for r in rounds),
        "p50": statistics.median(r["p50"] for r in rounds),
        "p99": statistics.median(r["p99"] for r in rounds),
        "server_cpu_ms": statistics.median(r["server_cpu_ms"] for r in rounds),
    }


def _signed_in(player: Player) -> dict[str, str]:
    # As the production proxy forwards them: TLS ended at the proxy, the learner's address.
    return {
        "Cookie": player.cookie,
        "X-CSRFToken": player.csrf,
        "Origin": f"https://127.0.0.1:{player_port}",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "127.0.0.2",
    }


player_port = 0


async def _open_players(http: Http, players: list[Player], lesson_id: int) -> None:
    global player_port
    player_port = http.port
    path = f"/api/v1/learner/lessons/{lesson_id}/sessions"
    limit = asyncio.Semaphore(64)

    async def open_one(player: Player) -> None:
        async with limit:
            status, body = await http.post(path, {}, _signed_in(player))
        if status not in (200, 201):
            raise RuntimeError(f"opening the player: {status} {body[:500]!r}")
        opened = json.loads(body)
        player.session = str(opened["session"])
        player.token = opened["token"]
        player.position = float(opened.get("position") or 0)
        player.seq = 0
        player.ticket = None
        player.started = time.monotonic()
        player.first_started = player.first_started or player.started

    await asyncio.gather(*(open_one(player) for player in players))


async def _round(http: Http, players: list[Player], interval: float) -> Window:
    begins = time.monotonic()
    window = Window(opens=begins + WARMUP, closes=begins + WARMUP + SECONDS)

    async def play(player: Player) -> None:
        # As the player sends them: the session's token, no cookie.
        headers = {
            "X-Study-Token": player.token,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "127.0.0.2",
        }
        path = f"/api/v1/learner/sessions/{player.session}/heartbeats"
        due = begins + random.uniform(0, interval)
        while due < window.closes:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            player.seq += 1
            payload = {
                "seq": player.seq,
                "position": round(player.position + time.monotonic() - player.started, 3),
                "state": "playing",
                "rate": 1.0,
                "visible": True,
            }
            if player.ticket:
                payload["ticket"] = player.ticket
            sent = time.perf_counter()
            window.sent += 1
            error = question = None
            try:
                status, body = await asyncio.wait_for(http.post(path, payload, headers), 30)
                if status != 200:
                    error = f"HTTP {status}"
                else:
                    reply = json.loads(body)
                    player.ticket = reply.get("ticket")
                    if reply.get("stop"):
                        error = "stop: " + reply["stop"]["reason"]
                    question = (reply.get("attention") or {}).get("question")
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as problem:
                error = type(problem).__name__
            latency = (time.perf_counter() - sent) * 1000
            window.count(time.monotonic(), latency, error)
            if question:
                # The learner answers the attention check ("3 + 4") before playing on.
                await _answer(http, player, question)
                window.attention_answered += 1
            # The player's timer: the next beat one interval after this one was due, or at
            # once when the answer came later than that (no burst to catch up).
            due = max(due + interval, time.monotonic())

    await asyncio.gather(*(play(player) for player in players))
    return window


async def _answer(http: Http, player: Player, question: str) -> None:
    total = sum(int(part) for part in question.split("+"))
    path = f"/api/v1/learner/sessions/{player.session}/attention"
    await http.post(path, {"answer": str(total)}, _signed_in(player))


def _cpu_seconds(process_group: int) -> float:
    """User + system CPU time of every process in a process group (gunicorn and workers)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == process_group:
                ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _percentile(ordered: list[float], percent: float) -> float:
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(len(ordered) * percent / 100) - 1))
    return ordered[index]


# --- pgbench beside it.


def _pgbench_table() -> str:
    """A copy of the lesson-progress table: the same rows, columns and indexes."""
    from django.db import connection

    table = "bench_pgbench_progress"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TABLE {table} (LIKE learning_lessonprogress INCLUDING ALL)")
        cursor.execute(f"INSERT INTO {table} SELECT * FROM learning_lessonprogress")  # noqa: S608
        cursor.execute(f"SELECT count(*), min(id), max(id) FROM {table}")  # noqa: S608
        rows, low, high = cursor.fetchone()
        cursor.execute(f"VACUUM ANALYZE {table}")
    connection.close()
    if rows < LEARNERS:
        raise RuntimeError(f"only {rows} lesson-progress rows for {LEARNERS} learners")
    return f"{table}:{low}:{high}"


def _pgbench(database_url: str, table_spec: str) -> float:
    table, low, high = table_spec.split(":")
    parts = urlsplit(database_url)
    script = Path(tempfile.mkstemp(prefix="cpe-bench-", suffix=".sql")[1])
    script.write_text(
        f"\\set id random({low}, {high})\n"
        f"UPDATE {table} SET verified_ms = verified_ms + 5000, furthest_ms = furthest_ms + 5000, "
        "position_ms = position_ms + 5000, updated_at = now() WHERE id = :id;\n",
        encoding="utf-8",
    )
    try:
        completed = subprocess.run(
            [
                "pgbench",
                "--no-vacuum",
                "--client",
                str(PGBENCH_CLIENTS),
                "--jobs",
                "2",
                "--time",
                str(round(SECONDS)),
                "--file",
                str(script),
                "--host",
                parts.hostname or "127.0.0.1",
                "--port",
                str(parts.port or 5432),
                "--username",
                parts.username or "postgres",
                parts.path.lstrip("/"),
            ],
            env={**os.environ, "PGPASSWORD": parts.password or ""},
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        script.unlink()
    found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", completed.stdout)
    if not found:
        raise RuntimeError(completed.stdout + completed.stderr)
    return float(found.group(1))


def _server_totals(servers: list[Server]) -> tuple[int, float]:
    from django.conf import settings
    from django.db import connection
    from django.db.models import Sum

    from cpe.learning.heartbeat_buffer import heartbeats_flush
    from cpe.learning.models import Heartbeat, LessonProgress

    time.sleep(1)  # the last answers' flush, if a worker is at it
    for server in servers:
        settings.HEARTBEAT_BUFFER_PREFIX = server.buffer_prefix
        while heartbeats_flush() > 0:
            pass
    stored = Heartbeat.objects.count()
    verified = LessonProgress.objects.aggregate(total=Sum("verified_ms"))["total"] or 0
    connection.close()  # this thread's own: the database is dropped next
    return stored, verified / 1000


if __name__ == "__main__" and sys.argv[1:] == ["--child"]:
    _child()
