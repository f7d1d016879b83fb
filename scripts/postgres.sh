#!/usr/bin/env bash
# Starts a local PostgreSQL for the controller's HA tests (it refuses to run as root, so it runs as
# the postgres user), and makes a role that may create the tests' databases. Prints the URL the
# tests read from MERIDIAN_TEST_POSTGRES. Safe to run again.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v pg_ctlcluster >/dev/null; then
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$"; then
  as_root pg_createcluster "$version" main >/dev/null
fi
if ! pg_lsclusters -h | grep "^$version main" | grep -q online; then
  as_root pg_ctlcluster "$version" main start
fi
for _ in $(seq 1 50); do
  as_root su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 0.2
done
as_root su postgres -c "psql -qtAc \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'meridian') THEN CREATE ROLE meridian LOGIN PASSWORD 'meridian' CREATEDB; END IF; END \\\$\\\$;\"" >/dev/null
as_root su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname = 'meridian'\"" | grep -q 1 \
  || as_root su postgres -c "createdb -O meridian meridian"
port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
echo "postgres://meridian:meridian@127.0.0.1:${port}/meridian"
