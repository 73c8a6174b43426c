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

import functools
import json
import math
import re
from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.core import signals
from django.http.cookie import parse_cookie
from django.utils import translation
from django.utils.translation import gettext as _

from cpe.core.services import Actor, client_ip
from cpe.learning.heartbeat_buffer import heartbeat_accept
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
    translation.activate(_language(environ))
    try:
        session = study_token_session(environ[TOKEN_HEADER])
        if session is None or session.hex != path_session.replace("-", "").lower():
            raise StudyRefused(
                "bad_token", _("This study session's token is not valid."), status=403
            )
        data = _body(environ)
        beat, errors = parse_heartbeat(data)
        if beat is None:
            raise StudyRefused(
                "validation_error", _("Some fields are not valid."), status=422, fields=errors
            )
        actor = Actor(ip=client_ip(SimpleNamespace(META=environ)))  # type: ignore[arg-type]
        result = heartbeat_accept(
            session_id=session, beat=beat, actor=actor, ticket=data.get("ticket")
        )
        return _json(start_response, 200, heartbeat_answer(result))
    except StudyRefused as refused:
        return _refuse(start_response, refused)
    finally:
        translation.deactivate()
        # As Django's own handler ends a request: database connections past their age or
        # broken are closed.
        signals.request_finished.send(sender=HeartbeatFastPath)


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
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if not 0 < length <= MAX_BODY:
        return None
    try:
        return json.loads(environ["wsgi.input"].read(length))
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


def _refuse(start_response: StartResponse, refused: StudyRefused) -> list[bytes]:
    body = {
        "code": refused.code,
        "message": str(refused.message),
        "fields": refused.fields or {},
        "year": refused.year,
    }
    return _json(start_response, refused.status, body)


_REASONS = {200: "OK", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 422: "Unprocessable"}


def _json(start_response: StartResponse, status: int, body: dict[str, Any]) -> list[bytes]:
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    start_response(
        f"{status} {_REASONS.get(status, 'Error')}",
        [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Length", str(len(payload))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
        ],
    )
    return [payload]
