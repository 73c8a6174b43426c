#!/bin/sh
# Browser tests drive Debian's Chromium (Playwright cannot download its own browser here).
# Install it with apt when it is missing and we are allowed to; otherwise say so plainly.
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium package for the browser tests..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null && exit 0
  echo "Could not install chromium with apt: the browser tests will be skipped." >&2
else
  echo "Chromium (/usr/bin/chromium) is missing and this user cannot install it:" >&2
  echo "the browser tests will be skipped. Install it with: sudo apt-get install chromium" >&2
fi
exit 0
