#!/usr/bin/env bash
# The points earning pass over 100,000 paid online orders (one credited line each, paid on time) on
# PostgreSQL; prints the pass time, lines/s and a second pass that finds nothing left (issue #15:
# ≤ 20 s).
# Usage: scripts/bench-points.sh [payments=100000] [units_per_account=1]
set -euo pipefail
cd "$(dirname "$0")/.."
PAYMENTS=${1:-100000}
PER_ACCOUNT=${2:-1}
PG=postgres://postgres@127.0.0.1:5432
DB=wuye_bench_points
scripts/ensure-services.sh >/dev/null
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
WUYE_BENCH_DB="$PG/$DB" WUYE_BENCH_PAYMENTS=$PAYMENTS WUYE_BENCH_UNITS_PER_ACCOUNT=$PER_ACCOUNT RUST_LOG=warn \
  cargo bench -q --bench points 2>&1 | grep -E "^(seeded|pass|checked|second|RESULT)"
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
