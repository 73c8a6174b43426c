from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from cpe.core.env import env_bool, env_int, env_secret, load_dotenv

ROOT = Path(__file__).resolve().parents[3]
STARTUP = (
    "import os, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'cpe.settings'; "
    "django.setup(); print('started')"
)


def _start(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    clean.update({"CPE_VAR_DIR": str(tmp_path), **env})
    return subprocess.run(
        [sys.executable, "-c", STARTUP],
        cwd=tmp_path,
        env={**clean, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_its_secrets(tmp_path):
    result = _start({"DEBUG": "false"}, tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert not (tmp_path / "secrets.json").exists()


def test_production_starts_when_every_secret_is_given(tmp_path):
    secrets = {
        "SECRET_KEY": "x" * 50,
        "FIELD_ENCRYPTION_KEYS": "k1:" + "A" * 43 + "=",  # base64 of 32 bytes
        "LOOKUP_HASH_KEY": "B" * 43 + "=",
        "SIGNING_KEY": "C" * 43 + "=",
        "LEDGER_KEYS": "l1:" + "D" * 43 + "=",
    }
    result = _start({"DEBUG": "false", **secrets}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_development_generates_secrets_once_and_keeps_them(tmp_path, monkeypatch):
    monkeypatch.delenv("SIGNING_KEY", raising=False)
    store = tmp_path / "secrets.json"
    first = env_secret("SIGNING_KEY", debug=True, store=store)
    again = env_secret("SIGNING_KEY", debug=True, store=store)
    assert first == again and len(first) >= 40
    assert json.loads(store.read_text())["SIGNING_KEY"] == first
    assert oct(store.stat().st_mode & 0o777) == "0o600"


def test_a_secret_from_the_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert env_secret("SECRET_KEY", debug=True, store=tmp_path / "s.json") == "from-the-environment"
    assert not (tmp_path / "s.json").exists()


def test_typed_readers_refuse_nonsense(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "perhaps")
    with pytest.raises(ImproperlyConfigured):
        env_bool("SOME_FLAG")
    monkeypatch.setenv("SOME_NUMBER", "many")
    with pytest.raises(ImproperlyConfigured):
        env_int("SOME_NUMBER", 1)
    monkeypatch.setenv("SOME_FLAG", "Yes")
    assert env_bool("SOME_FLAG") is True


def test_the_dotenv_file_does_not_override_the_environment(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("# comment\nCPE_A=from-file\nCPE_B='quoted'\n")
    monkeypatch.setenv("CPE_A", "from-env")
    monkeypatch.delenv("CPE_B", raising=False)
    load_dotenv(tmp_path / ".env")
    assert os.environ["CPE_A"] == "from-env"
    assert os.environ["CPE_B"] == "quoted"
    monkeypatch.delenv("CPE_B")


def test_every_setting_read_from_the_environment_is_documented():
    import re

    settings_text = (ROOT / "cpe" / "settings.py").read_text()
    example = (ROOT / ".env.example").read_text()
    names = set(re.findall(r'env_(?:str|bool|int|list|secret)\("([A-Z_]+)"', settings_text))
    assert names, "no settings found"
    missing = sorted(n for n in names if n not in example)
    assert not missing, f"not in .env.example: {missing}"


def test_a_malformed_encryption_key_stops_start_up(tmp_path):
    result = _start(
        {
            "DEBUG": "false",
            "SECRET_KEY": "x" * 50,
            "FIELD_ENCRYPTION_KEYS": "k1:tooshort",
            "LOOKUP_HASH_KEY": "B" * 43 + "=",
            "SIGNING_KEY": "C" * 43 + "=",
            "LEDGER_KEYS": "l1:" + "D" * 43 + "=",
        },
        tmp_path,
    )
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr


def test_production_refuses_to_start_without_the_ledger_key(tmp_path):
    secrets = {
        "SECRET_KEY": "x" * 50,
        "FIELD_ENCRYPTION_KEYS": "k1:" + "A" * 43 + "=",
        "LOOKUP_HASH_KEY": "B" * 43 + "=",
        "SIGNING_KEY": "C" * 43 + "=",
    }
    result = _start({"DEBUG": "false", **secrets}, tmp_path)
    assert result.returncode != 0
    assert "LEDGER_KEYS is not set" in result.stderr


def test_a_malformed_ledger_key_stops_start_up(tmp_path):
    result = _start(
        {
            "DEBUG": "false",
            "SECRET_KEY": "x" * 50,
            "FIELD_ENCRYPTION_KEYS": "k1:" + "A" * 43 + "=",
            "LOOKUP_HASH_KEY": "B" * 43 + "=",
            "SIGNING_KEY": "C" * 43 + "=",
            "LEDGER_KEYS": "a-key-id-far-too-long-for-its-column:" + "D" * 43 + "=",
        },
        tmp_path,
    )
    assert result.returncode != 0
    assert "LEDGER_KEYS" in result.stderr


def test_development_generates_a_ledger_key_with_its_key_id(tmp_path, monkeypatch):
    monkeypatch.delenv("LEDGER_KEYS", raising=False)
    value = env_secret("LEDGER_KEYS", debug=True, store=tmp_path / "secrets.json")
    key_id, _, material = value.partition(":")
    assert key_id == "l1" and len(base64.b64decode(material)) == 32
