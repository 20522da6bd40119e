//! What an outside attacker tried against a release build, kept as regression tests: forged
//! repeated keys, junk and oversize notifications (with bounded storage), page and money overflow,
//! staff lockout by a third party, and a dependency that is down.
use crate::fake_pay::*;
use crate::helpers::*;
use crate::payments::{bill, notifications, now, order, rejected, shop, Shop};
use serde_json::{json, Value};

/// A second owner (李四, unit A-1-102) in the shop's community with an October bill; returns
/// (owner token, bill id).
async fn second_owner(s: &Shop) -> (String, i64) {
    let unit = s.app.unit(&s.admin, s.community, "A-1-102").await;
    s.app.owner(&s.admin, "李四", "13800000002", &[unit]).await;
    let (token, _) = s.app.owner_login("openid-li").await;
    s.app.bind_phone(&token, "13800000002").await;
    s.app.billing_run(&s.admin, s.community, "2026-10", "2026-08-01").await;
    let bills: Vec<Value> = s.app.get_json("/api/v1/me/bills?status=unpaid", Some(&token)).await;
    (token, bills[0]["id"].as_i64().unwrap())
}

fn alipay_fields<'a>(out_trade_no: &'a str, amount: &'a str, trade_no: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("notify_type", "trade_status_sync"),
        ("notify_id", "N-ATTACK"),
        ("app_id", ALIPAY_APP_ID),
        ("charset", "utf-8"),
        ("version", "1.0"),
        ("trade_no", trade_no),
        ("out_trade_no", out_trade_no),
        ("trade_status", "TRADE_SUCCESS"),
        ("total_amount", amount),
        ("seller_id", SELLER_ID),
        ("notify_time", "2026-10-20 10:06:00"),
    ]
}

async fn alipay_order(s: &Shop, token: &str, bill_id: i64) -> (String, String) {
    let r = s
        .app
        .http
        .post(s.app.url("/api/v1/payments"))
        .bearer_auth(token)
        .json(&json!({"bill_ids": [bill_id], "channel": "alipay"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let o: Value = r.json().await.unwrap();
    (
        o["out_trade_no"].as_str().unwrap().to_string(),
        o["amount"].as_str().unwrap().to_string(),
    )
}

async fn status_of(s: &Shop, token: &str, bill_id: i64) -> String {
    let b: Value = s
        .app
        .get_json(&format!("/api/v1/me/bills/{bill_id}"), Some(token))
        .await;
    b["status"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn one_genuine_alipay_signature_cannot_pay_another_order_with_repeated_keys() {
    let s = shop().await;
    let (li, li_bill) = second_owner(&s).await;
    let (mine, my_amount) = alipay_order(&s, &s.owner, s.sep).await;
    let (theirs, their_amount) = alipay_order(&s, &li, li_bill).await;
    // The attacker holds one genuinely signed notification: for their own order.
    let genuine = alipay_notification(&alipay_fields(&mine, &my_amount, "2026102022001"), false);
    let forged_prefix = format!("out_trade_no={theirs}&total_amount={their_amount}&trade_no=2026102099999&");
    let attacks = [
        format!("{forged_prefix}{genuine}"),
        format!("{genuine}&out_trade_no={theirs}&total_amount={their_amount}&trade_no=2026102099999"),
        // Repeated sign, app_id and trade_status.
        format!("{genuine}&sign=AAAA"),
        format!("app_id=2021000000000002&{genuine}"),
        format!("trade_status=TRADE_SUCCESS&{genuine}"),
        // The same key spelt with a percent escape is the same key.
        format!("%6Fut_trade_no={theirs}&{genuine}"),
    ];
    for a in &attacks {
        let r = s.app.notify_alipay(a).await;
        assert_eq!(
            (r.status().as_u16(), r.text().await.unwrap()),
            (400, "fail".to_string()),
            "{a}"
        );
    }
    assert_eq!(status_of(&s, &li, li_bill).await, "unpaid");
    assert_eq!(status_of(&s, &s.owner, s.sep).await, "unpaid");
    assert!(
        notifications(&s.app).await.is_empty(),
        "nothing unverified is stored whole"
    );
    assert_eq!(
        rejected(&s.app).await,
        vec![("alipay".into(), "repeated_key".into(), 6)]
    );

    // The genuine notification alone pays exactly the order it was signed for, once.
    let r = s.app.notify_alipay(&genuine).await;
    assert_eq!(r.text().await.unwrap(), "success");
    assert_eq!(status_of(&s, &s.owner, s.sep).await, "paid");
    // Replaying it with the other order's fields still credits nothing more.
    for a in &attacks {
        assert_eq!(s.app.notify_alipay(a).await.text().await.unwrap(), "fail");
    }
    assert_eq!(status_of(&s, &li, li_bill).await, "unpaid");
    let paid: Vec<Value> = s.app.get_json("/api/v1/me/payments", Some(&li)).await;
    assert!(paid.iter().all(|p| p["status"] != "paid"), "{paid:?}");
}

#[tokio::test]
async fn a_signed_wechat_resource_with_a_repeated_key_credits_nothing() {
    let s = shop().await;
    let o = crate::payments::wechat_order(&s, &[s.sep]).await;
    let out = o["out_trade_no"].as_str().unwrap();
    let tx = transaction(out, 22_655, "4200000077").to_string();
    // Both spellings a parser might pick: a repeated amount and a repeated out_trade_no.
    let twice_amount = tx.replacen(r#""amount":{"#, r#""amount":{"total":1,"#, 1);
    let twice_order = tx.replacen(r#""out_trade_no":"#, r#""out_trade_no":"W-OTHER","out_trade_no":"#, 1);
    for plain in [twice_amount, twice_order] {
        let (h, body) = wechat_event_text(
            "TRANSACTION.SUCCESS",
            "EV-dup",
            &plain,
            now(&s),
            &platform_signer(),
            PLATFORM_KEY_ID,
        );
        let r = s.app.notify_wechat(&h, &body).await;
        assert_eq!(r.status(), 400);
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "FAIL");
    }
    // A repeated signature header is refused before verification.
    let (mut h, body) = wechat_notification(
        &transaction(out, 22_655, "4200000078"),
        now(&s),
        &platform_signer(),
        PLATFORM_KEY_ID,
    );
    h.push(("Wechatpay-Signature".into(), "AAAA".into()));
    let r = s.app.notify_wechat(&h, &body).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "FAIL");
    assert_eq!(bill(&s, s.sep).await["status"], "unpaid");
    assert_eq!(notifications(&s.app).await, vec!["repeated_key", "repeated_key"]);
    assert_eq!(
        rejected(&s.app).await,
        vec![("wechatpay".into(), "repeated_key".into(), 1)]
    );
}

/// Deterministic junk: bytes from a small LCG, so the test needs no RNG crate.
fn junk(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 56) as u8
        })
        .collect()
}

#[tokio::test]
async fn junk_and_oversize_notifications_leave_a_bounded_record_and_are_rate_limited() {
    let app = spawn_app_with(TestOptions {
        overrides: vec![("rate_limits.notify_per_source_per_minute", "120".into())],
        ..Default::default()
    })
    .await;
    crate::fake_pay::mount(&app.wechat).await;
    let sizes = [0usize, 1, 17, 300, 4_096, 30_000, 65_536];
    let mut sent_bytes = 0usize;
    for i in 0..100u64 {
        let body = junk(i, sizes[i as usize % sizes.len()]);
        sent_bytes += body.len() * 2;
        let r = app
            .post_raw(
                "/api/v1/notify/alipay",
                None,
                "application/x-www-form-urlencoded",
                body.clone(),
            )
            .await;
        assert_eq!(
            (r.status().as_u16(), r.text().await.unwrap()),
            (400, "fail".to_string())
        );
        let r = app
            .post_raw("/api/v1/notify/wechatpay", None, "application/json", body)
            .await;
        assert_eq!(r.status(), 401);
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "FAIL");
    }
    // Above 64 KiB: refused before it is read, in the gateways' own failure format.
    let big = vec![b'a'; 64 * 1024 + 1];
    let r = app
        .post_raw(
            "/api/v1/notify/alipay",
            None,
            "application/x-www-form-urlencoded",
            big.clone(),
        )
        .await;
    assert_eq!(
        (r.status().as_u16(), r.text().await.unwrap()),
        (413, "fail".to_string())
    );
    let r = app
        .post_raw("/api/v1/notify/wechatpay", None, "application/json", big)
        .await;
    assert_eq!(r.status(), 413);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "FAIL");

    // Stored: no notification whole, one counted row per provider, reason and minute.
    assert_eq!(app.count("gateway_notifications").await, 0);
    let rows = app.count("rejected_notifications").await;
    assert!(rows <= 4, "{rows} rows");
    let counted: i64 = rejected(&app).await.iter().map(|r| r.2).sum();
    assert_eq!(counted, 200);
    let stored = app
        .count("rejected_notifications WHERE length(sample_head) > 96 * 4 OR length(sample_sha256) <> 64")
        .await;
    assert_eq!(
        stored, 0,
        "each row keeps a hash and a short head, not the {sent_bytes} bytes sent"
    );

    // Past the per-source limit a sender gets 429 in the gateway's format, and nothing more is stored.
    for i in 0..30u64 {
        let _ = app
            .post_raw(
                "/api/v1/notify/alipay",
                None,
                "application/x-www-form-urlencoded",
                junk(i, 10),
            )
            .await;
    }
    let r = app
        .post_raw(
            "/api/v1/notify/alipay",
            None,
            "application/x-www-form-urlencoded",
            junk(1, 10),
        )
        .await;
    assert_eq!(
        (r.status().as_u16(), r.text().await.unwrap()),
        (429, "fail".to_string())
    );
    let r = app
        .post_raw("/api/v1/notify/wechatpay", None, "application/json", junk(1, 10))
        .await;
    assert_eq!(r.status(), 401, "each provider has its own limit");
    let counted_after: i64 = rejected(&app)
        .await
        .iter()
        .filter(|r| r.0 == "alipay")
        .map(|r| r.2)
        .sum();
    assert_eq!(counted_after, 120, "100 junk + 20 more until the limit of 120");
    // A minute later the source may send again (a real gateway retries on 429).
    app.clock.advance(chrono::Duration::minutes(1));
    let r = app
        .post_raw(
            "/api/v1/notify/alipay",
            None,
            "application/x-www-form-urlencoded",
            junk(2, 10),
        )
        .await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn rejected_notifications_are_pruned_after_the_retention_period() {
    let app = spawn_app().await;
    crate::fake_pay::mount(&app.wechat).await;
    app.post_raw(
        "/api/v1/notify/alipay",
        None,
        "application/x-www-form-urlencoded",
        "a=1",
    )
    .await;
    assert_eq!(app.count("rejected_notifications").await, 1);
    app.clock.advance(chrono::Duration::days(29));
    assert_eq!(
        wuye::services::payments::rejections::prune(&app.state).await.unwrap(),
        0
    );
    app.clock.advance(chrono::Duration::days(2));
    assert_eq!(
        wuye::services::payments::rejections::prune(&app.state).await.unwrap(),
        1
    );
    assert_eq!(app.count("rejected_notifications").await, 0);
}

#[tokio::test]
async fn paging_outside_its_bounds_is_a_422_on_every_paged_route() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let c = app.community(&admin, "C1").await;
    let routes = [
        format!("/api/v1/staff/units?community_id={c}"),
        format!("/api/v1/staff/owners?community_id={c}"),
        format!("/api/v1/staff/bills?community_id={c}"),
        format!("/api/v1/staff/reminders?community_id={c}"),
        format!("/api/v1/staff/tasks?community_id={c}"),
        format!("/api/v1/staff/holds?community_id={c}"),
        "/api/v1/staff/communities?x=1".to_string(),
    ];
    let bad = [
        ("page", "9223372036854775808"),
        ("page", "18446744073709551615"),
        ("page", "99999999999999999999999"),
        ("page", "0"),
        ("page", "10001"),
        ("page", "-1"),
        ("per_page", "0"),
        ("per_page", "201"),
        ("per_page", "9223372036854775807"),
    ];
    for route in &routes {
        for (field, value) in bad {
            let r = app.get(&format!("{route}&{field}={value}"), Some(&admin)).await;
            let v = assert_error(r, 422, "VALIDATION_FAILED").await;
            assert!(
                v["details"]["fields"][field].is_string(),
                "{route} {field}={value}: {v}"
            );
        }
        let r = app.get(&format!("{route}&page=x"), Some(&admin)).await;
        let v = assert_error(r, 400, "BAD_REQUEST").await;
        assert!(v["details"]["fields"]["page"].is_string(), "{v}");
        let r = app.get(&format!("{route}&page=10000&per_page=200"), Some(&admin)).await;
        assert_eq!(r.status(), 200, "{route}");
        let v: Value = r.json().await.unwrap();
        assert_eq!((v["page"].as_u64(), v["per_page"].as_u64()), (Some(10000), Some(200)));
    }
}

#[tokio::test]
async fn dates_outside_1970_to_2100_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let c = app.community(&admin, "C1").await;
    for date in ["1969-12-31", "2101-01-01", "+262143-01-01", "9999-12-31"] {
        let r = app
            .post(
                "/api/v1/staff/units",
                Some(&admin),
                &json!({"community_id": c, "building": "A", "code": "A-1-101", "area_m2": "80", "handover_date": date}),
            )
            .await;
        let v = assert_error(r, 422, "VALIDATION_FAILED").await;
        assert!(v["details"]["fields"]["handover_date"].is_string(), "{date}: {v}");
        let r = app
            .get(
                &format!("/api/v1/staff/payments/summary?community_id={c}&date={date}"),
                Some(&admin),
            )
            .await;
        let v = assert_error(r, 422, "VALIDATION_FAILED").await;
        assert!(v["details"]["fields"]["date"].is_string(), "{date}: {v}");
    }
    assert_eq!(app.count("units").await, 0);
}

#[tokio::test]
async fn money_inputs_are_bounded_and_totals_never_wrap() {
    let s = shop().await;
    let before: Value = s
        .app
        .get_json(
            &format!("/api/v1/staff/bills?community_id={}", s.community),
            Some(&s.admin),
        )
        .await;
    for amount in ["92233720368547758.07", "10000000.01", "1e30"] {
        let r = s
            .app
            .post(
                &format!("/api/v1/staff/bills/{}/adjust", s.sep),
                Some(&s.admin),
                &json!({"principal": amount, "reason": "攻击"}),
            )
            .await;
        let v = assert_error(r, 422, "VALIDATION_FAILED").await;
        assert!(v["details"]["fields"]["principal"].is_string(), "{v}");
        let r = s
            .app
            .post(
                &format!("/api/v1/staff/bills/{}/waive-late-fee", s.sep),
                Some(&s.admin),
                &json!({"amount": amount, "reason": "攻击"}),
            )
            .await;
        let v = assert_error(r, 422, "VALIDATION_FAILED").await;
        assert!(v["details"]["fields"]["amount"].is_string(), "{v}");
    }
    // The largest allowed amount is accepted, and the totals add up without wrapping.
    let r = s
        .app
        .post(
            &format!("/api/v1/staff/bills/{}/adjust", s.sep),
            Some(&s.admin),
            &json!({"principal": "10000000.00", "reason": "上限"}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let after: Value = s
        .app
        .get_json(
            &format!("/api/v1/staff/bills?community_id={}", s.community),
            Some(&s.admin),
        )
        .await;
    assert_eq!(after["totals"]["principal"], "10000223.75");
    assert_ne!(before["totals"]["principal"], after["totals"]["principal"]);
    let arrears: Value = s.app.get_json("/api/v1/me/arrears", Some(&s.owner)).await;
    assert!(!arrears["total_due"].as_str().unwrap().starts_with('-'), "{arrears}");
    // An order above the bound is refused naming the bills.
    let r = order(&s, json!({"bill_ids": [s.sep, s.oct], "channel": "wechat"}), None).await;
    let v = assert_error(r, 422, "VALIDATION_FAILED").await;
    assert!(v["details"]["fields"]["bill_ids"].is_string(), "{v}");
    // A fee item whose bill would exceed the bound bills nothing.
    let r = s
        .app
        .post(
            "/api/v1/staff/fee-items",
            Some(&s.admin),
            &json!({"community_id": s.community, "name": "巨额", "kind": "per_area",
            "unit_price": "1000000", "cycle": "yearly", "due_day": 10}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let bills = s.app.count("bills").await;
    let r = s
        .app
        .post(
            "/api/v1/staff/billing-runs",
            Some(&s.admin),
            &json!({"community_id": s.community, "period": "2027"}),
        )
        .await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
    assert_eq!(s.app.count("bills").await, bills);
}

#[tokio::test]
async fn a_stranger_guessing_passwords_locks_out_only_themselves() {
    let app = spawn_app_with(TestOptions {
        overrides: vec![
            ("server.trusted_proxies", "127.0.0.1".into()),
            ("rate_limits.login_failures_before_slowdown", "15".into()),
            ("rate_limits.login_slowdown_ms", "20".into()),
        ],
        ..Default::default()
    })
    .await;
    let login_from = |client: &'static str, password: &'static str| {
        app.http
            .post(app.url("/api/v1/auth/staff/login"))
            .header("X-Forwarded-For", client)
            .json(&json!({"username": ADMIN_USER, "password": password}))
            .send()
    };
    for i in 0..12 {
        let r = login_from("203.0.113.66", "guess").await.unwrap();
        let expected = if i < 10 { 401 } else { 429 };
        assert_eq!(r.status(), expected, "attempt {i}");
    }
    // The attacker's own right guess is refused while their limit holds…
    let r = login_from("203.0.113.66", ADMIN_PASSWORD).await.unwrap();
    assert_error(r, 429, "RATE_LIMITED").await;
    // …but the admin, from their own address, gets in.
    assert_eq!(login_from("198.51.100.7", ADMIN_PASSWORD).await.unwrap().status(), 200);
    // Failures from many addresses slow the name down (past 15 here) but never lock it.
    for client in ["203.0.113.67", "203.0.113.68"] {
        for _ in 0..10 {
            assert_eq!(login_from(client, "guess").await.unwrap().status(), 401);
        }
    }
    assert_eq!(login_from("198.51.100.8", ADMIN_PASSWORD).await.unwrap().status(), 200);
}

#[tokio::test]
async fn forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
    let app = spawn_app().await;
    // Without trusted proxies the peer is the client, whatever X-Forwarded-For claims.
    for i in 0..10 {
        let r = app
            .http
            .post(app.url("/api/v1/auth/staff/login"))
            .header("X-Forwarded-For", format!("198.51.100.{i}"))
            .json(&json!({"username": ADMIN_USER, "password": "guess"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = app
        .http
        .post(app.url("/api/v1/auth/staff/login"))
        .header("X-Forwarded-For", "198.51.100.200")
        .json(&json!({"username": ADMIN_USER, "password": "guess"}))
        .send()
        .await
        .unwrap();
    assert_error(r, 429, "RATE_LIMITED").await;
}

#[tokio::test]
async fn a_database_that_cannot_give_a_connection_is_a_fast_503_everywhere() {
    let app = spawn_app_with(TestOptions {
        overrides: vec![
            ("database.max_connections", "1".into()),
            ("database.acquire_timeout_ms", "300".into()),
        ],
        ..Default::default()
    })
    .await;
    crate::fake_pay::mount(&app.wechat).await;
    let admin = app.admin_token().await;
    // Hold the pool's only connection, as a stuck or lost database would.
    let held = {
        use sea_orm::TransactionTrait;
        app.db.begin().await.unwrap()
    };
    let r = app.get("/api/v1/staff/communities", Some(&admin)).await;
    let v = assert_error(r, 503, "UNAVAILABLE").await;
    assert_eq!(v["details"]["dependency"], "database");
    // Gateways get their own failure format, so they retry.
    let r = app.notify_alipay("a=1").await;
    assert_eq!(
        (r.status().as_u16(), r.text().await.unwrap()),
        (503, "fail".to_string())
    );
    let r = app.notify_wechat(&[], "{}").await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "FAIL");
    // The connection goes back to the pool on a spawned task after the rollback, so
    // recovery is observed within a bound rather than on the very next request.
    held.rollback().await.unwrap();
    let mut status = 0;
    for _ in 0..50 {
        status = app
            .get("/api/v1/staff/communities", Some(&admin))
            .await
            .status()
            .as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        status, 200,
        "the service recovers once the database gives connections again"
    );
}

/// A TCP relay to PostgreSQL that can cut every connection: a database lost mid-session.
struct Relay {
    port: u16,
    cut: tokio::sync::watch::Sender<bool>,
}

async fn relay_to(target: String) -> Relay {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (cut, watch) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let target = target.clone();
            let mut watch = watch.clone();
            tokio::spawn(async move {
                if *watch.borrow() {
                    return;
                }
                let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    _ = watch.wait_for(|c| *c) => {}
                }
            });
        }
    });
    Relay { port, cut }
}

#[tokio::test]
async fn a_postgres_connection_lost_mid_session_is_a_503_not_a_500() {
    if test_database_url().is_none() {
        eprintln!("runs in the PostgreSQL pass (TEST_DATABASE_URL); the embedded default has no connection to lose");
        return;
    }
    // A migrated database of our own, reached through the relay.
    let app = spawn_app().await;
    let url = url::Url::parse(&app.database_url).unwrap();
    let relay = relay_to(format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432))).await;
    let mut via = url.clone();
    via.set_port(Some(relay.port)).unwrap();
    let replica = spawn_app_with(TestOptions {
        database_url: Some(via.to_string()),
        overrides: vec![("database.acquire_timeout_ms", "500".into())],
        ..Default::default()
    })
    .await;
    let admin = replica.admin_token().await;
    assert_eq!(
        replica.get("/api/v1/staff/communities", Some(&admin)).await.status(),
        200
    );
    relay.cut.send(true).unwrap();
    for _ in 0..3 {
        let r = replica.get("/api/v1/staff/communities", Some(&admin)).await;
        assert_error(r, 503, "UNAVAILABLE").await;
    }
    let r = replica.get("/readyz", None).await;
    assert_eq!(r.status(), 503);
}
