//! Valid, distinct WeChat Pay notifications per second against a release build of wuye on
//! PostgreSQL + Redis, at N concurrent senders. Run by `scripts/bench-notify.sh`, which also runs
//! `pgbench -b simple-update` on the same database for comparison.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::float_arithmetic)]
use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::Utc;
use entity::{bill, community, fee_item, payment, payment_line, unit};
use ring::aead;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wuye::config::Settings;
use wuye::gateways::rsa_keys::Signer;
use wuye::startup::{Application, Overrides};

// The production binary's allocator, so the numbers are the server's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const KEY_ID: &str = "PUB_KEY_ID_BENCH";
const APIV3: &str = "wuyeTestApiV3Key0123456789abcdef";

#[tokio::main]
async fn main() {
    wuye::telemetry::init_tracing();
    let db = std::env::var("WUYE_BENCH_DB").expect("WUYE_BENCH_DB");
    let redis = std::env::var("WUYE_BENCH_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let n: usize = std::env::var("WUYE_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let senders: usize = std::env::var("WUYE_BENCH_SENDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let settings = Settings::load(&[
        ("database.url", db),
        (
            "database.max_connections",
            std::env::var("WUYE_BENCH_POOL").unwrap_or_else(|_| "32".into()),
        ),
        ("redis.url", redis),
        ("redis.key_prefix", "wuye-bench-notify:".into()),
        ("server.port", "0".into()),
        ("server.metrics_bind", "127.0.0.1:0".into()),
        // One local sender stands in for all of WeChat Pay's addresses.
        ("rate_limits.notify_per_source_per_minute", "100000000".into()),
        (
            "security.data_key",
            "dGVzdC1vbmx5LWRhdGEta2V5LTMyLWJ5dGVzLWxvbmc=".into(),
        ),
        ("wechat.appid", "wxbenchappid".into()),
        ("wechat.secret", "bench".into()),
        ("scheduler.enabled", "false".into()),
        ("wechatpay.api_base", "http://127.0.0.1:9".into()),
        ("wechatpay.mchid", "1900000001".into()),
        ("wechatpay.apiv3_key", APIV3.into()),
        ("wechatpay.merchant_serial_no", "BENCH".into()),
        (
            "wechatpay.merchant_private_key_path",
            "tests/fixtures/wechatpay_merchant_test_key.pem".into(),
        ),
        (
            "wechatpay.platform_public_key_path",
            "tests/fixtures/wechatpay_platform_test_pub.pem".into(),
        ),
        ("wechatpay.platform_public_key_id", KEY_ID.into()),
        ("wechatpay.notify_url", "https://wuye.example/notify".into()),
    ])
    .expect("settings");
    let app = Application::build_with(settings, Overrides::default())
        .await
        .expect("app");
    let base = format!("http://127.0.0.1:{}/api/v1/notify/wechatpay", app.port());
    let state = app.state.clone();
    tokio::spawn(app.run_until_stopped());

    // Seed: one community, n units with a bill each, n pending orders of one bill each.
    let now = Utc::now();
    let c = community::ActiveModel {
        code: Set(format!("B{}", now.timestamp())),
        name: Set("bench".into()),
        timezone: Set("Asia/Shanghai".into()),
        late_fee_daily_rate: Set("0.0005".into()),
        late_fee_grace_days: Set(15),
        late_fee_cap_ratio: Set("1".into()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&state.db)
    .await
    .unwrap();
    let f = fee_item::ActiveModel {
        community_id: Set(c.id),
        name: Set("物业服务费".into()),
        kind: Set("fixed".into()),
        unit_price: Set("100".into()),
        cycle: Set("monthly".into()),
        due_day: Set(15),
        active: Set(true),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&state.db)
    .await
    .unwrap();
    let seed_started = Instant::now();
    let mut outs = Vec::with_capacity(n);
    // One unit per order: payments of different households (each unit has its own evidence chain).
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let units: Vec<unit::ActiveModel> = chunk
            .iter()
            .map(|i| unit::ActiveModel {
                community_id: Set(c.id),
                building: Set("A".into()),
                code: Set(format!("A-{i}")),
                area_centi_m2: Set(10_000),
                created_at: Set(now),
                ..Default::default()
            })
            .collect();
        unit::Entity::insert_many(units)
            .exec_without_returning(&state.db)
            .await
            .unwrap();
    }
    let unit_ids: Vec<i32> = {
        use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
        unit::Entity::find()
            .select_only()
            .column(unit::Column::Id)
            .filter(unit::Column::CommunityId.eq(c.id))
            .order_by_asc(unit::Column::Id)
            .into_tuple()
            .all(&state.db)
            .await
            .unwrap()
    };
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let bills: Vec<bill::ActiveModel> = chunk
            .iter()
            .map(|i| {
                let year = 2000 + (*i / 12) as i32;
                let month = (*i % 12) as u32 + 1;
                let p = wuye::domain::period::Period::Month { year, month };
                bill::ActiveModel {
                    community_id: Set(c.id),
                    unit_id: Set(unit_ids[*i]),
                    fee_item_id: Set(f.id),
                    period: Set(p.to_string()),
                    period_start: Set(p.start()),
                    period_end: Set(p.end()),
                    due_date: Set(p.due_date(15)),
                    principal_fen: Set(10_000),
                    paid_principal_fen: Set(0),
                    late_fee_paid_fen: Set(0),
                    late_fee_waived_fen: Set(0),
                    status: Set(entity::states::BillStatus::Unpaid),
                    created_at: Set(now),
                    ..Default::default()
                }
            })
            .collect();
        bill::Entity::insert_many(bills)
            .exec_without_returning(&state.db)
            .await
            .unwrap();
    }
    let bill_ids: Vec<i32> = {
        use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
        bill::Entity::find()
            .select_only()
            .column(bill::Column::Id)
            .filter(bill::Column::CommunityId.eq(c.id))
            .order_by_asc(bill::Column::Id)
            .into_tuple()
            .all(&state.db)
            .await
            .unwrap()
    };
    for (i, bid) in bill_ids.iter().enumerate() {
        let out = format!("WYBENCH{}{i:08}", now.timestamp());
        let p = payment::ActiveModel {
            out_trade_no: Set(out.clone()),
            community_id: Set(c.id),
            channel: Set(entity::states::Channel::Wechat),
            kind: Set("bills".into()),
            amount_fen: Set(10_000),
            refunded_fen: Set(0),
            status: Set(entity::states::PaymentStatus::Pending),
            expires_at: Set(now + chrono::Duration::hours(1)),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&state.db)
        .await
        .unwrap();
        payment_line::ActiveModel {
            payment_id: Set(p.id),
            bill_id: Set(Some(*bid)),
            unit_id: Set(unit_ids[i]),
            fee_item_id: Set(f.id),
            period: Set("x".into()),
            principal_fen: Set(10_000),
            late_fee_fen: Set(0),
            discount_fen: Set(0),
            amount_fen: Set(10_000),
            ..Default::default()
        }
        .insert(&state.db)
        .await
        .unwrap();
        outs.push(out);
    }
    eprintln!("seeded {n} orders in {:.1}s", seed_started.elapsed().as_secs_f64());

    // Build the notifications up front (signing is the gateway's work, not ours).
    // Off the async workers: signing thousands of messages would otherwise stall the runtime that
    // drives the database connections.
    let notes = tokio::task::spawn_blocking(move || build_notes(&outs)).await.unwrap();
    let notes = Arc::new(notes);

    let next = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(senders)
        .build()
        .unwrap();
    eprintln!("sending");
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..senders {
        let (notes, next, http, base) = (notes.clone(), next.clone(), http.clone(), base.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some((h, body)) = notes.get(i) else { break };
                let t = Instant::now();
                let mut rb = http.post(&base).header("content-type", "application/json");
                for (k, v) in h {
                    rb = rb.header(k.as_str(), v.as_str());
                }
                let resp = rb.body(body.clone()).send().await.unwrap();
                let status = resp.status();
                if status.as_u16() != 204 {
                    panic!(
                        "notification {i} answered {status}: {}",
                        resp.text().await.unwrap_or_default()
                    );
                }
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut lat: Vec<Duration> = Vec::new();
    for w in workers {
        lat.extend(w.await.unwrap());
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    let credited = {
        use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
        payment::Entity::find()
            .filter(payment::Column::CommunityId.eq(c.id))
            .filter(payment::Column::Status.eq("paid"))
            .count(&state.db)
            .await
            .unwrap()
    };
    assert_eq!(credited as usize, n, "each notification credited its order");
    println!(
        "notifications: {n} at {senders} senders in {secs:.2}s = {:.0}/s, p50 {:.1} ms, p99 {:.1} ms",
        n as f64 / secs,
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3
    );
    println!("RESULT_RPS {:.0}", n as f64 / secs);
}

/// Signed, encrypted notifications, one per order.
fn build_notes(outs: &[String]) -> Vec<(Vec<(String, String)>, String)> {
    let signer = Signer::from_file("tests/fixtures/wechatpay_platform_test_key.pem").unwrap();
    let key = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_256_GCM, APIV3.as_bytes()).unwrap());
    outs
        .iter()
        .enumerate()
        .map(|(i, out)| {
            let tx = serde_json::json!({"appid": "wxbenchappid", "mchid": "1900000001", "out_trade_no": out, "transaction_id": format!("42{}{i:08}", &out[7..17]),
                "trade_type": "JSAPI", "trade_state": "SUCCESS", "amount": {"total": 10_000, "payer_total": 10_000, "currency": "CNY"}});
            let nonce = format!("{:012}", i);
            let mut data = tx.to_string().into_bytes();
            key.seal_in_place_append_tag(aead::Nonce::try_assume_unique_for_key(nonce.as_bytes()).unwrap(), aead::Aad::from(b"transaction"), &mut data).unwrap();
            let body = serde_json::json!({"id": format!("EV{i}"), "event_type": "TRANSACTION.SUCCESS", "resource_type": "encrypt-resource",
                "resource": {"algorithm": "AEAD_AES_256_GCM", "ciphertext": STANDARD.encode(&data), "associated_data": "transaction", "nonce": nonce}}).to_string();
            let ts = Utc::now().timestamp().to_string();
            let sig = signer.sign_b64(format!("{ts}\nn{i}\n{body}\n").as_bytes()).unwrap();
            (vec![("Wechatpay-Timestamp".into(), ts), ("Wechatpay-Nonce".into(), format!("n{i}")), ("Wechatpay-Serial".into(), KEY_ID.into()), ("Wechatpay-Signature".into(), sig)], body)
        })
        .collect()
}
