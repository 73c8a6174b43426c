"""Typed readers for settings that come from the environment (and an optional .env file)."""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def load_dotenv(path: Path) -> None:
    """Read KEY=VALUE lines into os.environ without overriding what is already set."""
    if not path.is_file():
        return
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip().strip('"').strip("'")
        os.environ.setdefault(key.strip(), value)


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def _random_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _ed25519_key() -> str:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    raw = Ed25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )
    return base64.b64encode(raw).decode()


# How each secret is generated for development; production must supply them all.
SECRET_GENERATORS: dict[str, Callable[[], str]] = {
    "SECRET_KEY": lambda: secrets.token_urlsafe(50),
    "FIELD_ENCRYPTION_KEYS": lambda: f"k1:{_random_key()}",
    "LOOKUP_HASH_KEY": _random_key,
    "SIGNING_KEY": _ed25519_key,
    "LEDGER_KEYS": lambda: f"l1:{_random_key()}",
}


def env_secret(name: str, *, debug: bool, store: Path) -> str:
    """A secret from the environment; in development, generated once into `store`.

    With DEBUG off a missing secret is a configuration error: production must never
    run on a key that was invented on the spot and lost at the next restart.
    """
    value = os.environ.get(name, "").strip()
    if value:
        return value
    if not debug:
        raise ImproperlyConfigured(
            f"The secret {name} is not set. Production (DEBUG off) refuses to start "
            f"without it: set {name} in the environment (see .env.example)."
        )
    stored: dict[str, str] = {}
    if store.is_file():
        stored = json.loads(store.read_text(encoding="utf-8"))
    if name not in stored:
        stored[name] = SECRET_GENERATORS[name]()
        store.parent.mkdir(parents=True, exist_ok=True)
        store.write_text(json.dumps(stored, indent=2), encoding="utf-8")
        store.chmod(0o600)
    return stored[name]
