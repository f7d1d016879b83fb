#!/usr/bin/env bash
# Starts a PostgreSQL of the tests' own for the controller's HA tests and prints the URL they read
# from MERIDIAN_TEST_POSTGRES. It is a private, throwaway cluster (initdb + pg_ctl, as the postgres
# user, since PostgreSQL refuses to run as root) in $MERIDIAN_TEST_PGDATA, on a free loopback port,
# so nothing a machine's system cluster was left in (stopped, killed, a stale pid file, a port in
# use) can make the tests run without a database. Safe to run again: a server it started that still
# answers is reused. On any failure it prints why (with the server log) and exits non-zero.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
as_pg() { as_root su postgres -s /bin/sh -c "$1"; }
fail() { echo "postgres.sh: $*" >&2; [ -f "$dir/server.log" ] && tail -n 40 "$dir/server.log" >&2; exit 1; }

dir=${MERIDIAN_TEST_PGDATA:-/tmp/meridian-test-pg}
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

# Reuse a server this script started earlier if it still answers.
if [ -f "$dir/port" ] && as_pg "$bin/pg_ctl -D '$dir/data' status" >/dev/null 2>&1; then
  port=$(cat "$dir/port")
  if as_pg "$bin/psql -h 127.0.0.1 -p $port -U postgres -qtAc 'select 1'" >/dev/null 2>&1; then
    echo "postgres://meridian:meridian@127.0.0.1:${port}/meridian"
    exit 0
  fi
  as_pg "$bin/pg_ctl -D '$dir/data' -m immediate stop" >/dev/null 2>&1 || true
fi

# Only a directory this script made (the marker, or the port file and cluster it leaves) or an
# empty one is ever removed, so a MERIDIAN_TEST_PGDATA pointed at real data by mistake is refused,
# not deleted.
ours() { [ -f "$dir/.meridian-test-pg" ] || { [ -f "$dir/port" ] && [ -f "$dir/data/PG_VERSION" ]; }; }
if [ -e "$dir" ] && ! ours && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
  echo "postgres.sh: $dir exists and was not made by this script; set MERIDIAN_TEST_PGDATA to a new directory" >&2
  exit 1
fi
as_root rm -rf "$dir"
mkdir -p "$dir"
touch "$dir/.meridian-test-pg"
as_root chown postgres "$dir"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg "$bin/initdb -D '$dir/data' -U postgres -A trust -E UTF8 --no-sync" >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; fail "initdb failed"; }
as_pg "$bin/pg_ctl -D '$dir/data' -l '$dir/server.log' -w -t 60 \
  -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off\" start" >/dev/null \
  || fail "the server did not start on port $port"
echo "$port" >"$dir/port"
as_pg "$bin/psql -h 127.0.0.1 -p $port -U postgres -qtAc \"CREATE ROLE meridian LOGIN PASSWORD 'meridian' CREATEDB\"" >/dev/null \
  || fail "could not create the meridian role"
as_pg "$bin/psql -h 127.0.0.1 -p $port -U postgres -qtAc 'CREATE DATABASE meridian OWNER meridian'" >/dev/null \
  || fail "could not create the meridian database"
echo "postgres://meridian:meridian@127.0.0.1:${port}/meridian"
