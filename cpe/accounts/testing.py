"""Helpers for tests that sign staff in with the test client (imported by tests only)."""

from __future__ import annotations

import re
import time
from typing import Any

from django.test import Client

from cpe.accounts import totp
from cpe.accounts.models import TOTPDevice, User
from cpe.core.testing import TEST_PASSWORD

SECRET_ON_PAGE = re.compile(r'data-totp-secret="([A-Z2-7]+)"')
# Time a request may take between computing a code and the server checking it.
SAFETY_SECONDS = 3


def secret_on_page(response: Any) -> str:
    """The key the set-up page shows for typing into an authenticator app by hand."""
    found = SECRET_ON_PAGE.search(response.content.decode())
    assert found, "the page shows no authenticator key"
    return found.group(1)


def fresh_code(secret: str, *, after_step: int = 0) -> str:
    """A code the server accepts now: the earliest step of the window not used yet.

    The oldest step's code stops working at the next boundary, so it is used only with a
    few seconds to spare; when every usable code is spent, this waits for the next step.
    """
    while True:
        now = time.time()
        step = totp.time_step(now)
        spare = (step + 1) * totp.STEP_SECONDS - now
        lowest = step - totp.WINDOW if spare > SAFETY_SECONDS else step - totp.WINDOW + 1
        candidate = max(lowest, after_step + 1)
        if candidate <= step + totp.WINDOW:
            return totp.code_at_step(secret, candidate)
        time.sleep(spare + 0.05)


def device_secret(user: User) -> tuple[str, int]:
    """The confirmed authenticator's secret and its last used step, read from the database."""
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return totp.open_secret(device.secret_encrypted, user_id=user.pk), device.last_used_step


def staff_sign_in(client: Client, username: str, password: str = TEST_PASSWORD) -> Any:
    """Sign in through the staff pages as a person would, setting up the authenticator from
    the key shown on the page when the role needs one. Returns the last response."""
    response = client.post("/staff/login/", {"username": username, "password": password})
    location = response.get("Location", "")
    if location == "/staff/login/enrol/":
        secret = secret_on_page(client.get(location))
        response = client.post(location, {"code": fresh_code(secret)})
    elif location == "/staff/login/code/":
        secret, last = device_secret(User.objects.get(username__iexact=username))
        response = client.post(location, {"code": fresh_code(secret, after_step=last)})
    return response
