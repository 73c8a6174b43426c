"""The heartbeat's fast path: a WSGI layer answering heartbeats that carry their study
session's token, before Django's middleware, sessions and views run.

A player sends a heartbeat every few seconds for as long as a lesson plays, so in the busy
season heartbeats are most of the platform's requests. They need none of what a page needs:
the session's signed token (cpe.learning.study.study_token) proves who sends it, so there
is no sign-in cookie to load, no user to read and no CSRF token to check (the token travels
in a header a browser never adds by itself). The answer is exactly the API's
(POST /api/v1/learner/sessions/{id}/heartbeats, documented in the OpenAPI document);
everything else goes on to Django unchanged.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.core import signals
from django.http.cookie import parse_cookie
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cpe.core.services import Actor, client_ip
from cpe.learning.heartbeat_buffer import heartbeat_accept, heartbeat_accept_async
from cpe.learning.services import StudyRefused
from cpe.learning.study import HeartbeatIn, heartbeat_answer, study_token_session

HEARTBEAT_PATH = re.compile(
    r"^/api/v1/learner/sessions/(?P<session>[0-9a-fA-F-]{32,36})/heartbeats$"
)
TOKEN_HEADER = "HTTP_X_STUDY_TOKEN"  # noqa: S105 (a header's name)
MAX_BODY = 2048

StartResponse = Callable[..., Any]


class HeartbeatFastPath:
    """Wraps the Django WSGI application (cpe.wsgi)."""

    def __init__(self, app: Callable[[dict, StartResponse], Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get(TOKEN_HEADER) and environ.get("REQUEST_METHOD") == "POST":
            match = HEARTBEAT_PATH.match(environ.get("PATH_INFO", ""))
            if match:
                return heartbeat_http(environ, start_response, match["session"])
        return self.app(environ, start_response)


def heartbeat_http(
    environ: dict[str, Any], start_response: StartResponse, path_session: str
) -> list[bytes]:
    # No request_started signal: its receivers reset the debug query log and close old
    # database connections, which request_finished below does after every heartbeat anyway.
    status, body = heartbeat_answered(environ, _body(environ), path_session)
    return _json(start_response, status, body)


def heartbeat_answered(
    environ: dict[str, Any], data: Any, path_session: str, *, now: datetime | None = None
) -> tuple[int, dict[str, Any]]:
    """The status and body answering a heartbeat (the request's headers in `environ`, its
    decoded JSON body in `data`), in the caller's language; whatever the database does here
    ends as Django's request does."""
    translation.activate(_language(environ))
    try:
        session, beat = _heartbeat_request(environ, data, path_session)
        actor = Actor(ip=client_ip(SimpleNamespace(META=environ)))  # type: ignore[arg-type]
        result = heartbeat_accept(
            session_id=session, beat=beat, actor=actor, ticket=data.get("ticket"), now=now
        )
        return 200, heartbeat_answer(result)
    except StudyRefused as refused:
        return refused.status, _refusal(refused)
    finally:
        translation.deactivate()
        # As Django's own handler ends a request: database connections past their age or
        # broken are closed.
        signals.request_finished.send(sender=HeartbeatFastPath)


def _heartbeat_request(
    environ: dict[str, Any], data: Any, path_session: str
) -> tuple[uuid.UUID, HeartbeatIn]:
    """The session the token proves and the heartbeat's fields, or StudyRefused."""
    session = study_token_session(environ[TOKEN_HEADER])
    if session is None or session.hex != path_session.replace("-", "").lower():
        raise StudyRefused("bad_token", _("This study session's token is not valid."), status=403)
    beat, errors = parse_heartbeat(data)
    if beat is None:
        raise StudyRefused(
            "validation_error", _("Some fields are not valid."), status=422, fields=errors
        )
    return session, beat


# --- The same on an event loop (cpe.asgi, gunicorn's asgi worker).

ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]
# Heartbeats the database must record (an attention check, a lesson completing, a session
# not in Redis) run in these threads, so the event loop never waits for the database; a few
# per process bound its database connections.
_DATABASE_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="heartbeat-db")


class HeartbeatFastPathASGI:
    """Wraps the Django ASGI application (cpe.asgi): a heartbeat carrying its session's token
    is answered on the event loop, with one Redis call when the session plays in the buffer;
    every other request goes to Django."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            match = HEARTBEAT_PATH.match(scope["path"])
            if match:
                environ = _asgi_environ(scope)
                if environ.get(TOKEN_HEADER):
                    await _heartbeat_asgi(environ, receive, send, match["session"])
                    return
        await self.app(scope, receive, send)


def _asgi_environ(scope: dict) -> dict[str, Any]:
    """The few request headers the fast path reads, named as WSGI names them."""
    environ: dict[str, Any] = {"REMOTE_ADDR": (scope.get("client") or ("",))[0]}
    for name, value in scope["headers"]:
        key = _ASGI_HEADERS.get(name)
        if key:
            environ[key] = value.decode("latin-1")
    return environ


_ASGI_HEADERS = {
    b"x-study-token": TOKEN_HEADER,
    b"cookie": "HTTP_COOKIE",
    b"accept-language": "HTTP_ACCEPT_LANGUAGE",
    b"x-forwarded-for": "HTTP_X_FORWARDED_FOR",
    b"content-length": "CONTENT_LENGTH",
}


async def _heartbeat_asgi(
    environ: dict[str, Any], receive: Callable, send: Callable, path_session: str
) -> None:
    data = _json_body(environ.get("CONTENT_LENGTH"), await _asgi_body(receive))
    now = timezone.now()
    language = _language(environ)
    status, body = 0, {}
    translation.activate(language)
    try:
        session, beat = _heartbeat_request(environ, data, path_session)
        result = await heartbeat_accept_async(
            session_id=session, beat=beat, ticket=data.get("ticket"), now=now
        )
        if result is not None:
            status, body = 200, heartbeat_answer(result)
    except StudyRefused as refused:
        status, body = refused.status, _refusal(refused)
    finally:
        translation.deactivate()
    if not status:
        # Everything but the common heartbeat: as on the WSGI path, in a thread.
        loop = asyncio.get_running_loop()
        status, body = await loop.run_in_executor(
            _DATABASE_THREADS,
            functools.partial(
                heartbeat_answered, environ, {**data, "ticket": None}, path_session, now=now
            ),
        )
    payload, headers = _payload(status, body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(name.lower().encode(), value.encode()) for name, value in headers],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def _asgi_body(receive: Callable) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""  # the client went away
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_BODY:
            chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks) if size <= MAX_BODY else b""


def _language(environ: dict[str, Any]) -> str:
    """The caller's language, chosen as on the pages (cookie, then Accept-Language); a
    player sends the same headers with every heartbeat, so the choice is remembered."""
    cookie = environ.get("HTTP_COOKIE", "")
    chosen = None
    if settings.LANGUAGE_COOKIE_NAME in cookie:
        chosen = parse_cookie(cookie).get(settings.LANGUAGE_COOKIE_NAME)
    return _language_of(chosen, environ.get("HTTP_ACCEPT_LANGUAGE", ""))


@functools.lru_cache(maxsize=1024)
def _language_of(chosen: str | None, accept_language: str) -> str:
    request = SimpleNamespace(
        COOKIES={settings.LANGUAGE_COOKIE_NAME: chosen} if chosen else {},
        META={"HTTP_ACCEPT_LANGUAGE": accept_language},
    )
    return translation.get_language_from_request(request)  # type: ignore[arg-type]


def _body(environ: dict[str, Any]) -> Any:
    length = environ.get("CONTENT_LENGTH")
    raw = b""
    if _length(length) is not None:
        raw = environ["wsgi.input"].read(_length(length))
    return _json_body(length, raw)


def _length(header: str | None) -> int | None:
    """The declared body length, when it is one the fast path reads."""
    try:
        length = int(header or 0)
    except ValueError:
        return None
    return length if 0 < length <= MAX_BODY else None


def _json_body(length: str | None, raw: bytes) -> Any:
    if _length(length) is None or len(raw) != _length(length):
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse_heartbeat(data: Any) -> tuple[HeartbeatIn | None, dict[str, list[str]]]:
    """The body's fields with their types checked as the API's schema checks them; the
    values themselves are judged by the study rules."""
    if not isinstance(data, dict):
        return None, {"__all__": [_("The body must be a JSON object.")]}
    errors: dict[str, list[str]] = {}
    seq, position = data.get("seq"), data.get("position")
    state, rate, visible = data.get("state"), data.get("rate", 1.0), data.get("visible", True)
    if not isinstance(seq, int) or isinstance(seq, bool):
        errors["seq"] = [_("The sequence number must be a whole number from 0.")]
    if not _number(position):
        errors["position"] = [_("The position must be a number of seconds from 0.")]
    if state not in ("playing", "paused", "ended"):
        errors["state"] = [_("The state must be playing, paused or ended.")]
    if not _number(rate):
        errors["rate"] = [_("The playback rate must be a positive number.")]
    if not isinstance(visible, bool):
        errors["visible"] = [_("Visible must be true or false.")]
    if not isinstance(data.get("ticket"), str | None):
        errors["ticket"] = [_("The ticket must be the text of the last answer's ticket.")]
    if errors:
        return None, errors
    return HeartbeatIn(
        seq=seq, position=float(position), state=state, rate=float(rate), visible=visible
    ), {}


def _refusal(refused: StudyRefused) -> dict[str, Any]:
    return {
        "code": refused.code,
        "message": str(refused.message),
        "fields": refused.fields or {},
        "year": refused.year,
    }


_REASONS = {200: "OK", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 422: "Unprocessable"}


def _json(start_response: StartResponse, status: int, body: dict[str, Any]) -> list[bytes]:
    payload, headers = _payload(status, body)
    start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
    return [payload]


def _payload(status: int, body: dict[str, Any]) -> tuple[bytes, list[tuple[str, str]]]:
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return payload, [
        ("Content-Type", "application/json; charset=utf-8"),
        ("Content-Length", str(len(payload))),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
    ]
