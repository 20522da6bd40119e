//! Installment plans (issue #17), from the owner's request to finance's decision: an exact
//! schedule, one live plan per bill, an agreement fixed at approval, rejection with a reason,
//! withdrawal, and a request gone stale when its bills changed.
use crate::bills::{estate, my_bills, run, Estate};
use crate::helpers::*;
use serde_json::{json, Value};
use sha2::Digest;

/// September and October billed (223.75 each, 447.50 in all), today 2026-10-20.
async fn billed() -> (Estate, Vec<i64>) {
    let e = estate().await;
    run(&e.app, &e.admin, e.community, "2026-09").await;
    run(&e.app, &e.admin, e.community, "2026-10").await;
    let mut ids: Vec<i64> = my_bills(&e.app, &e.owner, "unpaid")
        .await
        .iter()
        .map(|b| b["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids.len(), 2);
    (e, ids)
}

async fn ask(e: &Estate, body: Value) -> reqwest::Response {
    e.app
        .post("/api/v1/me/installment-requests", Some(&e.owner), &body)
        .await
}

async fn asked(e: &Estate, bills: &[i64], months: u32) -> Value {
    let r = ask(
        e,
        json!({"bill_ids": bills, "months": months, "reason": "近期失业，收入暂时中断"}),
    )
    .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    r.json().await.unwrap()
}

async fn decide(e: &Estate, token: &str, id: i64, what: &str, body: Value) -> reqwest::Response {
    e.app
        .post(
            &format!("/api/v1/staff/installment-plans/{id}/{what}"),
            Some(token),
            &body,
        )
        .await
}

#[tokio::test]
async fn an_owner_asks_for_a_plan_and_sees_an_exact_schedule_finance_is_told() {
    let (e, ids) = billed().await;
    let (_, finance) = e.app.staff_member(&e.admin, "fin", "finance", &[e.community]).await;
    let bills = my_bills(&e.app, &e.owner, "unpaid").await;
    let late_fee: i64 = bills
        .iter()
        .map(|b| wuye::domain::Fen::parse(b["late_fee"].as_str().unwrap()).unwrap().0)
        .sum();
    let p = asked(&e, &ids, 3).await;
    // 447.50 over 3: 149.16 twice and the 0.02 that does not divide on the first.
    let amounts: Vec<&str> = p["schedule"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["amount"].as_str().unwrap())
        .collect();
    assert_eq!(amounts, vec!["149.18", "149.16", "149.16"]);
    let dates: Vec<&str> = p["schedule"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["due_date"].as_str().unwrap())
        .collect();
    assert_eq!(dates, vec!["2026-11-20", "2026-12-20", "2027-01-20"]);
    assert_eq!(
        (
            p["status"].as_str(),
            p["principal"].as_str(),
            p["months"].as_i64(),
            p["unit"].as_str()
        ),
        (Some("requested"), Some("447.50"), Some(3), Some("A A-1-101"))
    );
    assert_eq!(p["late_fee"], wuye::domain::Fen(late_fee).to_yuan_string());
    assert!(late_fee > 0, "September is past its grace period");
    assert_eq!(p["bills"].as_array().unwrap().len(), 2);
    // The owner's list; the unit's evidence; finance's inbox.
    let mine: Vec<Value> = e.app.get_json("/api/v1/me/installment-plans", Some(&e.owner)).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["id"], p["id"]);
    let evidence: Vec<Value> = e
        .app
        .get_json(&format!("/api/v1/staff/units/{}/evidence", e.unit), Some(&e.admin))
        .await;
    let rec = evidence
        .iter()
        .find(|r| r["kind"] == "installment")
        .unwrap_or_else(|| panic!("no evidence: {evidence:?}"));
    assert_eq!(rec["result"], "requested");
    assert!(rec["content"].as_str().unwrap().contains("447.50"), "{rec}");
    let inbox: Value = e.app.get_json("/api/v1/staff/inbox", Some(&finance)).await;
    assert!(
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "installment_requested"),
        "{inbox}"
    );
    let listed: Vec<Value> = e
        .app
        .get_json(
            &format!(
                "/api/v1/staff/installment-plans?community_id={}&status=requested",
                e.community
            ),
            Some(&finance),
        )
        .await;
    assert_eq!(listed.len(), 1);
}

#[tokio::test]
async fn bad_requests_are_refused_and_change_nothing() {
    let (e, ids) = billed().await;
    for (body, field) in [
        (json!({"bill_ids": ids, "months": 2}), "months"),
        (json!({"bill_ids": ids, "months": 13}), "months"),
        (json!({"bill_ids": [], "months": 3}), "bill_ids"),
        (json!({"bill_ids": [ids[0], ids[0]], "months": 3}), "bill_ids"),
        (json!({"bill_ids": [999_999], "months": 3}), "bill_ids"),
        (json!({"bill_ids": ids, "months": 3, "reason": "  "}), "reason"),
    ] {
        let v = assert_error(ask(&e, body.clone()).await, 422, "VALIDATION_FAILED").await;
        assert!(v["details"]["fields"][field].is_string(), "{body} → {v}");
    }
    assert_eq!(e.app.count("installment_plans").await, 0);
    // Another owner cannot ask for these bills.
    let (stranger, _) = e.app.owner_login("openid-stranger").await;
    let r = e
        .app
        .post(
            "/api/v1/me/installment-requests",
            Some(&stranger),
            &json!({"bill_ids": ids, "months": 3}),
        )
        .await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
    // A community with installments switched off.
    let r = e
        .app
        .patch(
            &format!("/api/v1/staff/communities/{}", e.community),
            Some(&e.admin),
            &json!({"features": {"installments": false}}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_error(
        ask(&e, json!({"bill_ids": ids, "months": 3})).await,
        409,
        "INSTALLMENTS_OFF",
    )
    .await;
    assert_eq!(e.app.count("installment_plans").await, 0);
}

#[tokio::test]
async fn a_bill_is_in_one_live_plan_however_many_ask_at_once() {
    let (e, ids) = billed().await;
    let answers =
        futures_util::future::join_all((0..6).map(|_| ask(&e, json!({"bill_ids": [ids[0]], "months": 3})))).await;
    let mut codes: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    codes.sort_unstable();
    assert_eq!(codes, vec![201, 409, 409, 409, 409, 409]);
    assert_eq!(e.app.count("installment_plans WHERE status = 'requested'").await, 1);
    // The other bill is free.
    asked(&e, &[ids[1]], 3).await;
}

#[tokio::test]
async fn finance_approves_with_an_agreement_fixed_then_and_decides_once() {
    let (e, ids) = billed().await;
    let p = asked(&e, &ids, 3).await;
    let id = p["id"].as_i64().unwrap();
    // Customer service may not decide.
    let (_, service) = e
        .app
        .staff_member(&e.admin, "service1", "service", &[e.community])
        .await;
    assert_eq!(decide(&e, &service, id, "approve", json!({})).await.status(), 403);
    let (_, finance) = e.app.staff_member(&e.admin, "fin", "finance", &[e.community]).await;
    let r = decide(&e, &finance, id, "approve", json!({})).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "approved");
    let text = v["agreement_text"].as_str().unwrap();
    // The agreement names the unit, both bills, the instalments and what keeping or breaking it does.
    for part in [
        "A A-1-101",
        "2026-09 物业服务费",
        "2026-10 物业服务费",
        "447.50",
        "首期149.18元",
        "其余每期149.16元",
        "逾期超过15日",
        "截至2026-10-20",
        p["late_fee"].as_str().unwrap(),
    ] {
        assert!(text.contains(part), "{part} missing from {text}");
    }
    assert_eq!(
        v["agreement_sha256"].as_str().unwrap(),
        hex::encode(sha2::Sha256::digest(text.as_bytes()))
    );
    // Decided once: approving or rejecting again is refused.
    assert_error(
        decide(&e, &finance, id, "approve", json!({})).await,
        409,
        "PLAN_NOT_REQUESTED",
    )
    .await;
    assert_error(
        decide(&e, &finance, id, "reject", json!({"reason": "重复"})).await,
        409,
        "PLAN_NOT_REQUESTED",
    )
    .await;
    assert_eq!(e.app.count("audit_log WHERE action = 'installment.approve'").await, 1);
    let evidence: Vec<Value> = e
        .app
        .get_json(&format!("/api/v1/staff/units/{}/evidence", e.unit), Some(&e.admin))
        .await;
    assert!(evidence
        .iter()
        .any(|r| r["kind"] == "installment" && r["result"] == "approved"));
    // The owner sees the agreement to accept.
    let mine: Vec<Value> = e.app.get_json("/api/v1/me/installment-plans", Some(&e.owner)).await;
    assert_eq!(mine[0]["agreement_sha256"], v["agreement_sha256"]);
    assert_eq!(mine[0]["status_label"], "已批准，待您确认协议");
}

#[tokio::test]
async fn a_rejection_gives_the_owner_the_reason_and_frees_the_bills() {
    let (e, ids) = billed().await;
    let id = asked(&e, &ids, 6).await["id"].as_i64().unwrap();
    let v = assert_error(
        decide(&e, &e.admin, id, "reject", json!({"reason": "  "})).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert!(v["details"]["fields"]["reason"].is_string(), "{v}");
    let r = decide(
        &e,
        &e.admin,
        id,
        "reject",
        json!({"reason": "欠费金额较小，建议一次缴清"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let mine: Vec<Value> = e.app.get_json("/api/v1/me/installment-plans", Some(&e.owner)).await;
    assert_eq!(
        (mine[0]["status"].as_str(), mine[0]["decision_reason"].as_str()),
        (Some("rejected"), Some("欠费金额较小，建议一次缴清"))
    );
    // The bills may be asked for again.
    asked(&e, &ids, 3).await;
}

#[tokio::test]
async fn the_owner_withdraws_until_it_takes_effect_and_only_their_own() {
    let (e, ids) = billed().await;
    let id = asked(&e, &ids, 3).await["id"].as_i64().unwrap();
    let (stranger, _) = e.app.owner_login("openid-stranger").await;
    let path = format!("/api/v1/me/installment-plans/{id}");
    assert_eq!(e.app.delete(&path, Some(&stranger), &json!({})).await.status(), 404);
    let r = e.app.delete(&path, Some(&e.owner), &json!({})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "withdrawn");
    assert_error(
        e.app.delete(&path, Some(&e.owner), &json!({})).await,
        409,
        "PLAN_NOT_OPEN",
    )
    .await;
    assert_error(
        decide(&e, &e.admin, id, "approve", json!({})).await,
        409,
        "PLAN_NOT_REQUESTED",
    )
    .await;
    asked(&e, &ids, 3).await;
}

#[tokio::test]
async fn a_request_whose_bills_changed_cannot_be_approved() {
    let (e, ids) = billed().await;
    let id = asked(&e, &ids, 3).await["id"].as_i64().unwrap();
    // October is paid at the counter after the request.
    let r = e
        .app
        .post(
            "/api/v1/staff/payments/counter",
            Some(&e.admin),
            &json!({"bill_ids": [ids[1]], "method": "cash", "reference": "收据0009"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    assert_error(decide(&e, &e.admin, id, "approve", json!({})).await, 409, "PLAN_STALE").await;
    let mine: Vec<Value> = e.app.get_json("/api/v1/me/installment-plans", Some(&e.owner)).await;
    assert_eq!(mine[0]["status"], "requested");
}

#[tokio::test]
async fn finance_decides_requests_on_the_console_page() {
    let (e, ids) = billed().await;
    let first = asked(&e, &[ids[0]], 3).await["id"].as_i64().unwrap();
    let second = asked(&e, &[ids[1]], 3).await["id"].as_i64().unwrap();
    e.app.staff_member(&e.admin, "fin", "finance", &[e.community]).await;
    e.app
        .staff_member(&e.admin, "collector1", "collector", &[e.community])
        .await;
    let fin = crate::console::sign_in(&e.app, "fin", "long-enough-pw").await;
    let path = format!("/console/installments?community_id={}", e.community);
    let (status, html) = crate::console::page(&e.app, &path, &fin).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("id=\"installments-link\""),
        "finance is pointed at the page"
    );
    assert!(
        html.contains(&format!("action=\"/console/installments/{first}/approve\"")),
        "{html}"
    );
    // 223.75 over 3: 74.59 and twice 74.58.
    assert!(
        html.contains("第1期 2026-11-20 ¥74.59") && html.contains("第3期 2027-01-20 ¥74.58"),
        "{html}"
    );
    assert!(html.contains("近期失业，收入暂时中断"));
    let csrf = crate::console::hidden_csrf(&html);
    let post = |action: String, body: String| {
        let (app, fin) = (&e.app, &fin);
        async move {
            app.http
                .post(app.url(&action))
                .header(reqwest::header::COOKIE, fin)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let approve = format!("/console/installments/{first}/approve");
    let reject = format!("/console/installments/{second}/reject");
    assert_eq!(post(approve.clone(), "csrf=forged".into()).await.status(), 403);
    let r = post(approve, format!("csrf={csrf}&community_id={}", e.community)).await;
    assert_eq!(r.status(), 303);
    // Not approving needs a reason, shown on the page; nothing changes.
    let r = post(
        reject.clone(),
        format!("csrf={csrf}&community_id={}&reason=", e.community),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("原因不能为空"));
    let r = post(
        reject,
        format!(
            "csrf={csrf}&community_id={}&reason=%E8%AF%B7%E5%85%88%E7%BC%B4%E6%B8%85",
            e.community
        ),
    )
    .await;
    assert_eq!(r.status(), 303);
    let plans: Vec<Value> = e
        .app
        .get_json(
            &format!("/api/v1/staff/installment-plans?community_id={}", e.community),
            Some(&e.admin),
        )
        .await;
    let status_of = |id: i64| plans.iter().find(|p| p["id"] == id).unwrap()["status"].clone();
    assert_eq!(
        (status_of(first), status_of(second)),
        (json!("approved"), json!("rejected"))
    );
    let (_, html) = crate::console::page(&e.app, &path, &fin).await;
    assert!(html.contains("请先缴清") && !html.contains(&format!("/console/installments/{first}/approve")));
    // A collector does not decide plans.
    let collector = crate::console::sign_in(&e.app, "collector1", "long-enough-pw").await;
    let (status, _) = crate::console::page(&e.app, &path, &collector).await;
    assert_eq!(status, 403);
}
