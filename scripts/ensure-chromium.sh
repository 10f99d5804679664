#!/usr/bin/env bash
# Makes sure a headless-capable Chromium is installed for the console's
# browser tests (console/browser_test.go). If none is found, installs Debian's
# `chromium` package with apt-get. Used by `make test`, like ensure-redis.sh.
# Set CHROMIUM to a browser binary to use another one.
set -euo pipefail

for c in "${CHROMIUM:-}" chromium chromium-browser google-chrome google-chrome-stable; do
  if [ -n "$c" ] && command -v "$c" >/dev/null 2>&1; then
    exit 0
  fi
done

echo "chromium not found; installing it with apt-get" >&2
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
command -v chromium >/dev/null
