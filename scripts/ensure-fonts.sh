#!/bin/sh
# The CJK font that certificates embed: Debian's fonts-noto-cjk (SIL Open Font License, which
# allows embedding and redistribution). Installed with apt when missing and we are root;
# otherwise we say so plainly (certificates then fail with a message naming the package).
font="${CERTIFICATE_FONT_PATH:-/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc}"
[ -f "$font" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's fonts-noto-cjk for the certificates"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq >/dev/null && apt-get install -y -qq fonts-noto-cjk >/dev/null; then
    exit 0
  fi
  echo "Could not install fonts-noto-cjk with apt." >&2
else
  echo "The certificate font $font is missing, and this user cannot install it (sudo apt-get install fonts-noto-cjk)." >&2
fi
exit 0
