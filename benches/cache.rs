//! Do owners' bill look-ups stay cached while payments arrive? WUYE_BENCH_OWNERS owners (default
//! 2,000) of one community, one unit and 6 unpaid monthly bills each, look their bills up
//! (`GET /api/v1/me/bills?status=all`) from WUYE_BENCH_CLIENTS concurrent keep-alive clients
//! (default 64) for WUYE_BENCH_SECS seconds (default 30), while staff take a counter payment for a
//! different unit every 50 ms (20/s). A payment bumps only its unit's cache version, so only that
//! unit's owner should miss once. Target (the issue): hit rate ≥ 95 %, p99 < 10 ms.
//!
//! Run by `scripts/bench-cache.sh` on PostgreSQL (WUYE_BENCH_DB) + Redis (WUYE_BENCH_REDIS, default
//! 127.0.0.1:6379, key prefix `wuye-bench-cache:`), the app in-process as in `benches/notify.rs`.
//! Prints `RESULT_HIT_RATE` (percent of the measured window's look-ups served from the cache,
//! from `AppState::cache_stats`) and `RESULT_P99_MS`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::float_arithmetic)]
use chrono::{NaiveDate, Utc};
use entity::{bill, community, fee_item, owner, owner_account, unit, unit_owner};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wuye::config::Settings;
use wuye::domain::period::Period;
use wuye::services::access::sessions::{self, Subject};
use wuye::services::cache;
use wuye::startup::{Application, Overrides};

// The production binary's allocator, so the numbers are the server's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ADMIN_USER: &str = "admin";
const ADMIN_PASSWORD: &str = "bench-admin-password-2026";
const MONTHS: usize = 6;
/// One counter payment every this often (20/s).
const PAY_EVERY: Duration = Duration::from_millis(50);
const CHUNK: usize = 1000;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The `p` quantile of sorted durations.
fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// An owner's answer: its bills as JSON values.
async fn look_up(http: &reqwest::Client, url: &str, bearer: &str) -> (Duration, Vec<serde_json::Value>) {
    let t = Instant::now();
    let resp = http.get(url).header("authorization", bearer).send().await.unwrap();
    let status = resp.status();
    let body = resp.bytes().await.unwrap();
    let took = t.elapsed();
    assert_eq!(
        status.as_u16(),
        200,
        "look-up answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    (took, serde_json::from_slice(&body).unwrap())
}

#[tokio::main]
async fn main() {
    wuye::telemetry::init_tracing();
    let db = std::env::var("WUYE_BENCH_DB").expect("WUYE_BENCH_DB");
    let redis = std::env::var("WUYE_BENCH_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let n = env_num("WUYE_BENCH_OWNERS", 2000);
    let secs = env_num("WUYE_BENCH_SECS", 30);
    let clients = env_num("WUYE_BENCH_CLIENTS", 64);
    assert!(n > 0 && clients > 0 && secs > 0);
    let settings = Settings::load(&[
        ("database.url", db),
        (
            "database.max_connections",
            std::env::var("WUYE_BENCH_POOL").unwrap_or_else(|_| "32".into()),
        ),
        ("redis.url", redis),
        ("redis.key_prefix", "wuye-bench-cache:".into()),
        ("server.port", "0".into()),
        ("server.metrics_bind", "127.0.0.1:0".into()),
        (
            "security.data_key",
            "dGVzdC1vbmx5LWRhdGEta2V5LTMyLWJ5dGVzLWxvbmc=".into(),
        ),
        ("bootstrap.admin_username", ADMIN_USER.into()),
        ("bootstrap.admin_password", ADMIN_PASSWORD.into()),
        ("wechat.appid", "wxbenchappid".into()),
        ("wechat.secret", "bench".into()),
        // Nothing but the bench writes: no scheduled billing run bumps the community mid-window.
        ("scheduler.enabled", "false".into()),
        ("cache.enabled", "true".into()),
    ])
    .expect("settings");
    let app = Application::build_with(settings, Overrides::default())
        .await
        .expect("app");
    let base = format!("http://127.0.0.1:{}/api/v1", app.port());
    let state = app.state.clone();
    tokio::spawn(app.run_until_stopped());

    // ---------- seed ----------
    // One community, n units, n owner records (one per unit, each with its own phone, encrypted
    // and blind-indexed exactly as `setup::create_owner` stores them), a monthly fee item and 6
    // unpaid bills per unit for the last 6 full months (the older ones overdue, so the answers
    // carry late fees computed for today). Rows go in directly, as in the other benches: the
    // HTTP setup routes would add only their per-row validation and audit to the seeding time.
    let seed_started = Instant::now();
    let now = Utc::now();
    let c = community::ActiveModel {
        code: Set(format!("C{}", now.timestamp())),
        name: Set("缓存基准小区".into()),
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
    let idx: Vec<usize> = (0..n).collect();
    for chunk in idx.chunks(CHUNK) {
        unit::Entity::insert_many(chunk.iter().map(|i| unit::ActiveModel {
            community_id: Set(c.id),
            building: Set(format!("{}", i / 100 + 1)),
            code: Set(format!("{}-{:02}", i / 100 + 1, i % 100 + 1)),
            area_centi_m2: Set(9_000),
            created_at: Set(now),
            ..Default::default()
        }))
        .exec_without_returning(&state.db)
        .await
        .unwrap();
    }
    let unit_ids: Vec<i32> = unit::Entity::find()
        .select_only()
        .column(unit::Column::Id)
        .filter(unit::Column::CommunityId.eq(c.id))
        .order_by_asc(unit::Column::Id)
        .into_tuple()
        .all(&state.db)
        .await
        .unwrap();
    assert_eq!(unit_ids.len(), n);
    let phones: Vec<String> = idx.iter().map(|i| format!("139{i:08}")).collect();
    for chunk in idx.chunks(CHUNK) {
        owner::Entity::insert_many(chunk.iter().map(|i| owner::ActiveModel {
            community_id: Set(c.id),
            name: Set(format!("业主{i}")),
            phone_enc: Set(state.cipher.encrypt(&phones[*i]).unwrap()),
            phone_index: Set(state.cipher.blind_index(&phones[*i])),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }))
        .exec_without_returning(&state.db)
        .await
        .unwrap();
    }
    let owner_ids: Vec<i32> = owner::Entity::find()
        .select_only()
        .column(owner::Column::Id)
        .filter(owner::Column::CommunityId.eq(c.id))
        .order_by_asc(owner::Column::Id)
        .into_tuple()
        .all(&state.db)
        .await
        .unwrap();
    assert_eq!(owner_ids.len(), n);
    let since = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    for chunk in idx.chunks(CHUNK) {
        unit_owner::Entity::insert_many(chunk.iter().map(|i| unit_owner::ActiveModel {
            unit_id: Set(unit_ids[*i]),
            owner_id: Set(owner_ids[*i]),
            start_date: Set(since),
            end_date: Set(None),
            created_at: Set(now),
            ..Default::default()
        }))
        .exec_without_returning(&state.db)
        .await
        .unwrap();
    }
    // The last MONTHS full months, oldest first.
    let mut periods = Vec::with_capacity(MONTHS);
    let mut p = Period::month_of(now.date_naive()).previous_month();
    for _ in 0..MONTHS {
        periods.push(p);
        p = p.previous_month();
    }
    periods.reverse();
    let bill_rows: Vec<(usize, Period)> = idx.iter().flat_map(|i| periods.iter().map(move |p| (*i, *p))).collect();
    for chunk in bill_rows.chunks(CHUNK) {
        bill::Entity::insert_many(chunk.iter().map(|(i, p)| bill::ActiveModel {
            community_id: Set(c.id),
            unit_id: Set(unit_ids[*i]),
            fee_item_id: Set(f.id),
            period: Set(p.to_string()),
            period_start: Set(p.start()),
            period_end: Set(p.end()),
            due_date: Set(p.due_date(15)),
            issued_on: Set(Some(p.start())),
            principal_fen: Set(10_000),
            paid_principal_fen: Set(0),
            late_fee_paid_fen: Set(0),
            late_fee_waived_fen: Set(0),
            status: Set(entity::states::BillStatus::Unpaid),
            created_at: Set(now),
            ..Default::default()
        }))
        .exec_without_returning(&state.db)
        .await
        .unwrap();
    }
    let unit_pos: std::collections::HashMap<i32, usize> = unit_ids.iter().enumerate().map(|(i, u)| (*u, i)).collect();
    let mut bills_of_unit: Vec<Vec<i32>> = vec![Vec::new(); n];
    let rows: Vec<(i32, i32)> = bill::Entity::find()
        .select_only()
        .column(bill::Column::Id)
        .column(bill::Column::UnitId)
        .filter(bill::Column::CommunityId.eq(c.id))
        .order_by_asc(bill::Column::Id)
        .into_tuple()
        .all(&state.db)
        .await
        .unwrap();
    for (b, u) in &rows {
        bills_of_unit[unit_pos[u]].push(*b);
    }
    assert!(bills_of_unit.iter().all(|b| b.len() == MONTHS));

    // Owner sessions. An owner account is a WeChat openid whose verified phone's blind index
    // reaches the owner records (`identity::wechat_login` then `bind_phone`). Driving that over
    // HTTP needs a fake WeChat (jscode2session and the phone-number API) for every owner, and the
    // demo login (`--demo` only) would seed the demo company beside ours and is limited to
    // `login_per_ip_per_minute`; neither is what this bench measures. So each account row is
    // written as those logins leave it (openid, encrypted phone, blind index, verified-at), and
    // its token comes from `sessions::create`, the one function every login ends in: the tokens
    // are real sessions in Redis, resolved by the look-up route exactly as in production.
    for chunk in idx.chunks(CHUNK) {
        owner_account::Entity::insert_many(chunk.iter().map(|i| owner_account::ActiveModel {
            openid: Set(format!("bench-openid-{}-{i}", c.id)),
            unionid: Set(None),
            phone_enc: Set(Some(state.cipher.encrypt(&phones[*i]).unwrap())),
            phone_index: Set(Some(state.cipher.blind_index(&phones[*i]))),
            phone_verified_at: Set(Some(now)),
            created_at: Set(now),
            ..Default::default()
        }))
        .exec_without_returning(&state.db)
        .await
        .unwrap();
    }
    let account_ids: Vec<i32> = owner_account::Entity::find()
        .select_only()
        .column(owner_account::Column::Id)
        .filter(owner_account::Column::Openid.starts_with(format!("bench-openid-{}-", c.id)))
        .order_by_asc(owner_account::Column::Id)
        .into_tuple()
        .all(&state.db)
        .await
        .unwrap();
    assert_eq!(account_ids.len(), n);
    let mut bearers = Vec::with_capacity(n);
    for a in &account_ids {
        let (token, _) = sessions::create(&state, Subject::Owner(*a)).await.unwrap();
        bearers.push(format!("Bearer {token}"));
    }
    let bearers = Arc::new(bearers);
    // What the setup routes do after writing owner records and units (nothing is cached yet, but
    // a store reused from an earlier run must not matter).
    cache::bump_owner_records(&state).await.unwrap();
    cache::bump_community(&state, c.id).await.unwrap();
    println!(
        "seeded 1 community, {n} units, {n} owners with accounts and sessions, {} bills in {:.1}s",
        rows.len(),
        seed_started.elapsed().as_secs_f64()
    );

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients + 4)
        .build()
        .unwrap();
    let admin: String = {
        let r = http
            .post(format!("{base}/auth/staff/login"))
            .json(&serde_json::json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "staff login");
        let v: serde_json::Value = r.json().await.unwrap();
        format!("Bearer {}", v["token"].as_str().unwrap())
    };
    let bills_url = Arc::new(format!("{base}/me/bills?status=all"));

    // ---------- warm: every owner looks once ----------
    let (h0, m0) = stats(&state);
    let warm_started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..clients.min(n) {
        let (http, url, bearers, next) = (http.clone(), bills_url.clone(), bearers.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(b) = bearers.get(i) else { break };
                let (_, bills) = look_up(&http, &url, b).await;
                // Each owner sees exactly their unit's bills: the seeding reaches them.
                assert_eq!(bills.len(), MONTHS, "owner {i} sees {} bills", bills.len());
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let (h1, m1) = stats(&state);
    println!(
        "warm: {n} look-ups in {:.1}s (hits {}, misses {})",
        warm_started.elapsed().as_secs_f64(),
        h1 - h0,
        m1 - m0
    );

    // ---------- measured window ----------
    let window = Duration::from_secs(secs as u64);
    let started = Instant::now();
    let deadline = started + window;
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..clients {
        let (http, url, bearers, next) = (http.clone(), bills_url.clone(), bearers.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(64 * 1024);
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed) % bearers.len();
                lat.push(look_up(&http, &url, &bearers[i]).await.0);
            }
            lat
        }));
    }
    // Payments arrive on a clock, not when the previous one finished (each is its own task), each
    // for all 6 bills of the next unit in order.
    let payer = {
        let (http, admin, base) = (http.clone(), admin.clone(), base.clone());
        let bills_of_unit = bills_of_unit.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PAY_EVERY);
            let mut sent = Vec::new();
            for (k, ids) in bills_of_unit.into_iter().enumerate() {
                tick.tick().await;
                if Instant::now() >= deadline {
                    break;
                }
                let (http, admin, url) = (http.clone(), admin.clone(), format!("{base}/staff/payments/counter"));
                sent.push(tokio::spawn(async move {
                    let t = Instant::now();
                    let r = http
                        .post(url)
                        .header("authorization", admin)
                        .json(
                            &serde_json::json!({"bill_ids": ids, "method": "cash", "reference": format!("BENCH-{k}")}),
                        )
                        .send()
                        .await
                        .unwrap();
                    let status = r.status();
                    assert_eq!(
                        status.as_u16(),
                        201,
                        "counter payment {k} answered {status}: {}",
                        r.text().await.unwrap_or_default()
                    );
                    t.elapsed()
                }));
            }
            let mut lat = Vec::with_capacity(sent.len());
            for s in sent {
                lat.push(s.await.unwrap());
            }
            lat
        })
    };
    let mut lat: Vec<Duration> = Vec::new();
    for w in workers {
        lat.extend(w.await.unwrap());
    }
    let took = started.elapsed().as_secs_f64();
    let (h2, m2) = stats(&state);
    let mut pay_lat = payer.await.unwrap();
    let paid = pay_lat.len();
    assert!(!lat.is_empty(), "no look-ups in the window");
    lat.sort();
    pay_lat.sort();
    let (hits, misses) = (h2 - h1, m2 - m1);
    let hit_rate = 100.0 * hits as f64 / ((hits + misses).max(1)) as f64;
    let p99 = ms(pct(&lat, 0.99));
    println!(
        "lookups {} in {took:.1} s = {:.0}/s ({clients} clients over {n} owners)",
        lat.len(),
        lat.len() as f64 / took
    );
    println!(
        "latency p50 {:.2} ms, p90 {:.2} ms, p99 {p99:.2} ms, max {:.2} ms",
        ms(pct(&lat, 0.50)),
        ms(pct(&lat, 0.90)),
        ms(lat[lat.len() - 1])
    );
    if paid > 0 {
        println!(
            "payments {paid} ({:.1}/s), each 201; p50 {:.1} ms, p99 {:.1} ms",
            paid as f64 / took,
            ms(pct(&pay_lat, 0.50)),
            ms(pct(&pay_lat, 0.99))
        );
    } else {
        println!("payments 0 (0.0/s)");
    }
    println!("hit rate {hit_rate:.2} %  (hits {hits}, misses {misses})");
    if paid > 0 {
        // One is the floor: the paid unit's owner's next look-up. More means look-ups of the same
        // session raced to recompute, or something else bumped.
        println!("misses per payment {:.2}", misses as f64 / paid as f64);
    }

    // Never stale: the owner of the first paid unit sees it paid, the next unpaid unit's owner does not.
    if paid > 0 {
        let (_, bills) = look_up(&http, &bills_url, &bearers[0]).await;
        assert!(
            bills.iter().all(|b| b["status"] == "paid"),
            "owner 0 still sees unpaid bills after paying"
        );
    }
    if paid < n {
        let (_, bills) = look_up(&http, &bills_url, &bearers[paid]).await;
        assert!(bills.iter().all(|b| b["status"] == "unpaid"));
    }
    println!("RESULT_HIT_RATE {hit_rate:.2}");
    println!("RESULT_P99_MS {p99:.2}");
}

/// (hits, misses) of owner look-ups so far.
fn stats(state: &wuye::state::AppState) -> (u64, u64) {
    (
        state.cache_stats.hits.load(Ordering::Relaxed),
        state.cache_stats.misses.load(Ordering::Relaxed),
    )
}
