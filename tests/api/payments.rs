use crate::fake_pay::{self, *};
use crate::helpers::*;
use serde_json::{json, Value};
use wuye::clock::Clock;

/// One community (grace 15, 万分之五), unit A-1-101 (89.50 m²) of a bound owner, monthly property
/// fee 2.50/m² due on the 10th, September and October billed: on 2026-10-20 September owes 226.55
/// (223.75 + 2.80 late fee) and October 223.75.
pub(crate) struct Shop {
    pub(crate) app: TestApp,
    pub(crate) admin: String,
    pub(crate) owner: String,
    pub(crate) community: i64,
    pub(crate) unit: i64,
    pub(crate) item: i64,
    pub(crate) sep: i64,
    pub(crate) oct: i64,
    pub(crate) fakes: Fakes,
}

pub(crate) async fn shop() -> Shop {
    shop_on(spawn_app().await).await
}

pub(crate) async fn shop_on(app: TestApp) -> Shop {
    let fakes = fake_pay::mount(&app.wechat).await;
    let admin = app.admin_token().await;
    let community = app.community(&admin, "C1").await;
    let unit = app.unit(&admin, community, "A-1-101").await;
    app.owner(&admin, "张三", "13800000001", &[unit]).await;
    let (owner, _) = app.owner_login("openid-zhang").await;
    app.bind_phone(&owner, "13800000001").await;
    let r = app
        .post("/api/v1/staff/fee-items", Some(&admin), &json!({"community_id": community, "name": "物业服务费", "kind": "per_area",
            "unit_price": "2.50", "cycle": "monthly", "due_day": 10, "prepay_discounts": [{"months": 12, "rate": "0.05"}]}))
        .await;
    let item = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    for p in ["2026-09", "2026-10"] {
        // Opening arrears migrated from an earlier system that issued them in time.
        app.billing_run(&admin, community, p, "2026-08-01").await;
    }
    let bills: Vec<Value> = app.get_json("/api/v1/me/bills?status=unpaid", Some(&owner)).await;
    let id = |p: &str| bills.iter().find(|b| b["period"] == p).unwrap()["id"].as_i64().unwrap();
    let (sep, oct) = (id("2026-09"), id("2026-10"));
    Shop {
        app,
        admin,
        owner,
        community,
        unit,
        item,
        sep,
        oct,
        fakes,
    }
}

pub(crate) async fn order(s: &Shop, body: Value, key: Option<&str>) -> reqwest::Response {
    let mut rb = s
        .app
        .http
        .post(s.app.url("/api/v1/payments"))
        .bearer_auth(&s.owner)
        .json(&body);
    if let Some(k) = key {
        rb = rb.header("Idempotency-Key", k);
    }
    rb.send().await.unwrap()
}

pub(crate) async fn wechat_order(s: &Shop, bills: &[i64]) -> Value {
    let r = order(s, json!({"bill_ids": bills, "channel": "wechat"}), None).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    r.json().await.unwrap()
}

pub(crate) fn now(s: &Shop) -> i64 {
    s.app.clock.now().timestamp()
}

pub(crate) async fn pay_wechat(s: &Shop, app: &TestApp, out_trade_no: &str, total: i64, tx: &str) -> u16 {
    let (h, body) = wechat_notification(
        &transaction(out_trade_no, total, tx),
        now(s),
        &platform_signer(),
        PLATFORM_KEY_ID,
    );
    app.notify_wechat(&h, &body).await.status().as_u16()
}

pub(crate) async fn bill(s: &Shop, id: i64) -> Value {
    s.app.get_json(&format!("/api/v1/me/bills/{id}"), Some(&s.owner)).await
}

#[tokio::test]
async fn a_wechat_order_freezes_the_amount_and_answers_verifiable_pay_params() {
    let s = shop().await;
    let o = wechat_order(&s, &[s.sep, s.oct]).await;
    assert_eq!(o["amount"], "450.30");
    assert_eq!(o["channel"], "wechat");
    let p = &o["pay_params"];
    assert_eq!(p["appId"], APPID);
    assert_eq!(p["signType"], "RSA");
    assert!(p["package"].as_str().unwrap().starts_with("prepay_id=wx2026fakeprepay"));
    // paySign is SHA256withRSA by the merchant key over appId\ntimeStamp\nnonceStr\npackage\n.
    let msg = format!(
        "{}\n{}\n{}\n{}\n",
        p["appId"].as_str().unwrap(),
        p["timeStamp"].as_str().unwrap(),
        p["nonceStr"].as_str().unwrap(),
        p["package"].as_str().unwrap()
    );
    assert!(verify(
        &merchant_verifier(),
        msg.as_bytes(),
        p["paySign"].as_str().unwrap()
    ));
    let expires = chrono::DateTime::parse_from_rfc3339(o["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires, t0() + chrono::Duration::minutes(15));
    let view: Value = s
        .app
        .get_json(&format!("/api/v1/payments/{}", o["payment_id"]), Some(&s.owner))
        .await;
    assert_eq!(view["status"], "pending");
    assert_eq!(view["lines"][0]["late_fee"], "2.80");

    // Another owner cannot see it.
    let (other, _) = s.app.owner_login("openid-other").await;
    assert_error(
        s.app
            .get(&format!("/api/v1/payments/{}", o["payment_id"]), Some(&other))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    // Nor pay bills that are not theirs.
    let r = s
        .app
        .post(
            "/api/v1/payments",
            Some(&other),
            &json!({"bill_ids": [s.sep], "channel": "wechat"}),
        )
        .await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
}

#[tokio::test]
async fn idempotency_keys_answer_the_first_order_and_a_new_order_closes_the_old_one() {
    let s = shop().await;
    let body = json!({"bill_ids": [s.sep], "channel": "wechat"});
    let a: Value = order(&s, body.clone(), Some("key-1")).await.json().await.unwrap();
    let b: Value = order(&s, body.clone(), Some("key-1")).await.json().await.unwrap();
    assert_eq!(a, b);
    assert_eq!(
        s.fakes.prepays.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the repeat did nothing again"
    );
    let c: Value = order(&s, body, Some("key-2")).await.json().await.unwrap();
    assert_ne!(a["payment_id"], c["payment_id"]);
    let old: Value = s
        .app
        .get_json(&format!("/api/v1/payments/{}", a["payment_id"]), Some(&s.owner))
        .await;
    assert_eq!(old["status"], "closed");
    // …and at WeChat Pay too, so the replaced prepay id cannot be paid.
    let close_path = format!(
        "/v3/pay/transactions/out-trade-no/{}/close",
        a["out_trade_no"].as_str().unwrap()
    );
    let closes = s
        .app
        .wechat
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == close_path)
        .count();
    assert_eq!(closes, 1);
    let r = order(&s, json!({"bill_ids": [s.sep], "channel": "cash"}), None).await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
}

#[tokio::test]
async fn a_verified_notification_credits_once_and_the_owner_sees_it_paid() {
    let s = shop().await;
    let arrears_before: Value = s.app.get_json("/api/v1/me/arrears", Some(&s.owner)).await;
    assert_eq!(arrears_before["total_due"], "450.30");
    let o = wechat_order(&s, &[s.sep]).await;
    let out = o["out_trade_no"].as_str().unwrap();
    assert_eq!(pay_wechat(&s, &s.app, out, 22_655, "4200000001").await, 204);
    assert_eq!(
        pay_wechat(&s, &s.app, out, 22_655, "4200000001").await,
        204,
        "a duplicate is acknowledged"
    );
    let b = bill(&s, s.sep).await;
    assert_eq!(b["status"], "paid");
    assert_eq!(b["amount_due"], "0.00");
    assert_eq!(b["paid"], "226.55");
    assert_eq!(b["payments"].as_array().unwrap().len(), 1);
    let p: Value = s
        .app
        .get_json(&format!("/api/v1/payments/{}", o["payment_id"]), Some(&s.owner))
        .await;
    assert_eq!(p["status"], "paid");
    // `R`, the Beijing date, the payment id zero-padded to 8 digits.
    let id = o["payment_id"].as_i64().unwrap();
    assert_eq!(p["receipt_no"], format!("R20261020{id:08}"));
    let mine: Vec<Value> = s.app.get_json("/api/v1/me/payments", Some(&s.owner)).await;
    assert_eq!(mine[0]["receipt_no"], p["receipt_no"]);
    let arrears: Value = s.app.get_json("/api/v1/me/arrears", Some(&s.owner)).await;
    assert_eq!(arrears["total_due"], "223.75");
    // The late fee stops with the payment: weeks later September still owes nothing.
    s.app.clock.advance(chrono::Duration::days(20));
    assert_eq!(bill(&s, s.sep).await["amount_due"], "0.00");
    let verdicts = notifications(&s.app).await;
    assert_eq!(verdicts, vec!["credited".to_string(), "duplicate".to_string()]);
}

/// The bounded record of rejected notifications: (provider, reason, count), summed over minutes and sources.
pub async fn rejected(app: &TestApp) -> Vec<(String, String, i64)> {
    use sea_orm::{EntityTrait, QueryOrder};
    let mut out: Vec<(String, String, i64)> = Vec::new();
    let rows = entity::rejected_notification::Entity::find()
        .order_by_asc(entity::rejected_notification::Column::Provider)
        .order_by_asc(entity::rejected_notification::Column::Reason)
        .all(&app.db)
        .await
        .unwrap();
    for r in rows {
        match out.last_mut() {
            Some(last) if last.0 == r.provider && last.1 == r.reason => last.2 += r.count,
            _ => out.push((r.provider, r.reason, r.count)),
        }
    }
    out
}

pub async fn notifications(app: &TestApp) -> Vec<String> {
    use sea_orm::{EntityTrait, QueryOrder};
    entity::gateway_notification::Entity::find()
        .order_by_asc(entity::gateway_notification::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.verdict)
        .collect()
}

#[tokio::test]
async fn bad_signatures_stale_timestamps_and_probes_are_refused_and_change_nothing() {
    let s = shop().await;
    let o = wechat_order(&s, &[s.sep]).await;
    let out = o["out_trade_no"].as_str().unwrap();
    let tx = transaction(out, 22_655, "4200000002");
    let (h, body) = wechat_notification(&tx, now(&s), &platform_signer(), PLATFORM_KEY_ID);
    let tampered = body.replacen("支付成功", "支付成功!", 1);
    let (wrong_key_h, wrong_key_body) = wechat_notification(&tx, now(&s), &merchant_signer(), PLATFORM_KEY_ID);
    let (stale_h, stale_body) = wechat_notification(&tx, now(&s) - 300, &platform_signer(), PLATFORM_KEY_ID);
    let (serial_h, serial_body) = wechat_notification(&tx, now(&s), &platform_signer(), "PUB_KEY_ID_SOMEONE_ELSE");
    let mut probe_h = h.clone();
    for (k, v) in probe_h.iter_mut() {
        if k == "Wechatpay-Signature" {
            *v = "WECHATPAY/SIGNTEST/9Z8Y7X6W5V4U3T2S1R0Q".into();
        }
    }
    for (headers, body) in [
        (&h, &tampered),
        (&wrong_key_h, &wrong_key_body),
        (&stale_h, &stale_body),
        (&serial_h, &serial_body),
        (&probe_h, &body),
        (&vec![], &body),
    ] {
        let r = s.app.notify_wechat(headers, body).await;
        assert_eq!(r.status(), 401);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], "FAIL");
    }
    assert_eq!(bill(&s, s.sep).await["status"], "unpaid");
    // Nothing unverified is stored whole: only the bounded record counts them.
    assert!(notifications(&s.app).await.is_empty());
    assert_eq!(
        rejected(&s.app).await,
        vec![
            ("wechatpay".into(), "bad_signature".into(), 5),
            ("wechatpay".into(), "stale".into(), 1)
        ]
    );
    // 299 seconds old is still inside the window.
    let (h, body) = wechat_notification(&tx, now(&s) - 299, &platform_signer(), PLATFORM_KEY_ID);
    assert_eq!(s.app.notify_wechat(&h, &body).await.status(), 204);
    assert_eq!(bill(&s, s.sep).await["status"], "paid");
}

#[tokio::test]
async fn verified_mismatches_are_acknowledged_never_credited_and_queued_for_staff() {
    let s = shop().await;
    let o = wechat_order(&s, &[s.sep]).await;
    let out = o["out_trade_no"].as_str().unwrap().to_string();
    let mut cases = Vec::new();
    cases.push(transaction(&out, 1, "T-amount"));
    let mut wrong_mch = transaction(&out, 22_655, "T-mch");
    wrong_mch["mchid"] = json!("1900000999");
    cases.push(wrong_mch);
    let mut wrong_app = transaction(&out, 22_655, "T-app");
    wrong_app["appid"] = json!("wxsomeoneelse");
    cases.push(wrong_app);
    let mut closed = transaction(&out, 22_655, "T-closed");
    closed["trade_state"] = json!("CLOSED");
    cases.push(closed);
    cases.push(transaction("WYNOSUCHORDER", 22_655, "T-unknown"));
    for tx in &cases {
        let (h, body) = wechat_notification(tx, now(&s), &platform_signer(), PLATFORM_KEY_ID);
        assert_eq!(s.app.notify_wechat(&h, &body).await.status(), 204);
    }
    assert_eq!(bill(&s, s.sep).await["status"], "unpaid");
    let ex: Vec<Value> = s.app.get_json("/api/v1/staff/payment-exceptions", Some(&s.admin)).await;
    assert_eq!(ex.len(), 5);
    assert!(ex.iter().any(|e| e["kind"] == "unknown_order"));
    assert!(ex.iter().filter(|e| e["kind"] == "mismatch").count() == 4);
    let (_, service) = s.app.staff_member(&s.admin, "svc", "service", &[s.community]).await;
    assert_error(
        s.app.get("/api/v1/staff/payment-exceptions", Some(&service)).await,
        403,
        "FORBIDDEN",
    )
    .await;
}

#[tokio::test]
async fn twenty_concurrent_duplicates_on_two_replicas_credit_exactly_once() {
    let s = shop().await;
    let replica = s.app.replica().await;
    let o = wechat_order(&s, &[s.sep, s.oct]).await;
    let out = o["out_trade_no"].as_str().unwrap();
    let (h, body) = wechat_notification(
        &transaction(out, 45_030, "4200000099"),
        now(&s),
        &platform_signer(),
        PLATFORM_KEY_ID,
    );
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let base = if i % 2 == 0 {
                s.app.address.clone()
            } else {
                replica.address.clone()
            };
            let (http, h, body) = (s.app.http.clone(), h.clone(), body.clone());
            tokio::spawn(async move {
                let mut rb = http
                    .post(format!("{base}/api/v1/notify/wechatpay"))
                    .header("content-type", "application/json");
                for (k, v) in &h {
                    rb = rb.header(k.as_str(), v.as_str());
                }
                rb.body(body).send().await.unwrap().status().as_u16()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 204);
    }
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let credits = entity::bill_entry::Entity::find()
        .filter(entity::bill_entry::Column::Kind.eq("payment"))
        .count(&s.app.db)
        .await
        .unwrap();
    assert_eq!(credits, 2, "one credit row per bill");
    let v = notifications(&s.app).await;
    assert_eq!(v.len(), 20);
    assert_eq!(v.iter().filter(|x| *x == "credited").count(), 1);
    assert_eq!(v.iter().filter(|x| *x == "duplicate").count(), 19);
}

#[tokio::test]
async fn alipay_qr_orders_and_notifications() {
    let s = shop().await;
    let r = order(&s, json!({"bill_ids": [s.oct], "channel": "alipay"}), None).await;
    assert_eq!(r.status(), 201);
    let o: Value = r.json().await.unwrap();
    let out = o["out_trade_no"].as_str().unwrap();
    assert_eq!(o["pay_params"]["qr_code"], format!("https://qr.alipay.com/fake{out}"));
    let fields = |amount: &'static str, seller: &'static str, status: &'static str| {
        vec![
            ("notify_type", "trade_status_sync"),
            ("notify_id", "N-1"),
            ("app_id", ALIPAY_APP_ID),
            ("charset", "utf-8"),
            ("version", "1.0"),
            ("trade_no", "2026102022001"),
            ("out_trade_no", out),
            ("trade_status", status),
            ("total_amount", amount),
            ("seller_id", seller),
            ("notify_time", "2026-10-20 10:06:00"),
        ]
    };
    let bad = s
        .app
        .notify_alipay(&alipay_notification(
            &fields("223.75", SELLER_ID, "TRADE_SUCCESS"),
            true,
        ))
        .await;
    assert_eq!(
        (bad.status().as_u16(), bad.text().await.unwrap()),
        (400, "fail".to_string())
    );
    for (amount, seller) in [("223.76", SELLER_ID), ("223.75", "2088999999999999")] {
        let r = s
            .app
            .notify_alipay(&alipay_notification(&fields(amount, seller, "TRADE_SUCCESS"), false))
            .await;
        assert_eq!(r.text().await.unwrap(), "success");
    }
    let r = s
        .app
        .notify_alipay(&alipay_notification(
            &fields("223.75", SELLER_ID, "WAIT_BUYER_PAY"),
            false,
        ))
        .await;
    assert_eq!(r.text().await.unwrap(), "success");
    assert_eq!(bill(&s, s.oct).await["status"], "unpaid");
    let r = s
        .app
        .notify_alipay(&alipay_notification(
            &fields("223.75", SELLER_ID, "TRADE_SUCCESS"),
            false,
        ))
        .await;
    assert_eq!(r.text().await.unwrap(), "success");
    assert_eq!(bill(&s, s.oct).await["status"], "paid");
    // A WeChat notification for an Alipay order is a mismatch.
    assert_eq!(pay_wechat(&s, &s.app, out, 22_375, "4200000003").await, 204);
    assert_eq!(
        notifications(&s.app).await,
        vec!["mismatch", "mismatch", "ignored", "credited", "mismatch"]
    );
    assert_eq!(
        rejected(&s.app).await,
        vec![("alipay".into(), "bad_signature".into(), 1)]
    );
}

#[tokio::test]
async fn an_unsigned_gateway_answer_is_treated_as_forged() {
    let s = spawn_app().await;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    Mock::given(method("POST"))
        .and(path("/v3/pay/transactions/jsapi"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"prepay_id": "wxforged"})))
        .with_priority(1)
        .mount(&s.wechat)
        .await;
    let s = shop_on(s).await;
    let r = order(&s, json!({"bill_ids": [s.sep], "channel": "wechat"}), None).await;
    assert_error(r, 503, "UNAVAILABLE").await;
    let mine: Vec<Value> = s.app.get_json("/api/v1/me/payments", Some(&s.owner)).await;
    assert_eq!(mine[0]["status"], "closed");
}

#[tokio::test]
async fn counter_payments_credit_through_the_same_path_with_a_receipt() {
    let s = shop().await;
    let (_, service) = s.app.staff_member(&s.admin, "svc", "service", &[s.community]).await;
    let body = json!({"bill_ids": [s.sep, s.oct], "method": "cash", "reference": "收据本 0012"});
    assert_error(
        s.app
            .post("/api/v1/staff/payments/counter", Some(&service), &body)
            .await,
        403,
        "FORBIDDEN",
    )
    .await;
    let r = s
        .app
        .post("/api/v1/staff/payments/counter", Some(&s.admin), &body)
        .await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["status"].as_str(), v["amount"].as_str(), v["channel"].as_str()),
        (Some("paid"), Some("450.30"), Some("cash"))
    );
    assert!(v["receipt_no"].as_str().unwrap().starts_with('R'));
    assert_eq!(bill(&s, s.oct).await["status"], "paid");
    let again = s
        .app
        .post("/api/v1/staff/payments/counter", Some(&s.admin), &body)
        .await;
    assert_error(again, 422, "VALIDATION_FAILED").await;
    let bad = json!({"bill_ids": [s.sep], "method": "bitcoin", "reference": "x"});
    assert_error(
        s.app.post("/api/v1/staff/payments/counter", Some(&s.admin), &bad).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
}

#[tokio::test]
async fn paying_a_prepayment_creates_the_future_bills_as_paid() {
    let s = shop().await;
    let r = order(
        &s,
        json!({"prepay": {"unit_id": s.unit, "fee_item_id": s.item, "months": 12}, "channel": "wechat"}),
        None,
    )
    .await;
    assert_eq!(r.status(), 201);
    let o: Value = r.json().await.unwrap();
    assert_eq!(o["amount"], "2550.75");
    assert_eq!(
        pay_wechat(&s, &s.app, o["out_trade_no"].as_str().unwrap(), 255_075, "4200000100").await,
        204
    );
    let paid: Vec<Value> = s.app.get_json("/api/v1/me/bills?status=paid", Some(&s.owner)).await;
    assert_eq!(paid.len(), 12);
    let nov = paid.iter().find(|b| b["period"] == "2026-11").unwrap();
    assert_eq!(
        (nov["principal"].as_str(), nov["amount_due"].as_str()),
        (Some("223.75"), Some("0.00"))
    );
    // A later billing run finds them and creates nothing for those periods.
    let r = s
        .app
        .post(
            "/api/v1/staff/billing-runs",
            Some(&s.admin),
            &json!({"community_id": s.community, "period": "2026-11"}),
        )
        .await;
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"bills_created": 0, "bills_existing": 1})
    );
}

#[tokio::test]
async fn reconciliation_credits_a_payment_whose_notification_never_came_and_closes_the_unpaid() {
    let s = shop().await;
    let paid = wechat_order(&s, &[s.sep]).await;
    let out = paid["out_trade_no"].as_str().unwrap();
    fake_pay::wechat_query_answers(&s.app.wechat, out, transaction(out, 22_655, "4200000300")).await;
    let ali: Value = order(&s, json!({"bill_ids": [s.oct], "channel": "alipay"}), None)
        .await
        .json()
        .await
        .unwrap();
    let ali_out = ali["out_trade_no"].as_str().unwrap().to_string();
    s.fakes.alipay_trades.lock().unwrap().insert(
        ali_out.clone(),
        json!({"trade_no": "2026Q1", "trade_status": "TRADE_CLOSED", "total_amount": "223.75"}),
    );

    // Before expiry (plus a minute's grace) nothing is touched.
    let r = wuye::services::payments::reconcile::reconcile(&s.app.state)
        .await
        .unwrap();
    assert_eq!(r.checked, 0);
    s.app.clock.advance(chrono::Duration::minutes(17));
    let r = wuye::services::payments::reconcile::reconcile(&s.app.state)
        .await
        .unwrap();
    assert_eq!((r.checked, r.credited, r.closed), (2, 1, 1));
    assert_eq!(bill(&s, s.sep).await["status"], "paid");
    assert_eq!(bill(&s, s.oct).await["status"], "unpaid");
    let a: Value = s
        .app
        .get_json(&format!("/api/v1/payments/{}", ali["payment_id"]), Some(&s.owner))
        .await;
    assert_eq!(a["status"], "closed");
    // A late notification for the reconciled order is a harmless duplicate.
    assert_eq!(pay_wechat(&s, &s.app, out, 22_655, "4200000300").await, 204);
    assert_eq!(
        wuye::services::payments::reconcile::reconcile(&s.app.state)
            .await
            .unwrap()
            .checked,
        0,
        "each order is settled once"
    );
    let summary: Vec<Value> = s
        .app
        .get_json(
            &format!("/api/v1/staff/payments/summary?community_id={}", s.community),
            Some(&s.admin),
        )
        .await;
    let wx = summary.iter().find(|c| c["channel"] == "wechat").unwrap();
    assert_eq!(
        (wx["orders"].as_u64(), wx["paid"].as_u64(), wx["amount"].as_str()),
        (Some(1), Some(1), Some("226.55"))
    );
}

#[tokio::test]
async fn a_partial_refund_reopens_the_bill_and_late_fees_accrue_again_from_the_refund_date() {
    let s = shop().await;
    let o = wechat_order(&s, &[s.sep]).await;
    assert_eq!(
        pay_wechat(&s, &s.app, o["out_trade_no"].as_str().unwrap(), 22_655, "4200000400").await,
        204
    );
    let pid = o["payment_id"].as_i64().unwrap();
    let (_, service) = s.app.staff_member(&s.admin, "svc", "service", &[s.community]).await;
    let url = format!("/api/v1/staff/payments/{pid}/refunds");
    assert_error(
        s.app
            .post(&url, Some(&service), &json!({"amount": "10", "reason": "x"}))
            .await,
        403,
        "FORBIDDEN",
    )
    .await;
    assert_error(
        s.app
            .post(&url, Some(&s.admin), &json!({"amount": "999.00", "reason": "多收"}))
            .await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert_error(
        s.app.post(&url, Some(&s.admin), &json!({"amount": "100.00"})).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;

    let r = s
        .app
        .post(&url, Some(&s.admin), &json!({"amount": "100.00", "reason": "面积核减"}))
        .await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["status"].as_str(), v["amount"].as_str()),
        (Some("success"), Some("100.00"))
    );
    let p: Value = s.app.get_json(&format!("/api/v1/payments/{pid}"), Some(&s.owner)).await;
    assert_eq!(p["status"], "partially_refunded");
    // 100.00 of principal is owed again from today (2026-10-20), late fee included from today on.
    let b = bill(&s, s.sep).await;
    assert_eq!(
        (b["status"].as_str(), b["amount_due"].as_str()),
        (Some("unpaid"), Some("100.00"))
    );
    s.app.clock.advance(chrono::Duration::days(10));
    let b = bill(&s, s.sep).await;
    // 10 more days on 100.00 at 万分之五 = 0.50.
    assert_eq!(b["amount_due"], "100.50");
    // (The staff session of ten days ago has expired: log in again.)
    let admin = s.app.admin_token().await;
    let rest = s.app.post(&url, Some(&admin), &json!({"reason": "全部退回"})).await;
    assert_eq!(rest.json::<Value>().await.unwrap()["amount"], "126.55");
    let p: Value = s.app.get_json(&format!("/api/v1/payments/{pid}"), Some(&s.owner)).await;
    assert_eq!(p["status"], "refunded");
    let again = s.app.post(&url, Some(&admin), &json!({"reason": "再退"})).await;
    assert_error(again, 409, "PAYMENT_NOT_REFUNDABLE").await;
    let list: Vec<Value> = s.app.get_json(&url, Some(&admin)).await;
    assert_eq!(list.len(), 2);
}

#[tokio::test]
async fn a_double_payment_is_refunded_automatically_through_its_own_gateway() {
    let s = shop().await;
    let wx = wechat_order(&s, &[s.sep]).await;
    let ali: Value = order(&s, json!({"bill_ids": [s.sep], "channel": "alipay"}), None)
        .await
        .json()
        .await
        .unwrap();
    let form = alipay_notification(
        &[
            ("notify_id", "N-7"),
            ("app_id", ALIPAY_APP_ID),
            ("trade_no", "2026B"),
            ("out_trade_no", ali["out_trade_no"].as_str().unwrap()),
            ("trade_status", "TRADE_SUCCESS"),
            ("total_amount", "226.55"),
            ("seller_id", SELLER_ID),
        ],
        false,
    );
    assert_eq!(s.app.notify_alipay(&form).await.text().await.unwrap(), "success");
    assert_eq!(
        pay_wechat(&s, &s.app, wx["out_trade_no"].as_str().unwrap(), 22_655, "4200000500").await,
        204
    );
    let refunds: Vec<Value> = s
        .app
        .get_json(
            &format!("/api/v1/staff/payments/{}/refunds", wx["payment_id"]),
            Some(&s.admin),
        )
        .await;
    assert_eq!(refunds.len(), 1);
    assert_eq!(
        (
            refunds[0]["automatic"].as_bool(),
            refunds[0]["status"].as_str(),
            refunds[0]["amount"].as_str()
        ),
        (Some(true), Some("success"), Some("226.55"))
    );
    let b = bill(&s, s.sep).await;
    assert_eq!(
        (b["status"].as_str(), b["paid"].as_str()),
        (Some("paid"), Some("226.55")),
        "the first credit stands"
    );
    let p: Value = s
        .app
        .get_json(&format!("/api/v1/payments/{}", wx["payment_id"]), Some(&s.owner))
        .await;
    assert_eq!(p["status"], "refunded");
    let ex: Vec<Value> = s.app.get_json("/api/v1/staff/payment-exceptions", Some(&s.admin)).await;
    assert!(ex
        .iter()
        .any(|e| e["kind"] == "double_payment" && e["payment_id"] == wx["payment_id"]));
    let refund_calls = s
        .app
        .wechat
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/v3/refund/domestic/refunds")
        .count();
    assert_eq!(refund_calls, 1);
}

#[tokio::test]
async fn refund_notifications_complete_a_processing_refund_once() {
    let s = shop().await;
    let o = wechat_order(&s, &[s.oct]).await;
    assert_eq!(
        pay_wechat(&s, &s.app, o["out_trade_no"].as_str().unwrap(), 22_375, "4200000600").await,
        204
    );
    let url = format!("/api/v1/staff/payments/{}/refunds", o["payment_id"]);
    let r: Value = s
        .app
        .post(
            &url,
            Some(&s.admin),
            &json!({"amount": "23.75", "reason": "PROCESSING"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["status"], "processing");
    assert_eq!(
        bill(&s, s.oct).await["status"],
        "paid",
        "nothing reopens before the gateway confirms"
    );
    let resource = json!({"mchid": MCHID, "out_trade_no": o["out_trade_no"], "out_refund_no": r["out_refund_no"], "refund_id": "5030000001",
        "refund_status": "SUCCESS", "amount": {"total": 22_375, "refund": 2_375, "payer_total": 22_375, "payer_refund": 2_375}});
    let (h, body) = fake_pay::wechat_event(
        "REFUND.SUCCESS",
        &resource,
        now(&s),
        &platform_signer(),
        PLATFORM_KEY_ID,
    );
    for _ in 0..2 {
        assert_eq!(s.app.notify_wechat(&h, &body).await.status(), 204);
    }
    let b = bill(&s, s.oct).await;
    assert_eq!(
        (b["status"].as_str(), b["amount_due"].as_str()),
        (Some("unpaid"), Some("23.75"))
    );
    let refunds: Vec<Value> = s.app.get_json(&url, Some(&s.admin)).await;
    assert_eq!(refunds[0]["status"], "success");
    let v = notifications(&s.app).await;
    assert_eq!(&v[v.len() - 2..], &["refunded".to_string(), "duplicate".to_string()]);
    // A forged refund notification changes nothing.
    let (h, body) = fake_pay::wechat_event(
        "REFUND.SUCCESS",
        &resource,
        now(&s),
        &merchant_signer(),
        PLATFORM_KEY_ID,
    );
    assert_eq!(s.app.notify_wechat(&h, &body).await.status(), 401);
}

#[tokio::test]
async fn a_gateway_transaction_credits_one_order_at_most() {
    let s = shop().await;
    let a = wechat_order(&s, &[s.sep]).await;
    let b = wechat_order(&s, &[s.oct]).await;
    assert_eq!(
        pay_wechat(&s, &s.app, a["out_trade_no"].as_str().unwrap(), 22_655, "4200000777").await,
        204
    );
    assert_eq!(
        pay_wechat(&s, &s.app, b["out_trade_no"].as_str().unwrap(), 22_375, "4200000777").await,
        204
    );
    assert_eq!(bill(&s, s.oct).await["status"], "unpaid");
    let ex: Vec<Value> = s.app.get_json("/api/v1/staff/payment-exceptions", Some(&s.admin)).await;
    assert!(ex
        .iter()
        .any(|e| e["kind"] == "transaction_reused" && e["payment_id"] == b["payment_id"]));
}
