"""The Chinese translation is complete: every text of the interface has a Chinese version."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.utils import translation

ROOT = Path(__file__).resolve().parents[3]
PO = ROOT / "cpe" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_every_entry_of_the_chinese_catalogue_is_translated():
    catalogue = polib.pofile(str(PO))
    untranslated = [e.msgid for e in catalogue.untranslated_entries()]
    fuzzy = [e.msgid for e in catalogue.fuzzy_entries()]
    assert not untranslated, f"untranslated: {untranslated[:10]}"
    assert not fuzzy, f"fuzzy: {fuzzy[:10]}"


def test_placeholders_survive_translation():
    import re

    pattern = re.compile(r"%\(\w+\)s|\{\{ ?\w+ ?\}\}")
    for entry in polib.pofile(str(PO)).translated_entries():
        texts = [entry.msgstr] if not entry.msgid_plural else list(entry.msgstr_plural.values())
        for text in texts:
            assert sorted(pattern.findall(text)) == sorted(pattern.findall(entry.msgid)), (
                entry.msgid
            )


def test_chinese_is_the_default_and_english_is_available(client, db):
    assert client.get("/").content.decode().count('lang="zh-hans"') == 1
    with translation.override("zh-hans"):
        assert translation.gettext("Help and contacts") == "帮助与联系方式"
    with translation.override("en"):
        assert translation.gettext("Help and contacts") == "Help and contacts"


def test_the_language_switcher_remembers_english(client, db):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/help/"})
    assert response.status_code == 302 and response["Location"] == "/help/"
    page = client.get("/help/").content.decode()
    assert '<html lang="en">' in page and "Help and contacts" in page


@pytest.mark.skipif(
    shutil.which("xgettext") is None and os.environ.get("CI") != "true",
    reason="GNU gettext (xgettext) is not installed; CI installs it",
)
def test_the_catalogue_holds_every_text_in_the_code(tmp_path):
    """Extract the texts afresh from a copy of the code and compare with the committed file,
    so a new string without a translation fails here rather than showing English."""
    copy = tmp_path / "cpe"
    shutil.copytree(ROOT / "cpe", copy, ignore=shutil.ignore_patterns("*.mo", "__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "cpe.settings"}
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "makemessages", "-l", "zh_Hans", "--no-location"],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
    )
    extracted = {
        e.msgid
        for e in polib.pofile(str(copy / "locale/zh_Hans/LC_MESSAGES/django.po"))
        if not e.obsolete
    }
    committed = {e.msgid for e in polib.pofile(str(PO)) if not e.obsolete and e.translated()}
    missing = sorted(extracted - committed)
    assert not missing, f"texts without a Chinese translation (run `make messages`): {missing[:10]}"


def test_an_english_browser_still_gets_chinese_pages_until_the_person_switches(client, db):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="zh-hans">' in page and "帮助与联系方式" in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert '<html lang="en">' in page


def test_the_api_answers_in_the_language_the_client_asks_for(client, db):
    english = client.get("/api/v1/jobs", HTTP_ACCEPT_LANGUAGE="en").json()["message"]
    chinese = client.get("/api/v1/jobs").json()["message"]
    assert (english, chinese) == ("Please sign in first.", "请先登录。")
