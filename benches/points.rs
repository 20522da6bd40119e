//! The points earning pass over a large batch on PostgreSQL (issue #15: 100,000 payments ≤ 20 s):
//! WUYE_BENCH_PAYMENTS paid online orders (default 100,000), one credited line each for a bill paid
//! on time, in one community with points on; WUYE_BENCH_UNITS_PER_ACCOUNT units per owner account
//! (default 1: every payment has its own holder, the most accounts and grades to compute). Times
//! one pass (everything awarded, checked in SQL) and a second (nothing left to award). Run by
//! `scripts/bench-points.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::float_arithmetic)]
use chrono::{TimeZone, Utc};
use sea_orm::{ConnectionTrait, Statement};
use std::sync::Arc;
use std::time::Instant;
use wuye::clock::ManualClock;
use wuye::config::Settings;
use wuye::startup::{Application, Overrides};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;
use common::{env_num, rss_mb};

#[tokio::main]
async fn main() {
    wuye::telemetry::init_tracing();
    let db_url = std::env::var("WUYE_BENCH_DB").expect("WUYE_BENCH_DB");
    let n = env_num("WUYE_BENCH_PAYMENTS", 100_000);
    let per_account = env_num("WUYE_BENCH_UNITS_PER_ACCOUNT", 1).max(1);
    let settings = Settings::load(&[
        ("database.url", db_url),
        ("database.max_connections", "16".into()),
        ("server.port", "0".into()),
        ("server.metrics_bind", "127.0.0.1:0".into()),
        (
            "security.data_key",
            "dGVzdC1vbmx5LWRhdGEta2V5LTMyLWJ5dGVzLWxvbmc=".into(),
        ),
        ("wechat.appid", "wxbench".into()),
        ("wechat.secret", "bench".into()),
        ("scheduler.enabled", "false".into()),
    ])
    .expect("settings");
    // 2026-10-20 10:00 in Shanghai; the orders were paid the day before.
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 10, 20, 2, 0, 0).unwrap());
    let app = Application::build_with(
        settings,
        Overrides {
            clock: Some(Arc::new(clock)),
            ..Default::default()
        },
    )
    .await
    .expect("app");
    let state = app.state.clone();
    let db = &state.db;
    let phone = state.cipher.encrypt("13800000000").unwrap();
    let backend = db.get_database_backend();
    let exec = |sql: String| async move {
        db.execute_raw(Statement::from_string(backend, sql)).await.unwrap();
    };
    let number = |sql: &str| {
        let sql = sql.to_string();
        async move {
            db.query_one_raw(Statement::from_string(backend, sql))
                .await
                .unwrap()
                .unwrap()
                .try_get::<i64>("", "n")
                .unwrap()
        }
    };

    // Seeded in SQL, one community with points on: `n` units, an owner each; the owners of
    // `per_account` consecutive units share a phone, so one verified account reaches them all.
    // Each unit has 12 monthly bills 2025-11 … 2026-10 paid on the 5th (on time), except that every
    // 10th unit paid 2026-09 ten days late (grade B: no × 1.2); its 2026-11 bill (due 2026-11-10)
    // was paid on 2026-10-19 by one WeChat order of the account, with one credited line.
    let started = Instant::now();
    exec("INSERT INTO communities (code, name, timezone, late_fee_daily_rate, late_fee_grace_days, late_fee_cap_ratio, features, created_at) \
          VALUES ('BENCH', '基准小区', 'Asia/Shanghai', '0.0005', 15, '1', '{\"points\": true}', now())".into()).await;
    exec(
        "INSERT INTO fee_items (community_id, name, kind, unit_price, cycle, due_day, active, created_at) \
          SELECT id, '物业服务费', 'fixed', '300', 'monthly', 10, true, now() FROM communities WHERE code = 'BENCH'"
            .into(),
    )
    .await;
    exec(format!(
        "INSERT INTO units (community_id, building, code, area_centi_m2, created_at) \
         SELECT c.id, 'B' || (g / 1000), 'U' || g, 9000, now() FROM communities c, generate_series(1, {n}) g WHERE c.code = 'BENCH'"
    ))
    .await;
    exec(format!(
        "INSERT INTO owners (community_id, name, phone_enc, phone_index, created_at, updated_at) \
         SELECT c.id, '业主' || g, '{phone}', 'bench-' || ((g - 1) / {per_account}), now(), now() \
         FROM communities c, generate_series(1, {n}) g WHERE c.code = 'BENCH'"
    ))
    .await;
    exec(
        "INSERT INTO unit_owners (unit_id, owner_id, start_date, created_at) \
          SELECT u.id, o.id, DATE '2020-01-01', now() FROM \
          (SELECT id, row_number() OVER (ORDER BY id) n FROM units WHERE code LIKE 'U%') u JOIN \
          (SELECT id, row_number() OVER (ORDER BY id) n FROM owners WHERE name LIKE '业主%') o ON o.n = u.n"
            .into(),
    )
    .await;
    exec(format!(
        "INSERT INTO owner_accounts (openid, phone_enc, phone_index, phone_verified_at, created_at) \
         SELECT 'o-bench-' || a, '{phone}', 'bench-' || a, now(), now() FROM generate_series(0, ({n} - 1) / {per_account}) a"
    ))
    .await;
    exec(
        "INSERT INTO bills (community_id, unit_id, fee_item_id, period, period_start, period_end, due_date, principal_fen, \
         paid_principal_fen, late_fee_paid_fen, late_fee_waived_fen, status, paid_at, created_at) \
         SELECT u.community_id, u.id, f.id, to_char(m.start, 'YYYY-MM'), m.start, (m.start + INTERVAL '1 month - 1 day')::date, \
                (m.start + INTERVAL '9 days')::date, 30000, 30000, 0, 0, 'paid', \
                CASE WHEN k = 0 THEN TIMESTAMPTZ '2026-10-19 02:00:00+00' \
                     WHEN k = 2 AND u.id % 10 = 0 THEN (m.start + INTERVAL '19 days 02:00')::timestamptz \
                     ELSE (m.start + INTERVAL '4 days 02:00')::timestamptz END, now() \
         FROM units u JOIN fee_items f ON f.community_id = u.community_id, \
         LATERAL (SELECT k, (DATE '2026-11-01' - make_interval(months => k))::date AS start FROM generate_series(0, 12) k) m \
         WHERE u.code LIKE 'U%'"
            .into(),
    )
    .await;
    exec(
        "INSERT INTO payments (out_trade_no, community_id, account_id, channel, kind, amount_fen, refunded_fen, status, \
         transaction_id, expires_at, paid_at, created_at) \
         SELECT 'BENCH' || u.id, u.community_id, a.id, 'wechat', 'bills', 30000, 0, 'paid', '4200' || u.id, \
                TIMESTAMPTZ '2026-10-19 02:15:00+00', TIMESTAMPTZ '2026-10-19 02:00:00+00', TIMESTAMPTZ '2026-10-19 01:59:00+00' \
         FROM units u JOIN unit_owners uo ON uo.unit_id = u.id JOIN owners o ON o.id = uo.owner_id \
         JOIN owner_accounts a ON a.phone_index = o.phone_index \
         WHERE u.code LIKE 'U%' ORDER BY u.id"
            .into(),
    )
    .await;
    exec(
        "INSERT INTO payment_lines (payment_id, bill_id, unit_id, fee_item_id, period, principal_fen, late_fee_fen, \
         discount_fen, amount_fen, credited_fen) \
         SELECT p.id, b.id, b.unit_id, b.fee_item_id, b.period, 30000, 0, 0, 30000, 30000 \
         FROM payments p JOIN bills b ON p.out_trade_no = 'BENCH' || b.unit_id AND b.period = '2026-11' ORDER BY p.id"
            .into(),
    )
    .await;
    exec("ANALYZE".into()).await;
    // What the pass must award: 300 yuan → 300 points, × 1.2 for an account whose units all paid on
    // time (grade A), none more for one with the late September (grade B).
    let expected = number(
        "SELECT COALESCE(SUM(CASE WHEN late.id IS NULL THEN 360 ELSE 300 END), 0)::bigint AS n FROM payments p \
         LEFT JOIN (SELECT DISTINCT a.id FROM owner_accounts a JOIN owners o ON o.phone_index = a.phone_index \
                    JOIN unit_owners uo ON uo.owner_id = o.id JOIN bills b ON b.unit_id = uo.unit_id \
                    WHERE (b.paid_at AT TIME ZONE 'Asia/Shanghai')::date > b.due_date) late ON late.id = p.account_id",
    )
    .await;
    let lines = number("SELECT COUNT(*) AS n FROM payment_lines").await;
    let accounts = number("SELECT COUNT(*) AS n FROM owner_accounts").await;
    eprintln!(
        "seeded {lines} paid lines of {accounts} accounts ({per_account} units each), {} bills, in {:.1}s; expecting {expected} points",
        number("SELECT COUNT(*) AS n FROM bills").await,
        started.elapsed().as_secs_f64(),
    );

    let started = Instant::now();
    let report = wuye::services::points::earn::pass(&state).await.expect("pass");
    let secs = started.elapsed().as_secs_f64();
    println!(
        "pass: recorded {} lines, {} points in {secs:.1}s = {:.0} lines/s; RSS {:.0} MB, peak {:.0} MB",
        report.recorded,
        report.points,
        report.recorded as f64 / secs,
        rss_mb("VmRSS:"),
        rss_mb("VmHWM:")
    );
    // What was written, read back: one entry per line with its lot, the points in the lots.
    let entries =
        number("SELECT COUNT(*) AS n FROM points_entries WHERE source_kind = 'payment_line' AND kind = 'earn'").await;
    let sum =
        number("SELECT COALESCE(SUM(points), 0)::bigint AS n FROM points_entries WHERE source_kind = 'payment_line'")
            .await;
    let lots = number("SELECT COALESCE(SUM(remaining), 0)::bigint AS n FROM points_lots").await;
    let unlinked = number(
        "SELECT COUNT(*) AS n FROM points_entries e LEFT JOIN points_lots l ON l.id = e.lot_id \
         WHERE e.points > 0 AND (l.id IS NULL OR l.points <> e.points OR l.points_account_id <> e.points_account_id)",
    )
    .await;
    // Each award has a lot of its own.
    let shared =
        number("SELECT COUNT(lot_id) - COUNT(DISTINCT lot_id) AS n FROM points_entries WHERE lot_id IS NOT NULL").await;
    let holders = number("SELECT COUNT(*) AS n FROM points_accounts").await;
    println!(
        "checked: {entries} earn entries, {sum} points (lots hold {lots}), {unlinked} without their lot, {shared} sharing one, {holders} points accounts"
    );
    assert_eq!((report.recorded as i64, report.points), (n, expected), "{report:?}");
    assert_eq!((entries, sum, lots, unlinked, shared), (n, expected, expected, 0, 0));
    assert_eq!(holders, accounts);

    let again = Instant::now();
    let second = wuye::services::points::earn::pass(&state).await.expect("second pass");
    let second_secs = again.elapsed().as_secs_f64();
    println!(
        "second pass (nothing left to award): {second_secs:.1}s, recorded {}",
        second.recorded
    );
    assert_eq!(second.recorded, 0);
    println!(
        "RESULT award {n} payments: {secs:.1} s ({:.0} lines/s); second pass {second_secs:.1} s; target ≤ 20 s {}",
        n as f64 / secs,
        if secs <= 20.0 { "met" } else { "NOT met" }
    );
}
