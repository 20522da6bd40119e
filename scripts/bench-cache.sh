#!/usr/bin/env bash
# Benchmarks whether owner bill look-ups stay cached while payments arrive, on PostgreSQL + Redis:
# owners of one community look their bills up from concurrent clients while a counter payment for
# another unit lands every 50 ms (20/s). Target: hit rate >= 95 %, p99 < 10 ms.
# Usage: scripts/bench-cache.sh [owners=2000] [seconds=30] [clients=64]
set -euo pipefail
cd "$(dirname "$0")/.."
OWNERS=${1:-2000}
SECS=${2:-30}
CLIENTS=${3:-64}
PG=postgres://postgres@127.0.0.1:5432
DB=wuye_bench_cache
PREFIX=wuye-bench-cache:
scripts/ensure-services.sh >/dev/null
clear_redis() { redis-cli -h 127.0.0.1 --scan --pattern "$PREFIX*" | xargs -r redis-cli -h 127.0.0.1 del >/dev/null; }
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
clear_redis
trap 'psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true; clear_redis || true' EXIT

echo "== wuye: $OWNERS owners looking up bills for ${SECS}s from $CLIENTS clients, a counter payment every 50 ms"
if ! OUT=$(WUYE_BENCH_DB="$PG/$DB" WUYE_BENCH_OWNERS=$OWNERS WUYE_BENCH_SECS=$SECS WUYE_BENCH_CLIENTS=$CLIENTS \
  RUST_LOG=warn cargo bench -q --bench cache 2>&1); then
  echo "$OUT" | tail -40
  exit 1
fi
echo "$OUT" | grep -E "^(seeded|warm|lookups|latency|payments|hit rate|misses per|RESULT)"
HIT=$(echo "$OUT" | awk '/^RESULT_HIT_RATE/ {print $2}')
P99=$(echo "$OUT" | awk '/^RESULT_P99_MS/ {print $2}')
python3 -c "h, p = $HIT, $P99; print(f'target hit rate >= 95 % and p99 < 10 ms: {\"met\" if h >= 95 and p < 10 else \"NOT met\"}')"
