#!/usr/bin/env bash
# One reminder pass over 1,000,000 bills of 200,000 owners on PostgreSQL, sending through a local
# fake SMS gateway; prints the pass time, bills/s and the peak RSS.
# Usage: scripts/bench-reminders.sh [bills=1000000] [owners=200000]
set -euo pipefail
cd "$(dirname "$0")/.."
BILLS=${1:-1000000}
OWNERS=${2:-200000}
PG=postgres://postgres@127.0.0.1:5432
DB=wuye_bench_reminders
scripts/ensure-services.sh >/dev/null
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
WUYE_BENCH_DB="$PG/$DB" WUYE_BENCH_BILLS=$BILLS WUYE_BENCH_OWNERS=$OWNERS RUST_LOG=warn \
  cargo bench -q --bench reminders 2>&1 | grep -E "^(seeded|pass|second|RESULT)"
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
