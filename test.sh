#!/usr/bin/env bash
# The README's test command. On a fresh Debian machine with python3-venv it installs what the tests
# need (the dev lock into its own venv, reused while the lock is unchanged; openssl, chromium, fonts
# and PostgreSQL from apt), checks the code (ruff, mypy), then runs every test: once on SQLite and
# once more (the parts that use the shop's database) on a throwaway PostgreSQL server of its own.
# With arguments, it runs just `pytest ARGS` on SQLite, without the checks.
set -euo pipefail
cd "$(dirname "$0")"

venv=.venv-test
# The venv is rebuilt when the lock or the Python that made it changes, so what runs is the lock.
want=$( (python3 -c 'import sys; print(sys.version)'; cat requirements-dev.lock) | sha256sum | cut -d' ' -f1)
if [ "$(cat "$venv/lock.sha256" 2>/dev/null)" != "$want" ]; then
  echo "== installing requirements-dev.lock into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
    -r requirements-dev.lock
  echo "$want" >"$venv/lock.sha256"
fi
export PATH="$PWD/$venv/bin:$PATH"

missing=()
command -v openssl >/dev/null || missing+=(openssl)
command -v chromium >/dev/null || missing+=(chromium)
# Chinese glyphs for the browser tests' screenshots (the pages themselves name no font file).
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${missing[@]}"
fi
if [ $# -gt 0 ]; then
  exec python -m pytest "$@"
fi

echo "== checks: ruff, ruff format, mypy"
ruff check --quiet .
ruff format --check --quiet .
mypy

echo "== pass 1 of 2: everything, on SQLite"
python -m pytest

echo "== pass 2 of 2: the shop, reliability and browser suites, on PostgreSQL"
bin=$(compgen -G "/usr/lib/postgresql/*/bin" | sort -V | tail -n 1)
cluster=$(mktemp -d)
as_postgres=()
if [ "$(id -u)" -eq 0 ]; then # PostgreSQL will not run as root
  chown postgres "$cluster"
  as_postgres=(runuser -u postgres --)
fi
port=$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as_postgres[@]}" "$bin/initdb" --pgdata "$cluster/data" --username postgres --auth trust --encoding UTF8 --no-sync >/dev/null
trap '"${as_postgres[@]}" "$bin/pg_ctl" --pgdata "$cluster/data" --mode immediate stop >/dev/null 2>&1; rm -rf "$cluster"' EXIT
"${as_postgres[@]}" "$bin/pg_ctl" --pgdata "$cluster/data" --log "$cluster/server.log" --wait \
  --options "-p $port -k $cluster -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres" \
  python -m pytest tests/shop tests/reliability tests/browser
