#!/usr/bin/env bash
# Make sure the system tools some tests drive are installed: Chromium (the dashboard renders in a real browser),
# shellcheck (actionlint checks the workflows' run: scripts with it), and for the Spark engine Java 17 and the
# JDBC drivers of the Iceberg JdbcCatalog (SQLite, PostgreSQL) under /usr/share/java. Debian packages; root installs them.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
ls /usr/share/java/*sqlite-jdbc*.jar >/dev/null 2>&1 || missing+=(libxerial-sqlite-jdbc-java)
ls /usr/share/java/postgresql*.jar >/dev/null 2>&1 || missing+=(libpostgresql-jdbc-java)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure_system_tools: installing ${missing[*]} from Debian packages" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "ensure_system_tools: missing ${missing[*]}; install them (Debian: apt-get install ${missing[*]})" >&2
  exit 1
fi
