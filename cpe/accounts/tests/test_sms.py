"""SMS backends: console, file, and the Aliyun adapter against a local server that checks the
signature the way Aliyun does and answers like it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote

import pytest
from django.core.exceptions import ImproperlyConfigured

from cpe.accounts.sms import AliyunBackend, ConsoleBackend, FileBackend, SmsError, send_sms

KEY_ID = "LTAI5tTestKeyId"
SECRET = "testSecret/with+odd=chars"
REFUSED_NUMBER = "13000000000"


class FakeAliyun(BaseHTTPRequestHandler):
    """Aliyun's side of SendSms, written from its documentation, not from our adapter."""

    seen_nonces: set[str] = set()
    received: list[dict[str, str]] = []

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass

    @staticmethod
    def encode(value: str) -> str:
        # "A-Z a-z 0-9 - _ . ~ stay; space is %20; everything else %XY of its UTF-8 bytes."
        return "".join(
            c if c.isascii() and (c.isalnum() or c in "-_.~") else quote(c, safe="") for c in value
        )

    def answer(self, status: int, body: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        params = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
        self.received.append(params)
        signature = params.pop("Signature", "")
        canonical = "&".join(
            f"{self.encode(k)}={self.encode(v)}" for k, v in sorted(params.items())
        )
        to_sign = "POST&%2F&" + self.encode(canonical)
        expected = base64.b64encode(
            hmac.new((SECRET + "&").encode(), to_sign.encode(), hashlib.sha1).digest()
        ).decode()
        if params.get("AccessKeyId") != KEY_ID:
            return self.answer(404, {"Code": "InvalidAccessKeyId.NotFound", "Message": "x"})
        if signature != expected:
            return self.answer(
                400,
                {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"},
            )
        sent_at = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        if abs(datetime.now(UTC) - sent_at) > timedelta(minutes=15):
            return self.answer(400, {"Code": "InvalidTimeStamp.Expired", "Message": "x"})
        if params["SignatureNonce"] in self.seen_nonces:
            return self.answer(400, {"Code": "SignatureNonceUsed", "Message": "x"})
        self.seen_nonces.add(params["SignatureNonce"])
        required = {"Action": "SendSms", "Version": "2017-05-25", "SignatureMethod": "HMAC-SHA1"}
        if any(params.get(k) != v for k, v in required.items()):
            return self.answer(400, {"Code": "MissingParameter", "Message": "x"})
        if params["PhoneNumbers"] == REFUSED_NUMBER:
            return self.answer(
                200,
                {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号", "RequestId": "r1"},
            )
        self.answer(
            200, {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "r2"}
        )


@pytest.fixture
def aliyun(settings) -> Iterator[type[FakeAliyun]]:
    FakeAliyun.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeAliyun)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SMS_BACKEND = "cpe.accounts.sms.AliyunBackend"
    settings.SMS_ALIYUN_ENDPOINT = f"http://127.0.0.1:{server.server_port}/"
    settings.SMS_ALIYUN_ACCESS_KEY_ID = KEY_ID
    settings.SMS_ALIYUN_ACCESS_KEY_SECRET = SECRET
    settings.SMS_ALIYUN_SIGN_NAME = "武汉会计继续教育"
    settings.SMS_ALIYUN_TEMPLATE_CODE = "SMS_123456789"
    yield FakeAliyun
    server.shutdown()
    server.server_close()


def test_the_aliyun_adapter_sends_a_signed_template_message(aliyun):
    send_sms(mobile="13912345678", text="code 123456", params={"code": "123456"})
    request = aliyun.received[-1]
    assert request["PhoneNumbers"] == "13912345678"
    assert request["SignName"] == "武汉会计继续教育"
    assert json.loads(request["TemplateParam"]) == {"code": "123456"}


def test_the_aliyun_adapter_reports_the_providers_error_code(aliyun):
    with pytest.raises(SmsError) as error:
        send_sms(mobile=REFUSED_NUMBER, text="x", params={"code": "1"})
    assert error.value.code == "isv.MOBILE_NUMBER_ILLEGAL"


def test_a_wrong_secret_is_refused_by_the_signature_check(aliyun, settings):
    settings.SMS_ALIYUN_ACCESS_KEY_SECRET = "not-the-secret"
    with pytest.raises(SmsError) as error:
        send_sms(mobile="13912345678", text="x", params={"code": "1"})
    assert error.value.code == "SignatureDoesNotMatch"


def test_an_unreachable_provider_is_an_sms_error(settings):
    settings.SMS_BACKEND = "cpe.accounts.sms.AliyunBackend"
    settings.SMS_ALIYUN_ENDPOINT = "http://127.0.0.1:1/"
    settings.SMS_ALIYUN_ACCESS_KEY_ID = KEY_ID
    settings.SMS_ALIYUN_ACCESS_KEY_SECRET = SECRET
    settings.SMS_ALIYUN_SIGN_NAME = "x"
    settings.SMS_ALIYUN_TEMPLATE_CODE = "SMS_1"
    with pytest.raises(SmsError):
        send_sms(mobile="13912345678", text="x", params={"code": "1"})


def test_the_aliyun_adapter_needs_its_settings(settings):
    settings.SMS_ALIYUN_ACCESS_KEY_ID = ""
    with pytest.raises(ImproperlyConfigured, match="SMS_ALIYUN_ACCESS_KEY_ID"):
        AliyunBackend()


def test_the_console_backend_prints_the_message():
    stream = io.StringIO()
    ConsoleBackend(stream).send(mobile="13912345678", text="验证码 654321", params={})
    assert "13912345678" in stream.getvalue() and "654321" in stream.getvalue()


def test_the_file_backend_writes_one_file_per_message(tmp_path, settings):
    settings.SMS_BACKEND = "cpe.accounts.sms.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path)
    send_sms(mobile="13912345678", text="one")
    send_sms(mobile="13912345678", text="two")
    texts = [p.read_text(encoding="utf-8") for p in sorted(tmp_path.iterdir())]
    assert [t.splitlines()[-1] for t in texts] == ["one", "two"]
    assert FileBackend(tmp_path).path == tmp_path
