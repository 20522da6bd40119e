//! The risk watch list (issue #18, 风险预警): owners whose own history signals trouble — a first
//! lateness after a clean record, growing arrears, an unresolved complaint — scored with reasons
//! and a suggested action, for staff only.
use crate::bills::{estate, my_bills};
use crate::helpers::*;
use serde_json::{json, Value};

fn at(app: &TestApp, local: &str) {
    let t = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap();
    app.clock.set(t.and_utc() - chrono::Duration::hours(8));
}

async fn pay(app: &TestApp, owner: &str, period: &str, n: u32) {
    let admin = app.admin_token().await;
    let id = my_bills(app, owner, "unpaid")
        .await
        .iter()
        .find(|b| b["period"] == period)
        .unwrap_or_else(|| panic!("no {period}"))["id"]
        .clone();
    let r = app
        .post(
            "/api/v1/staff/payments/counter",
            Some(&admin),
            &json!({"bill_ids": [id], "method": "cash", "reference": format!("收据{n}")}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
}

#[tokio::test]
async fn owners_whose_history_signals_trouble_are_listed_with_reasons_and_an_action() {
    let e = estate().await;
    let li_unit = e.app.unit(&e.admin, e.community, "A-1-102").await;
    e.app.owner(&e.admin, "李四", "13800000002", &[li_unit]).await;
    let (li, _) = e.app.owner_login("openid-li").await;
    e.app.bind_phone(&li, "13800000002").await;
    // June to August: both pay on time. September and October: 张三 pays nothing, 李四 pays.
    let mut n = 0;
    for month in ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10"] {
        at(&e.app, &format!("{month}-01 09:00"));
        let admin = e.app.admin_token().await;
        e.app
            .billing_run(&admin, e.community, month, &format!("{month}-01"))
            .await;
        at(&e.app, &format!("{month}-05 09:00"));
        let (zhang, _) = e.app.owner_login("openid-zhang").await;
        let (li, _) = e.app.owner_login("openid-li").await;
        if month <= "2026-08" {
            n += 1;
            pay(&e.app, &zhang, month, n).await;
        }
        n += 1;
        pay(&e.app, &li, month, n).await;
    }
    at(&e.app, "2026-10-20 10:00");
    let (li, _) = e.app.owner_login("openid-li").await;
    // 李四 has a repair nobody has seen to.
    crate::tickets::open(
        &e.app,
        &li,
        json!({"category": "repair", "title": "楼道灯坏了", "body": "三楼楼道灯不亮一周了", "unit_id": li_unit}),
    )
    .await;
    let admin = e.app.admin_token().await;
    let path = format!("/api/v1/staff/reports/watch-list?community_id={}", e.community);
    let list: Vec<Value> = e.app.get_json(&path, Some(&admin)).await;
    let summary: Vec<(String, u64, String)> = list
        .iter()
        .map(|w| {
            (
                w["owner"].as_str().unwrap().to_string(),
                w["score"].as_u64().unwrap(),
                w["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("张三".to_string(), 55, "plan_offer".to_string()),
            ("李四".to_string(), 20, "answer_complaint".to_string())
        ],
        "{list:?}"
    );
    let reasons: Vec<&str> = list[0]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["text"].as_str().unwrap())
        .collect();
    assert!(
        reasons[0].contains("此前3期均按时缴费") && reasons[1].contains("增至447.50元"),
        "{reasons:?}"
    );
    assert_eq!(list[0]["units"], json!(["A-1-101"]));
    // Owners never see it.
    let (owner, _) = e.app.owner_login("openid-zhang").await;
    assert!(matches!(
        e.app.get(&path, Some(&owner)).await.status().as_u16(),
        401 | 403
    ));
    // Staff read it on the console, reasons and all.
    let cookie = crate::console::sign_in(&e.app, ADMIN_USER, ADMIN_PASSWORD).await;
    let (status, html) = crate::console::page(
        &e.app,
        &format!("/console/watch-list?community_id={}", e.community),
        &cookie,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("id=\"watch-list-link\"") && html.contains("张三"),
        "{html}"
    );
    assert!(
        html.contains("（30分）") && html.contains("联系业主，提供分期缴费方案"),
        "{html}"
    );
}
