#!/usr/bin/env bash
# Make sure the PostgreSQL server used by the tests answers; start (or install) it when it does not.
# The tests read CML_MLOPS_TEST_PG_DSN (default postgresql://root@127.0.0.1:5432/test).
set -euo pipefail
host=${PGHOST:-127.0.0.1}
port=${PGPORT:-5432}

ready() { pg_isready -q -h "$host" -p "$port" 2>/dev/null; }

if ready; then
  exit 0
fi
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure_postgres: installing PostgreSQL from Debian packages" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "ensure_postgres: PostgreSQL is not reachable at $host:$port and not installed; install it or set CML_MLOPS_TEST_PG_DSN" >&2
    exit 1
  fi
fi
version=$(ls /etc/postgresql | sort -V | tail -n 1)
echo "ensure_postgres: starting PostgreSQL $version" >&2
pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
for _ in $(seq 1 30); do
  if ready; then
    # The tests connect as the current user over TCP; make sure that role and the test database exist.
    if [ "$(id -u)" = 0 ]; then
      su postgres -c "psql -qtAc \"select 1 from pg_roles where rolname='root'\" | grep -q 1 || createuser -s root" || true
      su postgres -c "psql -qtAc \"select 1 from pg_database where datname='test'\" | grep -q 1 || createdb -O root test" || true
    fi
    exit 0
  fi
  sleep 1
done
echo "ensure_postgres: PostgreSQL did not become ready on $host:$port" >&2
exit 1
