#!/bin/sh
# Install Debian's chromium for the playwright e2e tests when it is missing (idempotent).
set -eu
if [ -x /usr/bin/chromium ]; then
    echo "chromium present: /usr/bin/chromium"
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
/usr/bin/chromium --version
