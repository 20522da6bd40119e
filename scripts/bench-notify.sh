#!/usr/bin/env bash
# Benchmarks verified WeChat Pay notifications per second on PostgreSQL + Redis against pgbench -b simple-update on the same database.
# Usage: scripts/bench-notify.sh [notifications=5000] [senders=32] [pgbench seconds=15]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}
SENDERS=${2:-32}
SECS=${3:-15}
PG=postgres://postgres@127.0.0.1:5432
DB=wuye_bench_notify
scripts/ensure-services.sh >/dev/null
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
redis-cli -h 127.0.0.1 --scan --pattern 'wuye-bench-notify:*' | xargs -r redis-cli -h 127.0.0.1 del >/dev/null

echo "== pgbench -b simple-update -c $SENDERS -j 2 -T $SECS (the one-row-transaction ceiling of this machine)"
pgbench -q -i -s 10 "$PG/$DB" >/dev/null 2>&1
PGB=$(pgbench -n -b simple-update -c "$SENDERS" -j 2 -T "$SECS" "$PG/$DB" 2>/dev/null)
echo "$PGB" | grep -E "^tps|latency average"
TPS=$(echo "$PGB" | awk '/^tps/ {print $3; exit}')

echo "== wuye: $N distinct verified notifications, $SENDERS concurrent senders"
OUT=$(WUYE_BENCH_DB="$PG/$DB" WUYE_BENCH_N=$N WUYE_BENCH_SENDERS=$SENDERS RUST_LOG=warn cargo bench -q --bench notify 2>&1)
echo "$OUT" | grep -E "^notifications|seeded"
RPS=$(echo "$OUT" | awk '/^RESULT_RPS/ {print $2}')
python3 -c "print(f'wuye / pgbench = {$RPS / $TPS:.1%}')"
