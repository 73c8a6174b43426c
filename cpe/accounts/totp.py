"""Time-based one-time codes (RFC 6238: 6 digits, 30-second steps): secrets, codes, the
otpauth:// link an authenticator app reads, and its QR code as inline SVG."""

from __future__ import annotations

import hmac
import time
import unicodedata

import pyotp
import segno

from cpe.core.crypto import decrypt, encrypt

STEP_SECONDS = 30
DIGITS = 6
# Steps accepted either side of now, for phones whose clocks drift a little.
WINDOW = 1


def new_secret() -> str:
    """160 random bits in base32 (RFC 4226's recommended length)."""
    return pyotp.random_base32(length=32)


def _purpose(user_id: int) -> str:
    # Bound to the owner: a secret copied onto another person's row does not decrypt there.
    return f"totp_secret:{user_id}"


def seal_secret(secret: str, *, user_id: int) -> str:
    return encrypt(secret, purpose=_purpose(user_id))


def open_secret(token: str, *, user_id: int) -> str:
    return decrypt(token, purpose=_purpose(user_id))


def time_step(at: float | None = None) -> int:
    return int((time.time() if at is None else at) // STEP_SECONDS)


def code_at_step(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def normalise_code(text: str) -> str:
    """Digits only: full-width digits from a Chinese keyboard count, spaces and dashes do not."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch not in " -")


def matching_step(
    secret: str, code: str, *, after_step: int, at: float | None = None
) -> int | None:
    """The time step whose code this is, if it is within the window and newer than
    `after_step` (so a code that was used once, or an older one, is refused)."""
    code = normalise_code(code)
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    now = time_step(at)
    for step in range(now - WINDOW, now + WINDOW + 1):
        if step > after_step and hmac.compare_digest(code_at_step(secret, step), code):
            return step
    return None


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account, issuer_name=issuer
    )


def qr_svg(uri: str) -> str:
    """An <svg> element (no XML declaration) to put straight into a page."""
    return segno.make(uri, error="m").svg_inline(scale=5, border=3, light="#fff", svgclass="qr")


def grouped(secret: str) -> str:
    """ABCD EFGH …: easier to type into an authenticator app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
