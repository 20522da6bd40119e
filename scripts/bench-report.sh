#!/usr/bin/env bash
# Benchmarks the collection report and the console dashboard on PostgreSQL for one big community:
# UNITS units × MONTHS monthly bills (most paid, on days spread after each due date), seeded in SQL, then
# the rollup built by the server's own start-up backfill (timed), then each page asked RUNS times with the
# cache off; prints the median and worst time (curl's time to the first byte on localhost ≈ server time).
# Usage: scripts/bench-report.sh [units=100000] [months=24] [runs=20]. Needs the local PostgreSQL
# (scripts/ensure-services.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
UNITS=${1:-100000}
MONTHS=${2:-24}
RUNS=${3:-20}
PORT=18081
DB=wuye_bench_report
PG=postgres://postgres@127.0.0.1:5432
BASE=http://127.0.0.1:$PORT
scripts/ensure-services.sh >/dev/null
cargo build --release -q
BIN=$PWD/target/release/wuye
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
start() {
  (cd "$WORK" && exec env WUYE__DATABASE__URL=$PG/$DB WUYE__DATABASE__MAX_CONNECTIONS=10 \
    WUYE__SERVER__PORT=$PORT WUYE__SCHEDULER__ENABLED=false WUYE__CACHE__ENABLED=false \
    RUST_LOG=info "$BIN" serve --demo >>"$WORK/server.log" 2>&1) &
  SERVER=$!
  for _ in $(seq 1 3000); do curl -sf "$BASE/readyz" >/dev/null && return 0; sleep 0.2; done
  echo "server did not start"; tail -20 "$WORK/server.log"; exit 1
}
json() { python3 -c "import sys,json; print(json.load(sys.stdin)$1)"; }

start
ADMIN=$(curl -sf -XPOST "$BASE/api/v1/auth/staff/login" -d '{"username":"admin","password":"wuye-demo-2026"}' | json '["token"]')
CID=$(curl -sf -XPOST "$BASE/api/v1/staff/communities" -H "Authorization: Bearer $ADMIN" \
  -d '{"name":"基准小区","code":"BENCH","late_fee":{"daily_rate":"0.0005","grace_days":15,"cap_ratio":"1.00"}}' | json '["id"]')
ITEM=$(curl -sf -XPOST "$BASE/api/v1/staff/fee-items" -H "Authorization: Bearer $ADMIN" \
  -d "{\"community_id\":$CID,\"name\":\"物业服务费\",\"kind\":\"per_area\",\"unit_price\":\"2.50\",\"cycle\":\"monthly\",\"due_day\":15}" | json '["id"]')
kill $SERVER; wait $SERVER 2>/dev/null || true

echo "== seeding $UNITS units × $MONTHS months of bills in SQL"
T0=$(date +%s)
psql "$PG/$DB" -q <<SQL
INSERT INTO units (community_id, building, code, area_centi_m2, created_at)
  SELECT $CID, 'B' || lpad((g / 1000)::text, 3, '0'), 'U-' || g, 6000 + (g * 37) % 8000, now() FROM generate_series(1, $UNITS) g;
-- Month i (0 = oldest) ends with 2026-11; a bill is paid with 97 % odds, 90 % last month, 70 % this
-- month, on a day from 10 days before to 40 days after its due date, never after 2026-11-30.
CREATE TEMP TABLE plan AS
  SELECT u.id AS unit_id, u.area_centi_m2, m.i,
         (date '2026-11-01' - make_interval(months => $MONTHS - 1 - m.i))::date AS month_start,
         (u.id * 7919 + m.i * 104729) % 100 < CASE WHEN m.i = $MONTHS - 1 THEN 70 WHEN m.i = $MONTHS - 2 THEN 90 ELSE 97 END AS pays,
         (u.id * 31 + m.i * 17) % 50 - 10 AS day_offset
  FROM units u CROSS JOIN generate_series(0, $MONTHS - 1) AS m(i) WHERE u.community_id = $CID;
CREATE TEMP TABLE seeded AS
  SELECT p.*, p.month_start + 14 AS due_date, p.area_centi_m2 * 250 / 100 AS principal_fen,
         CASE WHEN p.pays AND p.month_start + 14 + p.day_offset <= date '2026-11-30' THEN p.month_start + 14 + p.day_offset END AS paid_on
  FROM plan p;
INSERT INTO bills (community_id, unit_id, fee_item_id, period, period_start, period_end, due_date, principal_fen,
                   paid_principal_fen, late_fee_paid_fen, late_fee_waived_fen, status, paid_at, created_at, issued_on)
  SELECT $CID, unit_id, $ITEM, to_char(month_start, 'YYYY-MM'), month_start, (month_start + interval '1 month - 1 day')::date,
         due_date, principal_fen, CASE WHEN paid_on IS NULL THEN 0 ELSE principal_fen END, 0, 0,
         CASE WHEN paid_on IS NULL THEN 'unpaid' ELSE 'paid' END, paid_on::timestamptz, now(), month_start
  FROM seeded;
INSERT INTO bill_entries (bill_id, kind, principal_fen, late_fee_fen, on_date, reason, actor, created_at)
  SELECT b.id, 'payment', b.principal_fen, 0, b.paid_at::date, '微信支付缴费', 'bench', now()
  FROM bills b WHERE b.community_id = $CID AND b.paid_at IS NOT NULL;
-- Bills written around the ledger: as in a database from before the rollup, which start-up then builds.
DELETE FROM collection_rollup; DELETE FROM household_rollup; DELETE FROM clearance_rollup;
ANALYZE;
SQL
echo "seeded in $(( $(date +%s) - T0 )) s: $(psql "$PG/$DB" -tAc "SELECT count(*) FROM bills") bills, $(psql "$PG/$DB" -tAc "SELECT count(*) FROM bill_entries") entries"

echo "== start-up builds the rollup from those bills"
T0=$(date +%s)
start
echo "rollup built and server ready in $(( $(date +%s) - T0 )) s: $(psql "$PG/$DB" -tAc "SELECT count(*) FROM collection_rollup") money rows, $(psql "$PG/$DB" -tAc "SELECT count(*) FROM household_rollup") household rows, $(psql "$PG/$DB" -tAc "SELECT count(*) FROM clearance_rollup") clearance rows"
psql "$PG/$DB" -qc "ANALYZE"

# A console session: the login form's CSRF cookie and token, then the session cookie.
JAR=$WORK/cookies
CSRF=$(curl -sf -c "$JAR" "$BASE/console/login" | python3 -c "import sys,re; print(re.search(r'name=\"csrf\" value=\"([^\"]+)\"', sys.stdin.read()).group(1))")
curl -sf -b "$JAR" -c "$JAR" -o /dev/null -XPOST "$BASE/console/login" --data-urlencode "csrf=$CSRF" -d "username=admin&password=wuye-demo-2026"

measure() { # name url [curl args…]
  local name=$1 url=$2; shift 2
  curl -sf -o /dev/null "$@" "$url" # warm the connection pool and the planner
  for _ in $(seq 1 "$RUNS"); do curl -sf -o /dev/null -w '%{time_starttransfer}\n' "$@" "$url"; done >"$WORK/times"
  python3 - "$name" "$WORK/times" <<'PY'
import sys, statistics
t = [float(x) * 1000 for x in open(sys.argv[2])]
print(f"{sys.argv[1]:<44} median {statistics.median(t):7.1f} ms   worst {max(t):7.1f} ms   ({len(t)} runs)")
PY
}
echo "== $RUNS runs each (cache off)"
measure "GET /staff/reports/collection (2026-11)" "$BASE/api/v1/staff/reports/collection?community_id=$CID&period=2026-11&as_of=2026-11-30" -H "Authorization: Bearer $ADMIN"
measure "GET /staff/reports/collection (2025-06)" "$BASE/api/v1/staff/reports/collection?community_id=$CID&period=2025-06&as_of=2026-11-30" -H "Authorization: Bearer $ADMIN"
measure "GET /staff/reports/collection?format=csv" "$BASE/api/v1/staff/reports/collection?community_id=$CID&period=2026-11&format=csv" -H "Authorization: Bearer $ADMIN"
measure "GET /console/ (dashboard, one community)" "$BASE/console/?community_id=$CID&period=2026-11" -b "$JAR"
measure "GET /console/ (dashboard, all communities)" "$BASE/console/" -b "$JAR"
curl -sf "$BASE/api/v1/staff/reports/collection?community_id=$CID&period=2026-11&as_of=2026-11-30" -H "Authorization: Bearer $ADMIN" |
  python3 -c "import sys,json; r=json.load(sys.stdin); print('report says:', {k: r[k] for k in ['receivable','collected','collection_rate','households_billed','households_paid','arrears_at_year_start','clearance_rate']}, 'aging', r['aging'])"
