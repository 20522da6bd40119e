#!/usr/bin/env bash
# The auto-debit pass over many mandates on PostgreSQL against local fakes (issue #16: 100,000 ≤ 5 min per pass), then bench-notify in the same run for notifications/s beside debits/s.
# Usage: scripts/bench-autodebit.sh [mandates=100000] [concurrency=8] [notifications=5000]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
CONC=${2:-8}
NOTIFY=${3:-5000}
PG=postgres://postgres@127.0.0.1:5432
DB=wuye_bench_autodebit
scripts/ensure-services.sh >/dev/null
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
echo "== wuye auto-debit: $N mandates, $CONC at once"
WUYE_BENCH_DB="$PG/$DB" WUYE_BENCH_MANDATES=$N WUYE_BENCH_CONCURRENCY=$CONC RUST_LOG=warn \
  cargo bench -q --bench autodebit 2>&1 | grep -E "^(seeded|plan|notice|debit|checked|RESULT)"
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
echo "== the same run: verified WeChat Pay notifications per second (scripts/bench-notify.sh $NOTIFY 32 5)"
scripts/bench-notify.sh "$NOTIFY" 32 5 | grep -E "^notifications|^tps|wuye /"
