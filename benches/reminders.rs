//! One reminder pass over a large estate on PostgreSQL: WUYE_BENCH_BILLS bills (default
//! 1,000,000) of WUYE_BENCH_OWNERS owners (default 200,000), one unit each, sending through a local
//! fake Tencent SMS. Reports the decide and send phases, bills/s and the peak RSS. Run by
//! `scripts/bench-reminders.sh`.
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
    let bills = env_num("WUYE_BENCH_BILLS", 1_000_000);
    let owners = env_num("WUYE_BENCH_OWNERS", 200_000);
    let per_owner = (bills / owners).max(1);

    // The fake SMS gateway: a bare actix server answering every request "Ok", keeping nothing.
    let fake = actix_web::HttpServer::new(|| {
        actix_web::App::new().default_service(actix_web::web::to(|| async {
            actix_web::HttpResponse::Ok()
                .content_type("application/json")
                .body(r#"{"Response":{"SendStatusSet":[{"SerialNo":"bench","PhoneNumber":"+8613800000000","Code":"Ok","Message":"send success"}],"RequestId":"bench"}}"#)
        }))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let sms_uri = format!("http://127.0.0.1:{}", fake.addrs()[0].port());
    tokio::spawn(fake.run());
    let sms_base = if std::env::var_os("WUYE_BENCH_NO_SMS").is_some() {
        String::new()
    } else {
        sms_uri
    };
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
        (
            "reminders.send_concurrency",
            std::env::var("WUYE_BENCH_WIDTH").unwrap_or_else(|_| "8".into()),
        ),
        ("sms.api_base", sms_base),
        ("sms.secret_id", "AKIDbench".into()),
        ("sms.secret_key", "bench".into()),
        ("sms.sdk_app_id", "1400000000".into()),
        ("sms.sign_name", "物业".into()),
        ("sms.templates.pre_due", "1".into()),
        ("sms.templates.overdue_friendly", "2".into()),
        ("sms.templates.overdue_formal", "3".into()),
        ("sms.templates.final_notice", "4".into()),
    ])
    .expect("settings");
    // 10:00 in Shanghai: outside quiet hours.
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
    let index = state.cipher.blind_index("13800000000");

    // Seeded in SQL: units, owners and links one per owner; `per_owner` monthly bills each, due on
    // the 10th of the months before 2026-10; every 10th owner has the last 1–5 of them unpaid.
    let started = Instant::now();
    let exec = |sql: String| async move {
        db.execute_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .unwrap();
    };
    exec("INSERT INTO communities (code, name, timezone, late_fee_daily_rate, late_fee_grace_days, late_fee_cap_ratio, created_at) \
          VALUES ('BENCH', '基准小区', 'Asia/Shanghai', '0.0005', 15, '1', now())".into()).await;
    exec(
        "INSERT INTO fee_items (community_id, name, kind, unit_price, cycle, due_day, active, created_at) \
          SELECT id, '物业服务费', 'fixed', '300', 'monthly', 10, true, now() FROM communities WHERE code = 'BENCH'"
            .into(),
    )
    .await;
    exec(format!(
        "INSERT INTO units (community_id, building, code, area_centi_m2, created_at) \
         SELECT c.id, 'B' || (g / 1000), 'U' || g, 9000, now() FROM communities c, generate_series(1, {owners}) g WHERE c.code = 'BENCH'"
    ))
    .await;
    exec(format!(
        "INSERT INTO owners (community_id, name, phone_enc, phone_index, created_at, updated_at) \
         SELECT c.id, '业主' || g, '{phone}', '{index}', now(), now() FROM communities c, generate_series(1, {owners}) g WHERE c.code = 'BENCH'"
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
        "INSERT INTO bills (community_id, unit_id, fee_item_id, period, period_start, period_end, due_date, principal_fen, \
         paid_principal_fen, late_fee_paid_fen, late_fee_waived_fen, status, paid_at, created_at) \
         SELECT u.community_id, u.id, f.id, to_char(m.start, 'YYYY-MM'), m.start, (m.start + INTERVAL '1 month - 1 day')::date, \
                (m.start + INTERVAL '9 days')::date, 30000, \
                CASE WHEN arrears THEN 0 ELSE 30000 END, 0, 0, CASE WHEN arrears THEN 'unpaid' ELSE 'paid' END, \
                CASE WHEN arrears THEN NULL ELSE now() END, now() \
         FROM units u JOIN fee_items f ON f.community_id = u.community_id, \
         LATERAL (SELECT (DATE '2026-10-01' - make_interval(months => k))::date AS start, \
                         (u.id % 10 = 0 AND k < 1 + (u.id / 10) % 5) AS arrears \
                  FROM generate_series(0, {} - 1) k) m \
         WHERE u.code LIKE 'U%'",
        per_owner
    ))
    .await;
    exec("ANALYZE".into()).await;
    let unpaid: i64 = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM bills WHERE status = 'unpaid'".to_string(),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "n")
        .unwrap();
    eprintln!(
        "seeded {} bills ({unpaid} unpaid) of {owners} owners in {:.1}s; RSS {:.0} MB (peak so far {:.0} MB)",
        per_owner * owners,
        started.elapsed().as_secs_f64(),
        rss_mb("VmRSS:"),
        rss_mb("VmHWM:")
    );

    let started = Instant::now();
    let report = wuye::services::collection::reminders::pass::tick(&state)
        .await
        .expect("pass");
    let secs = started.elapsed().as_secs_f64();
    let total = per_owner * owners;
    println!(
        "pass over {total} bills of {owners} owners: {secs:.1}s = {:.0} bills/s; sent {} {:?}, suppressed {}, deferred {}; RSS {:.0} MB, peak {:.0} MB",
        total as f64 / secs,
        report.sent,
        report.by_stage,
        report.suppressed,
        report.deferred,
        rss_mb("VmRSS:"),
        rss_mb("VmHWM:")
    );
    let again = Instant::now();
    let second = wuye::services::collection::reminders::pass::tick(&state)
        .await
        .expect("second pass");
    println!(
        "second pass (nothing new to send): {:.1}s, sent {}",
        again.elapsed().as_secs_f64(),
        second.sent
    );
    println!("RESULT_SECS {secs:.1}");
}
