"""Text messages through a pluggable backend chosen by settings.SMS_BACKEND, like Django's
email backends: console and file for development and tests, Aliyun SMS in production."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


class SmsError(Exception):
    """The message could not be handed over; `code` is the provider's error code, if any."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class BaseBackend:
    def send(self, *, mobile: str, text: str, params: Mapping[str, str]) -> None:
        raise NotImplementedError


class ConsoleBackend(BaseBackend):
    """Prints each message: `make run` shows the sign-in codes in its terminal."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout

    def send(self, *, mobile: str, text: str, params: Mapping[str, str]) -> None:
        self.stream.write(f"--- SMS to {mobile} ---\n{text}\n---\n")
        self.stream.flush()


class FileBackend(BaseBackend):
    """Writes each message to its own file in SMS_FILE_PATH (browser tests read codes there)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path or settings.SMS_FILE_PATH)

    def send(self, *, mobile: str, text: str, params: Mapping[str, str]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{mobile}-{uuid.uuid4().hex[:8]}.txt"
        (self.path / name).write_text(f"To: {mobile}\n\n{text}\n", encoding="utf-8")


def aliyun_percent_encode(value: str) -> str:
    """RFC 3986 encoding as Aliyun's RPC signature wants it: space is %20, * is %2A, ~ stays."""
    return urllib.parse.quote(value, safe="~")


def aliyun_signature(params: Mapping[str, str], *, secret: str, method: str = "POST") -> str:
    """Signature version 1.0 of Aliyun's RPC APIs (HMAC-SHA1 over the sorted parameters)."""
    canonical = "&".join(
        f"{aliyun_percent_encode(k)}={aliyun_percent_encode(v)}" for k, v in sorted(params.items())
    )
    string_to_sign = f"{method}&{aliyun_percent_encode('/')}&{aliyun_percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunBackend(BaseBackend):
    """Aliyun SMS (dysmsapi, API version 2017-05-25) `SendSms`, signed with the AccessKey.

    The message is the approved template SMS_ALIYUN_TEMPLATE_CODE filled with `params`
    (for the sign-in code: {"code": "123456"}); `text` is not sent, since Aliyun only
    delivers approved templates.
    """

    def __init__(self) -> None:
        self.access_key_id = settings.SMS_ALIYUN_ACCESS_KEY_ID
        self.access_key_secret = settings.SMS_ALIYUN_ACCESS_KEY_SECRET
        self.sign_name = settings.SMS_ALIYUN_SIGN_NAME
        self.template_code = settings.SMS_ALIYUN_TEMPLATE_CODE
        self.endpoint = settings.SMS_ALIYUN_ENDPOINT
        self.region = settings.SMS_ALIYUN_REGION
        self.timeout = settings.SMS_TIMEOUT
        missing = [
            name
            for name, value in [
                ("SMS_ALIYUN_ACCESS_KEY_ID", self.access_key_id),
                ("SMS_ALIYUN_ACCESS_KEY_SECRET", self.access_key_secret),
                ("SMS_ALIYUN_SIGN_NAME", self.sign_name),
                ("SMS_ALIYUN_TEMPLATE_CODE", self.template_code),
            ]
            if not value
        ]
        if missing:
            raise ImproperlyConfigured(f"The Aliyun SMS backend needs {', '.join(missing)}.")
        if not self.endpoint.startswith(("https://", "http://")):
            raise ImproperlyConfigured("SMS_ALIYUN_ENDPOINT must be an http(s) address.")

    def request_params(self, *, mobile: str, params: Mapping[str, str]) -> dict[str, str]:
        values = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": mobile,
            "RegionId": self.region,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": str(uuid.uuid4()),
            "SignatureVersion": "1.0",
            "TemplateCode": self.template_code,
            "TemplateParam": json.dumps(dict(params), ensure_ascii=False),
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        values["Signature"] = aliyun_signature(values, secret=self.access_key_secret)
        return values

    def send(self, *, mobile: str, text: str, params: Mapping[str, str]) -> None:
        body = urllib.parse.urlencode(self.request_params(mobile=mobile, params=params)).encode()
        request = urllib.request.Request(  # noqa: S310 (the endpoint comes from settings)
            self.endpoint,
            data=body,
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                answer: dict[str, Any] = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:  # 4xx/5xx still carry a JSON Code
            try:
                answer = json.loads(error.read().decode("utf-8"))
            except ValueError:
                raise SmsError(f"Aliyun SMS answered HTTP {error.code}") from error
        except (urllib.error.URLError, TimeoutError, ValueError) as error:
            raise SmsError(f"Aliyun SMS is unreachable: {error}") from error
        if answer.get("Code") != "OK":
            code = str(answer.get("Code", ""))
            raise SmsError(f"Aliyun SMS refused the message: {code} {answer.get('Message')}", code)


def get_backend() -> BaseBackend:
    backend_class = import_string(settings.SMS_BACKEND)
    return backend_class()


def send_sms(*, mobile: str, text: str, params: Mapping[str, str] | None = None) -> None:
    """Send one message now; raises SmsError when the backend could not hand it over."""
    get_backend().send(mobile=mobile, text=text, params=params or {})
