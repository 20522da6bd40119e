//! Vacant units (issue #17, 空置房优惠): a community's policy, an owner's application, an
//! inspection with photos, finance's decision; the discount reaches the unit's property-fee bills
//! through the ledger from the month applied for — those issued now and later, once each, also
//! with two replicas — within the yearly cap, and the application ends by itself.
use crate::bills::{estate, my_bills, run, Estate};
use crate::helpers::*;
use crate::tickets::upload;
use serde_json::{json, Value};
use wuye::services::plans::vacancy::{tick, Pass};

async fn billed() -> Estate {
    let e = estate().await;
    run(&e.app, &e.admin, e.community, "2026-09").await;
    run(&e.app, &e.admin, e.community, "2026-10").await;
    e
}

async fn policy(e: &Estate, body: Value) -> reqwest::Response {
    e.app
        .put(
            &format!("/api/v1/staff/communities/{}/vacancy-policy", e.community),
            Some(&e.admin),
            &body,
        )
        .await
}

async fn apply_for(e: &Estate, from: &str) -> reqwest::Response {
    e.app
        .post(
            "/api/v1/me/vacancy-requests",
            Some(&e.owner),
            &json!({"from": from, "reason": "房屋尚未装修入住"}),
        )
        .await
}

async fn staff(e: &Estate, token: &str, id: &Value, what: &str, body: Value) -> reqwest::Response {
    e.app
        .post(
            &format!("/api/v1/staff/vacancy-applications/{id}/{what}"),
            Some(token),
            &body,
        )
        .await
}

fn bill<'a>(bills: &'a [Value], period: &str) -> &'a Value {
    bills
        .iter()
        .find(|b| b["period"] == period)
        .unwrap_or_else(|| panic!("no {period} bill"))
}

#[tokio::test]
async fn an_inspected_vacant_unit_gets_the_policy_on_its_bills_within_the_yearly_cap() {
    let e = billed().await;
    // No policy: nothing to apply for.
    let path = format!("/api/v1/staff/communities/{}/vacancy-policy", e.community);
    assert_eq!(e.app.get(&path, Some(&e.admin)).await.status(), 404);
    assert_error(apply_for(&e, "2026-10").await, 409, "VACANCY_OFF").await;
    for (body, field) in [
        (json!({"percent": "0", "max_months_per_year": 2}), "percent"),
        (
            json!({"percent": "50", "max_months_per_year": 13}),
            "max_months_per_year",
        ),
    ] {
        let v = assert_error(policy(&e, body).await, 422, "VALIDATION_FAILED").await;
        assert!(v["details"]["fields"][field].is_string(), "{v}");
    }
    let r = policy(&e, json!({"percent": "50", "max_months_per_year": 2})).await;
    assert_eq!(r.status(), 200);
    let p: Value = e.app.get_json(&path, Some(&e.admin)).await;
    assert_eq!(p, json!({"percent": "50", "max_months_per_year": 2}));

    // The owner applies from this month (not an earlier one), once.
    assert_error(apply_for(&e, "2026-09").await, 422, "VALIDATION_FAILED").await;
    let r = apply_for(&e, "2026-10").await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let a: Value = r.json().await.unwrap();
    assert_eq!(
        (a["status"].as_str(), a["status_label"].as_str()),
        (Some("requested"), Some("待查验"))
    );
    assert_error(apply_for(&e, "2026-11").await, 409, "VACANCY_EXISTS").await;

    // No approval before an inspection finds it vacant; a collector inspects, once.
    let (_, finance) = e.app.staff_member(&e.admin, "fin", "finance", &[e.community]).await;
    let (_, collector) = e.app.staff_member(&e.admin, "col", "collector", &[e.community]).await;
    assert_error(
        staff(&e, &finance, &a["id"], "approve", json!({"reason": "属实"})).await,
        409,
        "VACANCY_NOT_INSPECTED",
    )
    .await;
    let photo = upload(&e.app, "/api/v1/staff/uploads", &collector).await;
    let inspection = json!({"vacant": true, "note": "水电表读数无变化，屋内无家具", "upload_ids": [photo]});
    let r = staff(&e, &collector, &a["id"], "inspection", inspection.clone()).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let inspected: Value = r.json().await.unwrap();
    assert_eq!(inspected["status_label"], "已查验，待审批");
    assert_error(
        staff(&e, &collector, &a["id"], "inspection", inspection).await,
        409,
        "VACANCY_INSPECTED",
    )
    .await;
    let photo_path = format!("/api/v1/staff/vacancy-applications/{}/photos/{photo}", a["id"]);
    assert_eq!(e.app.get(&photo_path, Some(&finance)).await.status(), 200);
    // Collectors inspect; they do not decide.
    assert_eq!(
        staff(&e, &collector, &a["id"], "approve", json!({"reason": "属实"}))
            .await
            .status(),
        403
    );

    let r = staff(&e, &finance, &a["id"], "approve", json!({"reason": "查验属实"})).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let approved: Value = r.json().await.unwrap();
    assert_eq!(approved["terms"], "物业服务费减免50%，每年最多2个月");
    assert_eq!(approved["ends_on"], "2026-12-31");
    // October (already issued) at half: 223.75 − 111.88 (111.875 rounded half-up) = 111.87;
    // September is before the month applied for.
    let bills = my_bills(&e.app, &e.owner, "all").await;
    assert_eq!(bill(&bills, "2026-10")["principal"], "111.87");
    assert_eq!(bill(&bills, "2026-09")["principal"], "223.75");

    // November is issued later: two replicas discount it once, and with the year's two months
    // used the application ends by itself.
    run(&e.app, &e.admin, e.community, "2026-11").await;
    let replica = e.app.replica().await;
    let (x, y) = tokio::join!(tick(&e.app.state), tick(&replica.state));
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!((x.applied + y.applied, x.ended + y.ended), (1, 1), "{x:?} {y:?}");
    assert_eq!(
        bill(&my_bills(&e.app, &e.owner, "all").await, "2026-11")["principal"],
        "111.87"
    );
    // December: the cap is used, nothing more.
    run(&e.app, &e.admin, e.community, "2026-12").await;
    assert_eq!(tick(&e.app.state).await.unwrap(), Pass::default());
    assert_eq!(
        bill(&my_bills(&e.app, &e.owner, "all").await, "2026-12")["principal"],
        "223.75"
    );
    let mine: Vec<Value> = e.app.get_json("/api/v1/me/vacancy-applications", Some(&e.owner)).await;
    assert_eq!(
        (mine[0]["status"].as_str(), mine[0]["end_reason"].as_str()),
        (Some("ended"), Some("2026年度空置房优惠月数已用完"))
    );
    let discounted: Vec<(&str, &str)> = mine[0]["bills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["period"].as_str().unwrap(), b["discount"].as_str().unwrap()))
        .collect();
    assert_eq!(discounted, [("2026-10", "111.88"), ("2026-11", "111.88")]);
    // A new application the same year finds the cap used.
    let r = apply_for(&e, "2026-12").await;
    assert_eq!(r.status(), 201);
    let again: Value = r.json().await.unwrap();
    let photo = upload(&e.app, "/api/v1/staff/uploads", &collector).await;
    staff(
        &e,
        &collector,
        &again["id"],
        "inspection",
        json!({"vacant": true, "note": "仍空置", "upload_ids": [photo]}),
    )
    .await;
    let r = staff(&e, &finance, &again["id"], "approve", json!({"reason": "仍空置"})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        bill(&my_bills(&e.app, &e.owner, "all").await, "2026-12")["principal"],
        "223.75"
    );
    // The report counts October's discounted principal.
    let report: Value = e
        .app
        .get_json(
            &format!(
                "/api/v1/staff/reports/collection?community_id={}&period=2026-10",
                e.community
            ),
            Some(&e.admin),
        )
        .await;
    assert_eq!(report["receivable"], "111.87", "{report}");
    let evidence: Vec<Value> = e
        .app
        .get_json(&format!("/api/v1/staff/units/{}/evidence", e.unit), Some(&e.admin))
        .await;
    for result in ["requested", "inspected", "approved", "applied", "ended"] {
        assert!(
            evidence.iter().any(|r| r["kind"] == "vacancy" && r["result"] == result),
            "no {result} evidence"
        );
    }
    crate::rollup::assert_rollup_is_recomputation(&e.app, e.community).await;
}

#[tokio::test]
async fn an_occupied_unit_is_refused_and_an_owner_who_moves_in_ends_the_discount() {
    let e = billed().await;
    assert_eq!(
        policy(&e, json!({"percent": "30", "max_months_per_year": 6}))
            .await
            .status(),
        200
    );
    let a: Value = apply_for(&e, "2026-10").await.json().await.unwrap();
    let photo = upload(&e.app, "/api/v1/staff/uploads", &e.admin).await;
    let r = staff(
        &e,
        &e.admin,
        &a["id"],
        "inspection",
        json!({"vacant": false, "note": "屋内有人居住", "upload_ids": [photo]}),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_error(
        staff(&e, &e.admin, &a["id"], "approve", json!({"reason": "属实"})).await,
        409,
        "VACANCY_NOT_INSPECTED",
    )
    .await;
    let r = staff(&e, &e.admin, &a["id"], "reject", json!({"reason": "查验时有人居住"})).await;
    assert_eq!(r.status(), 200);
    let mine: Vec<Value> = e.app.get_json("/api/v1/me/vacancy-applications", Some(&e.owner)).await;
    assert_eq!(
        (mine[0]["status_label"].as_str(), mine[0]["decision_reason"].as_str()),
        (Some("未批准"), Some("查验时有人居住"))
    );
    // Withdrawn once.
    let a: Value = apply_for(&e, "2026-11").await.json().await.unwrap();
    let del = |id: &Value| {
        let (app, owner, id) = (&e.app, e.owner.clone(), id.clone());
        async move {
            app.delete(
                &format!("/api/v1/me/vacancy-applications/{id}"),
                Some(&owner),
                &json!({}),
            )
            .await
        }
    };
    assert_eq!(del(&a["id"]).await.status(), 200);
    assert_error(del(&a["id"]).await, 409, "VACANCY_CLOSED").await;
    // Approved, then the owner moves in: later bills are not discounted.
    let a: Value = apply_for(&e, "2026-11").await.json().await.unwrap();
    let photo = upload(&e.app, "/api/v1/staff/uploads", &e.admin).await;
    staff(
        &e,
        &e.admin,
        &a["id"],
        "inspection",
        json!({"vacant": true, "note": "空置", "upload_ids": [photo]}),
    )
    .await;
    assert_eq!(
        staff(&e, &e.admin, &a["id"], "approve", json!({"reason": "属实"}))
            .await
            .status(),
        200
    );
    let r = del(&a["id"]).await;
    assert_eq!(r.status(), 200);
    let ended: Value = r.json().await.unwrap();
    assert_eq!(
        (ended["status"].as_str(), ended["end_reason"].as_str()),
        (Some("ended"), Some("业主告知已入住，空置房优惠结束"))
    );
    run(&e.app, &e.admin, e.community, "2026-11").await;
    assert_eq!(tick(&e.app.state).await.unwrap(), Pass::default());
    assert_eq!(
        bill(&my_bills(&e.app, &e.owner, "all").await, "2026-11")["principal"],
        "223.75"
    );
}

#[tokio::test]
async fn finance_sets_the_policy_and_decides_on_the_console_page() {
    use crate::console::{hidden_csrf, page, post_form, sign_in};
    let e = billed().await;
    e.app.staff_member(&e.admin, "fin", "finance", &[e.community]).await;
    let fin = sign_in(&e.app, "fin", "long-enough-pw").await;
    let path = format!("/console/vacancy?community_id={}", e.community);
    let (status, html) = page(&e.app, &path, &fin).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("id=\"vacancy-link\"") && html.contains("尚未设置"),
        "{html}"
    );
    let csrf = hidden_csrf(&html);
    let community = e.community.to_string();
    // A cap out of range is refused on the page; then the policy is saved.
    let (status, _, body) = post_form(
        &e.app,
        "/console/vacancy/policy",
        &fin,
        &[
            ("csrf", &csrf),
            ("community_id", &community),
            ("percent", "50"),
            ("max_months_per_year", "0"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("每年优惠月数应为1到12"), "{body}");
    let (status, _, _) = post_form(
        &e.app,
        "/console/vacancy/policy",
        &fin,
        &[
            ("csrf", &csrf),
            ("community_id", &community),
            ("percent", "50"),
            ("max_months_per_year", "6"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    // An application inspected through the API is approved on the page.
    let a: Value = apply_for(&e, "2026-10").await.json().await.unwrap();
    let id = a["id"].as_i64().unwrap();
    let (_, html) = page(&e.app, &path, &fin).await;
    assert!(
        html.contains("物业服务费减免50%，每年最多6个月") && html.contains("待上门查验"),
        "{html}"
    );
    assert!(
        !html.contains(&format!("/console/vacancy/{id}/approve")),
        "not before an inspection"
    );
    let photo = upload(&e.app, "/api/v1/staff/uploads", &e.admin).await;
    staff(
        &e,
        &e.admin,
        &a["id"],
        "inspection",
        json!({"vacant": true, "note": "屋内无家具", "upload_ids": [photo]}),
    )
    .await;
    let (_, html) = page(&e.app, &path, &fin).await;
    assert!(
        html.contains(&format!("/console/vacancy/{id}/photos/{photo}")),
        "{html}"
    );
    let (status, _, _) = post_form(
        &e.app,
        &format!("/console/vacancy/{id}/approve"),
        &fin,
        &[("csrf", &csrf), ("community_id", &community), ("reason", "查验属实")],
    )
    .await;
    assert_eq!(status, 303);
    let (_, html) = page(&e.app, &path, &fin).await;
    assert!(
        html.contains("2026-10 优惠¥111.88") && html.contains("优惠中"),
        "{html}"
    );
    let r = e
        .app
        .http
        .get(e.app.url(&format!("/console/vacancy/{id}/photos/{photo}")))
        .header(reqwest::header::COOKIE, &fin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
