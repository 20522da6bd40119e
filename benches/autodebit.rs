//! The auto-debit pass over many mandates on PostgreSQL (issue #16: 100,000 mandates ≤ 5 minutes,
//! bounded memory): WUYE_BENCH_MANDATES (default 100,000) units, each with an owner account, an
//! active WeChat Pay contract and one open bill due 2026-11-10. Against local fakes whose answers
//! are computed once (a Tencent SMS success; WeChat Pay's signed 204 for a deduct) and served by a
//! plain actix-web server in the same process, so only our side signs and verifies: times the planning pass, the notice day's pass (a notice per debit) and the
//! debit day's pass (an order and a signed deduct call per debit), each checked in SQL. Run by
//! `scripts/bench-autodebit.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::float_arithmetic)]
use actix_web::{web, App, HttpResponse, HttpServer};
use chrono::{TimeZone, Utc};
use sea_orm::{ConnectionTrait, Statement};
use std::sync::Arc;
use std::time::Instant;
use wuye::clock::ManualClock;
use wuye::config::Settings;
use wuye::startup::{Application, Overrides};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const KEY_ID: &str = "PUB_KEY_ID_BENCH";

mod common;
use common::{env_num, rss_mb};

#[tokio::main]
async fn main() {
    wuye::telemetry::init_tracing();
    let db_url = std::env::var("WUYE_BENCH_DB").expect("WUYE_BENCH_DB");
    let n = env_num("WUYE_BENCH_MANDATES", 100_000);
    let concurrency = env_num("WUYE_BENCH_CONCURRENCY", 8);

    // The fakes: answers computed once, served by a plain actix-web server. (wiremock keeps every
    // request a mock matches, whatever its recording setting: 200,000 requests of its memory
    // would be counted as ours.)
    let ts = Utc::now().timestamp().to_string();
    let nonce = "benchnonce";
    let signer = wuye::gateways::rsa_keys::Signer::from_file("tests/fixtures/wechatpay_platform_test_key.pem").unwrap();
    let signature = signer.sign_b64(format!("{ts}\n{nonce}\n\n").as_bytes()).unwrap();
    let sms_answer = r#"{"Response":{"SendStatusSet":[{"SerialNo":"2433:bench","PhoneNumber":"+8613800000000","Fee":1,"Code":"Ok","Message":"send success"}],"RequestId":"bench"}}"#;
    let fake = HttpServer::new(move || {
        let (ts, signature) = (ts.clone(), signature.clone());
        App::new()
            .route(
                "/v3/papay/pay/transactions/apply",
                web::post().to(move || {
                    let (ts, signature) = (ts.clone(), signature.clone());
                    async move {
                        HttpResponse::NoContent()
                            .insert_header(("Wechatpay-Timestamp", ts))
                            .insert_header(("Wechatpay-Nonce", nonce))
                            .insert_header(("Wechatpay-Serial", KEY_ID))
                            .insert_header(("Wechatpay-Signature", signature))
                            .finish()
                    }
                }),
            )
            .route(
                "/",
                web::post()
                    .to(move || async move { HttpResponse::Ok().content_type("application/json").body(sms_answer) }),
            )
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let fake_uri = format!("http://{}", fake.addrs()[0]);
    tokio::spawn(fake.run());

    let settings = Settings::load(&[
        ("database.url", db_url),
        ("database.max_connections", "24".into()),
        ("server.port", "0".into()),
        ("server.metrics_bind", "127.0.0.1:0".into()),
        (
            "security.data_key",
            "dGVzdC1vbmx5LWRhdGEta2V5LTMyLWJ5dGVzLWxvbmc=".into(),
        ),
        ("wechat.appid", "wxbench".into()),
        ("wechat.secret", "bench".into()),
        ("scheduler.enabled", "false".into()),
        ("wechatpay.api_base", fake_uri.clone()),
        ("wechatpay.mchid", "1900000001".into()),
        ("wechatpay.apiv3_key", "wuyeTestApiV3Key0123456789abcdef".into()),
        ("wechatpay.merchant_serial_no", "MERCHANT_SERIAL_TEST".into()),
        (
            "wechatpay.merchant_private_key_path",
            "tests/fixtures/wechatpay_merchant_test_key.pem".into(),
        ),
        (
            "wechatpay.platform_public_key_path",
            "tests/fixtures/wechatpay_platform_test_pub.pem".into(),
        ),
        ("wechatpay.platform_public_key_id", KEY_ID.into()),
        (
            "wechatpay.notify_url",
            "https://wuye.example/api/v1/notify/wechatpay".into(),
        ),
        ("wechatpay.papay_plan_id", "12535".into()),
        ("sms.api_base", fake_uri.clone()),
        ("sms.secret_id", "AKIDbench".into()),
        ("sms.secret_key", "bench-key".into()),
        ("sms.sdk_app_id", "1400000000".into()),
        ("sms.sign_name", "物业".into()),
        ("sms.templates.autodebit_notice", "100010".into()),
        ("autodebit.concurrency", concurrency.to_string()),
    ])
    .expect("settings");
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 10, 20, 2, 0, 0).unwrap());
    let app = Application::build_with(
        settings,
        Overrides {
            clock: Some(Arc::new(clock.clone())),
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

    // One community; `n` units, each with its owner, the owner's verified account, an active
    // WeChat Pay contract on the unit and the unit's November bill (300.00, due 2026-11-10).
    let started = Instant::now();
    exec("INSERT INTO communities (code, name, timezone, late_fee_daily_rate, late_fee_grace_days, late_fee_cap_ratio, features, created_at) \
          VALUES ('BENCH', '基准小区', 'Asia/Shanghai', '0.0005', 15, '1', '{}', now())".into()).await;
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
         SELECT c.id, '业主' || g, '{phone}', 'bench-' || g, now(), now() \
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
         SELECT 'o-bench-' || g, '{phone}', 'bench-' || g, now(), now() FROM generate_series(1, {n}) g"
    ))
    .await;
    exec(format!(
        "INSERT INTO autodebit_mandates (account_id, channel, status, contract_code, gateway_contract_id, failed_cycles, \
         created_at, signed_at, updated_at) \
         SELECT a.id, 'wechat', 'active', 'ADBENCH' || g, 'CONTRACT' || g, 0, now(), now(), now() \
         FROM generate_series(1, {n}) g JOIN owner_accounts a ON a.openid = 'o-bench-' || g"
    ))
    .await;
    exec(
        "INSERT INTO autodebit_mandate_units (mandate_id, unit_id, community_id, live_unit_id) \
          SELECT m.id, u.id, u.community_id, u.id FROM autodebit_mandates m \
          JOIN units u ON u.code = 'U' || substr(m.contract_code, 8)"
            .into(),
    )
    .await;
    exec(
        "INSERT INTO bills (community_id, unit_id, fee_item_id, period, period_start, period_end, due_date, principal_fen, \
         paid_principal_fen, late_fee_paid_fen, late_fee_waived_fen, status, created_at, issued_on) \
         SELECT u.community_id, u.id, f.id, '2026-11', DATE '2026-11-01', DATE '2026-11-30', DATE '2026-11-10', 30000, \
                0, 0, 0, 'unpaid', now(), DATE '2026-10-20' \
         FROM units u JOIN fee_items f ON f.community_id = u.community_id WHERE u.code LIKE 'U%'"
            .into(),
    )
    .await;
    exec("ANALYZE".into()).await;
    eprintln!(
        "seeded {} mandates on {} units with {} bills in {:.1}s",
        number("SELECT COUNT(*) AS n FROM autodebit_mandates").await,
        number("SELECT COUNT(*) AS n FROM autodebit_mandate_units").await,
        number("SELECT COUNT(*) AS n FROM bills").await,
        started.elapsed().as_secs_f64()
    );

    let tick = |label: &'static str| {
        let state = state.clone();
        async move {
            let started = Instant::now();
            let r = wuye::services::autodebit::debits::tick(&state).await.expect("pass");
            let secs = started.elapsed().as_secs_f64();
            println!(
                "{label}: {r:?} in {secs:.1}s; RSS {:.0} MB, peak {:.0} MB",
                rss_mb("VmRSS:"),
                rss_mb("VmHWM:")
            );
            (r, secs)
        }
    };
    let at = |y, m, d, h| Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap();
    // 2026-10-20 10:00 Beijing: every bill planned.
    let (plan, plan_secs) = tick("plan").await;
    assert_eq!(plan.planned as i64, n);
    let (again, again_secs) = tick("plan again (nothing new)").await;
    assert_eq!(again.planned, 0);
    // 2026-11-07 10:00 Beijing: a notice per debit.
    clock.set(at(2026, 11, 7, 2));
    let (notice, notice_secs) = tick("notice day").await;
    assert_eq!(notice.noticed as i64, n, "{notice:?}");
    // 2026-11-10 10:00 Beijing: a deduct per debit.
    clock.set(at(2026, 11, 10, 2));
    let (debit, debit_secs) = tick("debit day").await;
    assert_eq!(debit.tried as i64, n, "{debit:?}");
    let orders = number("SELECT COUNT(*) AS n FROM payments WHERE status = 'pending' AND amount_fen = 30000").await;
    let debiting =
        number("SELECT COUNT(*) AS n FROM autodebit_debits WHERE status = 'debiting' AND payment_id IS NOT NULL").await;
    println!("checked: {orders} pending orders of 300.00, {debiting} debits waiting for their result");
    assert_eq!((orders, debiting), (n, n));
    println!(
        "RESULT {n} mandates: plan {plan_secs:.1} s (again {again_secs:.1} s), notices {notice_secs:.1} s ({:.0}/s), \
         debits {debit_secs:.1} s ({:.0} debits/s); target ≤ 300 s per pass {}",
        n as f64 / notice_secs,
        n as f64 / debit_secs,
        if plan_secs.max(notice_secs).max(debit_secs) <= 300.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    println!("RESULT_DPS {:.0}", n as f64 / debit_secs);
}
