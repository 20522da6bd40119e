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
    let r = s
        .app
        .post(
            "/api/v1/staff/billing-runs",
            Some(&s.admin),
            &json!({"community_id": s.community, "period": "2026-10", "issued_on": "2026-08-01"}),
        )
        .await;
    assert_eq!(r.status(), 201);
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
