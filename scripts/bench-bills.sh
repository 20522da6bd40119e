#!/usr/bin/env bash
# Benchmarks bills on PostgreSQL + Redis: a 100,000-unit billing run, and owner bill-lookup throughput with wrk —
# warm beside /healthz (median of three pairs), uncached beside `pgbench -S -c 32` run on the same machine in the same run.
# Usage: scripts/bench-bills.sh [units=100000] [seconds=15]. Needs the local PostgreSQL and Redis (scripts/ensure-services.sh) and wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
UNITS=${1:-100000}
SECS=${2:-15}
PORT=18080
DB=wuye_bench
PG=postgres://postgres@127.0.0.1:5432
BASE=http://127.0.0.1:$PORT
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
scripts/ensure-services.sh >/dev/null
cargo build --release -q
BIN=$PWD/target/release/wuye
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
redis-cli -h 127.0.0.1 --scan --pattern 'wuye-bench:*' | xargs -r redis-cli -h 127.0.0.1 del >/dev/null

start() { # $1 = cache enabled
  (cd "$WORK" && exec env WUYE__DATABASE__URL=$PG/$DB WUYE__DATABASE__MAX_CONNECTIONS=20 WUYE__REDIS__URL=redis://127.0.0.1:6379 \
    WUYE__REDIS__KEY_PREFIX=wuye-bench: WUYE__SERVER__PORT=$PORT WUYE__SCHEDULER__ENABLED=false WUYE__CACHE__ENABLED=$1 \
    RUST_LOG=warn "$BIN" serve --demo >"$WORK/server.log" 2>&1) &
  SERVER=$!
  for _ in $(seq 1 100); do curl -sf "$BASE/readyz" >/dev/null && return 0; sleep 0.2; done
  echo "server did not start"; cat "$WORK/server.log"; exit 1
}
json() { python3 -c "import sys,json; print(json.load(sys.stdin)$1)"; }

start true
ADMIN=$(curl -sf -XPOST "$BASE/api/v1/auth/staff/login" -d '{"username":"admin","password":"wuye-demo-2026"}' | json '["token"]')
CID=$(curl -sf -XPOST "$BASE/api/v1/staff/communities" -H "Authorization: Bearer $ADMIN" \
  -d '{"name":"基准小区","code":"BENCH","late_fee":{"daily_rate":"0.0005","grace_days":15,"cap_ratio":"1.00"}}' | json '["id"]')
psql "$PG/$DB" -qc "INSERT INTO units (community_id, building, code, area_centi_m2, created_at)
  SELECT $CID, 'B' || (g / 1000), 'U-' || g, 6000 + (g * 37) % 8000, now() FROM generate_series(1, $UNITS) g"
curl -sf -XPOST "$BASE/api/v1/staff/fee-items" -H "Authorization: Bearer $ADMIN" \
  -d "{\"community_id\":$CID,\"name\":\"物业服务费\",\"kind\":\"per_area\",\"unit_price\":\"2.50\",\"cycle\":\"monthly\",\"due_day\":15}" >/dev/null

echo "== billing run: $UNITS units"
RUN=$(curl -sf -XPOST "$BASE/api/v1/staff/billing-runs" -H "Authorization: Bearer $ADMIN" -d "{\"community_id\":$CID,\"period\":\"2026-12\"}" \
  -w ' %{time_total}')
echo "answer and seconds: $RUN"
RUN2=$(curl -sf -XPOST "$BASE/api/v1/staff/billing-runs" -H "Authorization: Bearer $ADMIN" -d "{\"community_id\":$CID,\"period\":\"2026-12\"}" \
  -w ' %{time_total}')
echo "repeat (idempotent): $RUN2"

# Planner statistics, as autovacuum would gather them within a minute of the run (it is off on this
# machine, on by default in PostgreSQL): the one-statement look-up is planned from them.
psql "$PG/$DB" -qc "ANALYZE"
OWNER=$(curl -sf -XPOST "$BASE/api/v1/auth/demo/login" -d '{"phone":"13800000001"}' | json '["token"]')
curl -sf "$BASE/api/v1/me/bills?status=all" -H "Authorization: Bearer $OWNER" | json '.__len__()' | sed 's/^/bills in the answer: /'

bench() { # name url [auth]
  local out
  if [ -n "${3:-}" ]; then
    out=$(wrk -t2 -c64 -d"${SECS}s" --latency -H "Authorization: Bearer $3" "$2")
  else
    out=$(wrk -t2 -c64 -d"${SECS}s" --latency "$2")
  fi
  local rps p50 p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  local non2xx
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $4}')
  printf '%-28s %10s req/s   p50 %8s   p99 %8s   non-2xx %s\n' "$1" "$rps" "$p50" "$p99" "${non2xx:-0}"
  eval "RPS_$4=$rps"
}
echo "== wrk -t2 -c64 -d${SECS}s (server and wrk share this machine's 2 cores)"
RATIOS=()
for i in 1 2 3; do
  bench "/healthz (run $i)" "$BASE/healthz" "" health
  bench "/me/bills warm (run $i)" "$BASE/api/v1/me/bills?status=all" "$OWNER" warm
  RATIOS+=("$(python3 -c "print($RPS_warm / $RPS_health)")")
done
kill $SERVER; wait $SERVER 2>/dev/null || true
start false
bench "/me/bills (uncached)" "$BASE/api/v1/me/bills?status=all" "$OWNER" cold
kill $SERVER; wait $SERVER 2>/dev/null || true

echo "== pgbench -S -c 32 -j 2 -T $SECS (read-only one-row selects: the database's ceiling on this machine)"
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS ${DB}_pgb WITH (FORCE)" -c "CREATE DATABASE ${DB}_pgb"
pgbench -q -i -s 10 "$PG/${DB}_pgb" >/dev/null 2>&1
PGB=$(pgbench -n -S -c 32 -j 2 -T "$SECS" "$PG/${DB}_pgb" 2>/dev/null)
echo "$PGB" | grep -E "^tps|latency average"
TPS=$(echo "$PGB" | awk '/^tps/ {print $3; exit}')
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS ${DB}_pgb WITH (FORCE)"
python3 -c "
import statistics
r = sorted([${RATIOS[0]}, ${RATIOS[1]}, ${RATIOS[2]}])
print(f'warm / healthz = {statistics.median(r):.1%} (median of {\", \".join(f\"{x:.1%}\" for x in r)})')
print(f'uncached / pgbench -S = {$RPS_cold / $TPS:.1%}')"
