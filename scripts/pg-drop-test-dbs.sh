#!/usr/bin/env bash
# Drops the per-test PostgreSQL databases (wuye_t_*, wuye_tpl_*) that test runs leave behind.
set -euo pipefail
url="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
psql "$url" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'wuye\_t\_%' OR datname LIKE 'wuye\_tpl\_%'" |
  while read -r db; do
    [ -n "$db" ] && psql "$url" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
  done
echo "test databases dropped"
