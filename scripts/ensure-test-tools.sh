#!/bin/sh
# System packages the tests use: Debian's Chromium for the browser tests (Playwright cannot
# download its own browser here), GNU gettext for the translation-extraction check and
# poppler-utils for the certificate PDFs.
# Installed with apt when missing and we are allowed to; otherwise we say so plainly.
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v xgettext >/dev/null 2>&1 || missing="$missing gettext"
# poppler-utils: the certificate tests read PDFs back with pdftotext and render them with pdftoppm.
command -v pdftoppm >/dev/null 2>&1 || missing="$missing poppler-utils"
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian packages for the tests:$missing"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq >/dev/null && apt-get install -y -qq $missing >/dev/null; then
    exit 0
  fi
  echo "Could not install$missing with apt." >&2
else
  echo "Missing$missing, and this user cannot install it (sudo apt-get install$missing)." >&2
fi
case "$missing" in *chromium*) echo "The browser tests will be skipped (CI=true makes that a failure)." >&2 ;; esac
case "$missing" in *gettext*) echo "The translation-extraction test will be skipped (a failure under CI)." >&2 ;; esac
exit 0
