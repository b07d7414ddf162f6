#!/usr/bin/env bash
# What the test suite drives for real besides Python packages: Prometheus and Alertmanager,
# Debian's Chromium (Playwright, no browser download), and a PostgreSQL server. Installs the
# Debian packages when missing (as root or with sudo) and, when no PostgreSQL answers on
# 127.0.0.1:5432, starts a throwaway cluster for this run. Sourced by scripts/test.

apt_install() {
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "error: missing $*; install them (apt-get install $*)" >&2; return 1; }
    sudo="sudo"
  fi
  echo "installing $* (Debian packages)" >&2
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_packages() {
  local need=()
  command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
  command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1 \
    || need+=(prometheus-alertmanager)
  [ -x /usr/bin/chromium ] || need+=(chromium)
  dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || need+=(fonts-noto-color-emoji)
  port_open 127.0.0.1 5432 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
  if [ ${#need[@]} -gt 0 ]; then apt_install "${need[@]}"; fi
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# Start a private PostgreSQL when none answers on the default port; stopped by stop_postgres.
start_postgres() {
  port_open 127.0.0.1 5432 && return 0
  local bin; bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  PG_TMP="$(mktemp -d /tmp/triage-pg.XXXXXX)"
  local port; port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  local run=()
  if [ "$(id -u)" = 0 ]; then chown postgres "$PG_TMP"; run=(runuser -u postgres --); fi
  "${run[@]}" "$bin/initdb" -D "$PG_TMP/data" -A trust -U postgres >/dev/null
  "${run[@]}" "$bin/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/log" -w \
    -o "-p $port -k $PG_TMP -c listen_addresses=127.0.0.1" start >/dev/null
  PG_STOP=("${run[@]}" "$bin/pg_ctl" -D "$PG_TMP/data" -m fast stop)
  "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres test
  export AUDIT_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/test"
  echo "started a throwaway PostgreSQL on 127.0.0.1:$port for this run" >&2
}

stop_postgres() {
  if [ -n "${PG_TMP:-}" ]; then
    "${PG_STOP[@]}" >/dev/null 2>&1 || true
    rm -rf "$PG_TMP"
  fi
}
