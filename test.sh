#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine with Python 3.11, then runs them all.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
command -v openssl >/dev/null || { apt-get update -qq && apt-get install -y -qq openssl; }
exec python3 -m pytest "$@"
