#!/usr/bin/env bash
# The cockpit's browser tests drive the system's Chromium (Debian's `chromium`). `make test` runs this first:
# with Chromium present it does nothing; as root on Debian/Ubuntu it installs the package (apt-get, from the
# distribution's own mirror); otherwise it says how, and the browser tests skip loudly naming that command.
set -u
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the cockpit's browser tests (apt-get) ..."
  if DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/tmp/tongcheng-chromium.log 2>&1 \
    || { apt-get update -q >>/tmp/tongcheng-chromium.log 2>&1 \
         && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >>/tmp/tongcheng-chromium.log 2>&1; }; then
    echo "chromium installed: $(chromium --version 2>/dev/null)"
  else
    echo "could not install chromium (log: /tmp/tongcheng-chromium.log): the browser tests will skip"
  fi
else
  echo "no Chromium: the cockpit's browser tests will skip; install it with: sudo apt-get install -y chromium"
fi
exit 0
