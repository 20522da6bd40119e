//! The service report (`GET /staff/reports/service`): figures computed by hand from a stepped clock
//! — medians and p90 by nearest rank, breach, rating and reopen rates — and the collection rate of
//! units with and without an unresolved complaint; service staff see no money figures.
use crate::helpers::*;
use crate::reminders::estate_without_channels;
use chrono::Duration;
use serde_json::{json, Value};

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let r = app.post(path, Some(token), &body).await;
    assert!(
        r.status().is_success(),
        "{path}: {}",
        r.text().await.unwrap_or_default()
    );
    r.json().await.unwrap()
}

#[tokio::test]
async fn the_service_report_adds_up_what_happened_to_each_ticket() {
    let mut e = estate_without_channels().await;
    let mut owners = Vec::new();
    let mut units = Vec::new();
    for (code, phone) in [("S-1", "13900000021"), ("S-2", "13900000022")] {
        let (unit, _) = e.household(code, phone).await;
        let (token, _) = e.app.owner_login(&format!("openid-{code}")).await;
        e.app.bind_phone(&token, phone).await;
        owners.push(token);
        units.push(unit);
    }
    let bill_1 = e.bill_due(units[0], 5).await;
    e.bill_due(units[1], 5).await;
    let ticket = |owner: usize, category: &str, title: &str| json!({"category": category, "title": title, "body": "详情", "unit_id": units[owner]});
    let a = post(&e.app, &owners[0], "/api/v1/me/tickets", ticket(0, "complaint", "A")).await["id"].clone();
    let b = post(&e.app, &owners[1], "/api/v1/me/tickets", ticket(1, "repair", "B")).await["id"].clone();
    let c = post(&e.app, &owners[1], "/api/v1/me/tickets", ticket(1, "complaint", "C")).await["id"].clone();
    let d = post(
        &e.app,
        &owners[1],
        "/api/v1/me/tickets",
        ticket(1, "complaint", "C again"),
    )
    .await["id"]
        .clone();
    let staff = |id: &Value, action: &str| format!("/api/v1/staff/tickets/{id}/{action}");
    post(&e.app, &e.admin, &staff(&d, "merge"), json!({"into_id": c})).await;
    // A answered after 30 minutes, B after 90; A resolved at 10 h, B at 20 h.
    e.advance(Duration::minutes(30)).await;
    post(&e.app, &e.admin, &staff(&a, "messages"), json!({"body": "收到"})).await;
    e.advance(Duration::minutes(60)).await;
    post(&e.app, &e.admin, &staff(&b, "messages"), json!({"body": "收到"})).await;
    e.advance(Duration::minutes(510)).await;
    post(&e.app, &e.admin, &staff(&a, "resolve"), json!({"resolution": "已处理"})).await;
    e.advance(Duration::hours(10)).await;
    post(&e.app, &e.admin, &staff(&b, "resolve"), json!({"resolution": "已修好"})).await;
    // 25 h: C was never answered and breaches.
    e.advance(Duration::hours(5)).await;
    let r = wuye::services::tickets::clock::tick(&e.app.state).await.unwrap();
    assert_eq!(r.breached, 1);
    post(
        &e.app,
        &owners[0],
        &format!("/api/v1/me/tickets/{a}/rating"),
        json!({"score": 5}),
    )
    .await;
    post(
        &e.app,
        &owners[1],
        &format!("/api/v1/me/tickets/{b}/rating"),
        json!({"score": 1}),
    )
    .await;
    // B is reopened at 26 h (its rating set aside), resolved again at 27 h and rated 3.
    e.advance(Duration::hours(1)).await;
    post(
        &e.app,
        &owners[1],
        &format!("/api/v1/me/tickets/{b}/reopen"),
        json!({"reason": "又坏了"}),
    )
    .await;
    e.advance(Duration::hours(1)).await;
    post(
        &e.app,
        &e.admin,
        &staff(&b, "resolve"),
        json!({"resolution": "更换零件"}),
    )
    .await;
    post(
        &e.app,
        &owners[1],
        &format!("/api/v1/me/tickets/{b}/rating"),
        json!({"score": 3}),
    )
    .await;
    // S-1's bill is paid at the counter.
    post(
        &e.app,
        &e.admin,
        "/api/v1/staff/payments/counter",
        json!({"bill_ids": [bill_1], "method": "cash", "reference": "R-1"}),
    )
    .await;

    let url = format!(
        "/api/v1/staff/reports/service?community_id={}&from=2026-10-20&to=2026-10-21",
        e.community
    );
    let r: Value = e.app.get_json(&url, Some(&e.admin)).await;
    // A, B and C count; D (merged away) does not.
    assert_eq!(r["tickets"], 3, "{r}");
    assert_eq!(r["resolved"], 2);
    // First responses [30, 90]: nearest-rank median 30, p90 90. Resolutions [600, 1620].
    assert_eq!(r["first_response_median_minutes"], 30);
    assert_eq!(r["first_response_p90_minutes"], 90);
    assert_eq!(r["resolution_median_minutes"], 600);
    assert_eq!(r["resolution_p90_minutes"], 27 * 60);
    assert_eq!(r["breach_rate"], "0.3333");
    // Ratings 5 and 3 (B's first rating was of the answer it reopened).
    assert_eq!(r["average_rating"], "4.00");
    assert_eq!(r["reopen_rate"], "0.5000");
    let complaints = r["by_category"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["category"] == "complaint")
        .unwrap();
    assert_eq!(complaints["tickets"], 2);
    assert_eq!(complaints["breached"], 1);
    assert_eq!(complaints["label"], "投诉");
    // S-2 has an unresolved complaint (C) at the end of the 21st; S-1's was resolved.
    let split = &r["collection"];
    assert_eq!(split["period"], "2026-10");
    assert_eq!(split["units_with_unresolved"], 1);
    assert_eq!(split["with_unresolved"]["receivable"], "300.00");
    assert_eq!(split["with_unresolved"]["collection_rate"], "0.0000");
    assert_eq!(split["without_unresolved"]["collection_rate"], "1.0000");
    // A window before anything happened counts nothing.
    let none: Value = e
        .app
        .get_json(
            &format!(
                "/api/v1/staff/reports/service?community_id={}&from=2026-10-01&to=2026-10-19",
                e.community
            ),
            Some(&e.admin),
        )
        .await;
    assert_eq!(none["tickets"], 0);
    assert!(none["first_response_median_minutes"].is_null());
    assert!(none["breach_rate"].is_null());

    // Service staff read the report without money; other communities are 404; bad dates 422.
    let (_, kefu) = e.app.staff_member(&e.admin, "kefu1", "service", &[e.community]).await;
    let theirs: Value = e.app.get_json(&url, Some(&kefu)).await;
    assert_eq!(theirs["tickets"], 3);
    assert!(theirs["collection"].is_null(), "{theirs}");
    let other = e.app.community(&e.admin, "R9").await;
    let (_, outsider) = e.app.staff_member(&e.admin, "kefu9", "service", &[other]).await;
    assert_error(e.app.get(&url, Some(&outsider)).await, 404, "NOT_FOUND").await;
    let bad = format!(
        "/api/v1/staff/reports/service?community_id={}&from=2026-02-30&to=2026-10-21",
        e.community
    );
    assert_error(e.app.get(&bad, Some(&e.admin)).await, 422, "VALIDATION_FAILED").await;
}
