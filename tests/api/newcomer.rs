//! What a newcomer trips on: the contract's gaps, Chinese errors everywhere, Excel-friendly imports,
//! and a demo that shows the whole money path.
use crate::helpers::*;
use crate::payments::{order, shop_on};
use serde_json::{json, Value};

#[tokio::test]
async fn an_order_is_validated_before_any_gateway_is_needed() {
    // WeChat Pay not configured here.
    let app = spawn_app_with(TestOptions {
        overrides: vec![("wechatpay.mchid", String::new())],
        ..Default::default()
    })
    .await;
    let s = shop_on(app).await;
    let bad = [
        json!({"bill_ids": [999999], "channel": "wechat"}),
        json!({"bill_ids": [], "channel": "wechat"}),
        json!({"channel": "wechat"}),
    ];
    for body in bad {
        let v = assert_error(order(&s, body.clone(), None).await, 422, "VALIDATION_FAILED").await;
        assert!(v["details"]["fields"]["bill_ids"].is_string(), "{body}: {v}");
    }
    // Another owner's bill is as unknown as a missing one.
    let other_unit = s.app.unit(&s.admin, s.community, "B-9-901").await;
    s.app.owner(&s.admin, "李四", "13800000009", &[other_unit]).await;
    s.app.billing_run(&s.admin, s.community, "2026-10", "2026-08-01").await;
    let all: Value = s
        .app
        .get_json(
            &format!("/api/v1/staff/bills?community_id={}", s.community),
            Some(&s.admin),
        )
        .await;
    let not_mine = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["unit_code"] == "B-9-901")
        .unwrap()["id"]
        .clone();
    let v = assert_error(
        order(&s, json!({"bill_ids": [not_mine], "channel": "wechat"}), None).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert!(v["details"]["fields"]["bill_ids"].is_string());
    // A valid order for a channel that is not configured: 503, and nothing is held.
    let r = order(&s, json!({"bill_ids": [s.sep], "channel": "wechat"}), None).await;
    assert_error(r, 503, "UNAVAILABLE").await;
    assert_eq!(s.app.count("payments").await, 0);
    // Alipay is configured, so the same bills can be ordered there.
    let r = order(&s, json!({"bill_ids": [s.sep], "channel": "alipay"}), None).await;
    assert_eq!(r.status(), 201);
}

#[tokio::test]
async fn every_error_a_client_sees_is_chinese_and_names_its_field() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let c = app.community(&admin, "C1").await;
    // Query strings: a missing field (422), a wrong type (400), each named.
    let v = assert_error(
        app.get("/api/v1/staff/units", Some(&admin)).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert_eq!(v["details"]["fields"]["community_id"], "必填");
    let v = assert_error(
        app.get("/api/v1/staff/units?community_id=abc", Some(&admin)).await,
        400,
        "BAD_REQUEST",
    )
    .await;
    assert!(v["details"]["fields"]["community_id"].is_string(), "{v}");
    assert!(!v["message"].as_str().unwrap().contains("deserialize"), "{v}");
    // JSON bodies: wrong types and missing fields, named.
    let v = assert_error(
        app.post("/api/v1/staff/units", Some(&admin), &json!({"community_id": "x"}))
            .await,
        400,
        "BAD_REQUEST",
    )
    .await;
    assert!(v["details"]["fields"]["community_id"].is_string(), "{v}");
    let v = assert_error(
        app.post("/api/v1/staff/units", Some(&admin), &json!({"community_id": c}))
            .await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert!(
        v["details"]["fields"].as_object().unwrap().values().all(|m| m
            .as_str()
            .unwrap()
            .chars()
            .any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch))),
        "{v}"
    );
    let r = app
        .post_raw("/api/v1/staff/units", Some(&admin), "application/json", "{not json")
        .await;
    assert_error(r, 400, "BAD_REQUEST").await;
    // Unknown paths and ids.
    assert_error(app.get("/api/v1/nothing-here", None).await, 404, "NOT_FOUND").await;
    assert_error(app.get("/api/v1/staff/units/abc", Some(&admin)).await, 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn docs_redirect_and_the_start_up_banner_says_what_is_configured() {
    let app = spawn_app().await;
    let r = app.get("/docs", None).await;
    assert_eq!(r.status(), 308);
    assert_eq!(r.headers()["location"], "/docs/");
    let b = wuye::startup::banner(&app.state, 8080, app.metrics_port);
    assert!(
        b.contains("http://127.0.0.1:8080/api/v1") && b.contains("http://127.0.0.1:8080/docs/"),
        "{b}"
    );
    assert!(b.contains("控制台   http://127.0.0.1:8080/console/"), "{b}");
    assert!(b.contains("✓ 微信支付") && b.contains("✓ 支付宝当面付"), "{b}");
    assert!(b.contains("– 腾讯云短信: 未配置"), "{b}");
    assert!(!b.contains("演示登录"), "no demo logins outside --demo");
    let demo = spawn_app_with(TestOptions {
        demo: true,
        overrides: vec![("wechatpay.mchid", String::new())],
        ..Default::default()
    })
    .await;
    let b = wuye::startup::banner(&demo.state, 8080, None);
    assert!(
        b.contains("演示登录") && b.contains("/api/v1/auth/demo/login") && b.contains("wuye-demo-2026"),
        "{b}"
    );
    assert!(b.contains("– 微信支付: 未配置，业主下单选微信支付会得到 503"), "{b}");
}

/// A demo app and its owner's token (the demo login).
async fn demo() -> (TestApp, String) {
    let app = spawn_app_with(TestOptions {
        demo: true,
        ..Default::default()
    })
    .await;
    let r = app
        .post(
            "/api/v1/auth/demo/login",
            None,
            &json!({"phone": wuye::services::demo::DEMO_OWNER_PHONE}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    (app, token)
}

#[tokio::test]
async fn the_demo_sandbox_shows_the_whole_money_path() {
    let (app, owner) = demo().await;
    let unpaid: Vec<Value> = app.get_json("/api/v1/me/bills?status=unpaid", Some(&owner)).await;
    let bill = unpaid
        .iter()
        .find(|b| b["amount_due"] != "0.00")
        .expect("the demo owner owes something");
    let r = app
        .post(
            "/api/v1/payments",
            Some(&owner),
            &json!({"bill_ids": [bill["id"]], "channel": "sandbox"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let order: Value = r.json().await.unwrap();
    let url = order["pay_params"]["sandbox_url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&app.address), "{url}");
    // The sandbox page says it is one, and confirming goes through the verified notification path.
    let page = app.http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("沙箱") && page.contains(order["amount"].as_str().unwrap()));
    let done = app.http.post(&url).send().await.unwrap().text().await.unwrap();
    assert!(done.contains("支付成功（沙箱）"), "{done}");
    let p: Value = app
        .get_json(&format!("/api/v1/payments/{}", order["payment_id"]), Some(&owner))
        .await;
    assert_eq!(p["status"], "paid");
    let receipt: Value = app
        .get_json(
            &format!("/api/v1/payments/{}/receipt", order["payment_id"]),
            Some(&owner),
        )
        .await;
    assert_eq!(receipt["method_name"], "沙箱支付（演示）");
    let b: Value = app
        .get_json(&format!("/api/v1/me/bills/{}", bill["id"]), Some(&owner))
        .await;
    assert_eq!(b["status"], "paid");
    assert_eq!(
        app.count("gateway_notifications WHERE provider = 'sandbox' AND verdict = 'credited'")
            .await,
        1
    );
    let unit = bill["unit_id"].as_i64().unwrap();
    let admin = app.admin_token().await;
    let evidence: Vec<Value> = app
        .get_json(&format!("/api/v1/staff/units/{unit}/evidence"), Some(&admin))
        .await;
    assert!(evidence
        .iter()
        .any(|e| e["kind"] == "payment" && e["channel"] == "sandbox"));
    // A forged sandbox notification is refused like any gateway's.
    let r = app
        .post_raw(
            "/api/v1/notify/sandbox",
            None,
            "application/x-www-form-urlencoded",
            format!(
                "out_trade_no={}&trade_status=TRADE_SUCCESS&sign=AAAA",
                order["out_trade_no"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(r.text().await.unwrap(), "fail");

    // A paper notice's code leads, in the demo, to the sandbox's notice page, which pays its bills.
    let run: Value = app
        .post("/api/v1/staff/reminder-runs", Some(&admin), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert!(run["tasks"].as_i64().unwrap() > 0, "{run}");
    let n = {
        use sea_orm::EntityTrait;
        entity::notice::Entity::find().one(&app.db).await.unwrap().unwrap()
    };
    let page = app
        .http
        .get(app.url(&format!("/sandbox/notices/{}", n.number)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("沙箱") && page.contains(&n.number), "{page}");
    let r = app
        .http
        .post(app.url(&format!("/sandbox/notices/{}/pay", n.number)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let done = app.http.post(app.url(&to)).send().await.unwrap().text().await.unwrap();
    assert!(done.contains("支付成功（沙箱）"), "{done}");
    let after = app
        .http
        .get(app.url(&format!("/sandbox/notices/{}", n.number)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(after.contains("均已结清"), "{after}");
}

#[tokio::test]
async fn there_is_no_sandbox_outside_the_demo() {
    let s = crate::payments::shop_on(spawn_app().await).await;
    let v = assert_error(
        order(&s, json!({"bill_ids": [s.sep], "channel": "sandbox"}), None).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert!(v["details"]["fields"]["channel"].is_string());
    assert_error(s.app.get("/sandbox/pay/WY1", None).await, 404, "NOT_FOUND").await;
    let r = s.app.notify_alipay("a=1").await;
    assert_eq!(r.status(), 400);
    let r = s
        .app
        .post_raw(
            "/api/v1/notify/sandbox",
            None,
            "application/x-www-form-urlencoded",
            "a=1",
        )
        .await;
    assert_error(r, 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn the_demo_has_something_true_to_show_on_every_screen() {
    let (app, _) = demo().await;
    let admin = app.admin_token().await;
    // Every paid bill has a real payment record behind it, through every kind of channel.
    assert_eq!(
        app.count("bills b WHERE b.status = 'paid' AND NOT EXISTS (SELECT 1 FROM payment_lines l JOIN payments p ON p.id = l.payment_id WHERE l.bill_id = b.id AND p.status = 'paid')").await,
        0
    );
    for method in ["wechat", "alipay", "cash", "pos"] {
        assert!(
            app.count(&format!(
                "payments WHERE channel = '{method}' AND receipt_no IS NOT NULL"
            ))
            .await
                > 0,
            "{method}"
        );
    }
    // Payments are evidence, and every unit's chain verifies.
    assert!(app.count("evidence WHERE kind = 'payment'").await > 0);
    let communities: Value = app.get_json("/api/v1/staff/communities", Some(&admin)).await;
    let ids: Vec<i64> = communities["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(communities["items"][1]["late_fee"]["cap_ratio"], "0.20");
    // An old debt near its three-year limitation, migrated with its issue date.
    let alerts: Vec<Value> = app
        .get_json(
            &format!("/api/v1/staff/limitation-alerts?community_id={}", ids[0]),
            Some(&admin),
        )
        .await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0]["days_left"].as_i64().unwrap() > 0);
    assert_eq!(app.count("audit_log WHERE action = 'billing_run.issued_on'").await, 2);
    // A bill at the late-fee cap, and the explanation says so.
    let bills: Value = app
        .get_json(
            &format!("/api/v1/staff/bills?community_id={}&status=unpaid&per_page=200", ids[1]),
            Some(&admin),
        )
        .await;
    assert!(
        bills["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["late_fee_explanation"].as_str().unwrap().contains("已达上限")),
        "a capped bill"
    );
    let unit = alerts[0]["unit_id"].as_i64().unwrap();
    let verify: Value = app
        .get_json(&format!("/api/v1/staff/units/{unit}/evidence/verify"), Some(&admin))
        .await;
    assert_eq!(verify["ok"], true);
}

#[tokio::test]
async fn whole_numbers_written_with_a_decimal_point_are_integers() {
    // JSON Schema calls 1.0 an integer; so does the API.
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let c = app.community(&admin, "C1").await;
    let r = app
        .post(
            "/api/v1/staff/units",
            Some(&admin),
            &json!({"community_id": c as f64, "building": "A", "code": "A-1-1", "area_m2": "80"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let v = assert_error(
        app.post(
            "/api/v1/staff/units",
            Some(&admin),
            &json!({"community_id": 1.5, "building": "A", "code": "A-1-2", "area_m2": "80"}),
        )
        .await,
        400,
        "BAD_REQUEST",
    )
    .await;
    assert!(v["details"]["fields"]["community_id"].is_string());
}
