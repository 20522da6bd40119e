//! Hardship cases (issue #17, 困难减免): an owner asks with evidence photos; finance grants a
//! percentage reduction or a deferral for a window, with approver and reason, or refuses; the
//! relief reaches the bills of the window through the ledger — those due now and those issued
//! later, once each, also with two replicas — reminders pause meanwhile, a deferral leaves
//! limitation alone until the owner signs the acknowledgment, and a review task comes up when the
//! window is over.
use crate::bills::{estate, my_bills, run, Estate};
use crate::helpers::*;
use crate::tickets::upload;
use serde_json::{json, Value};
use wuye::services::plans::hardship::{tick, Pass};

const UA: &str = "Mozilla/5.0 (Android) MicroMessenger/8.0.50 miniProgram";

/// September and October billed (223.75 each; today 2026-10-20).
async fn billed() -> Estate {
    let e = estate().await;
    run(&e.app, &e.admin, e.community, "2026-09").await;
    run(&e.app, &e.admin, e.community, "2026-10").await;
    e
}

fn at(e: &Estate, local: &str) {
    let t = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap();
    e.app.clock.set(t.and_utc() - chrono::Duration::hours(8));
}

async fn ask(e: &Estate, category: &str) -> Value {
    ask_as(e, &e.owner, category).await
}

async fn ask_as(e: &Estate, owner: &str, category: &str) -> Value {
    let photo = upload(&e.app, "/api/v1/me/uploads", owner).await;
    let r = e
        .app
        .post(
            "/api/v1/me/hardship-requests",
            Some(owner),
            &json!({"category": category, "reason": "家庭收入骤减，持有相关证明", "upload_ids": [photo]}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    r.json().await.unwrap()
}

async fn decide(e: &Estate, id: &Value, what: &str, body: Value) -> reqwest::Response {
    e.app
        .post(
            &format!("/api/v1/staff/hardship-cases/{id}/{what}"),
            Some(&e.admin),
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

async fn remind(e: &Estate) -> Value {
    let admin = e.app.admin_token().await;
    e.app
        .post(
            "/api/v1/staff/reminder-runs",
            Some(&admin),
            &json!({"community_id": e.community}),
        )
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_reduction_takes_its_percentage_off_the_window_s_bills_now_and_as_they_are_issued() {
    let e = billed().await;
    let (_, finance) = e.app.staff_member(&e.admin, "fin", "finance", &[e.community]).await;
    let c = ask(&e, "dibao").await;
    assert_eq!(
        (c["status"].as_str(), c["category_label"].as_str(), c["unit"].as_str()),
        (Some("requested"), Some("低保家庭"), Some("A A-1-101"))
    );
    let photo = c["photo_ids"][0].as_i64().unwrap();
    // One live case per unit.
    let again = upload(&e.app, "/api/v1/me/uploads", &e.owner).await;
    let r = e
        .app
        .post(
            "/api/v1/me/hardship-requests",
            Some(&e.owner),
            &json!({"category": "dibao", "reason": "再次申请", "upload_ids": [again]}),
        )
        .await;
    assert_error(r, 409, "HARDSHIP_EXISTS").await;
    // The photo: its owner and finance see it; finance is told of the request.
    let path = |who: &str| format!("/api/v1/{who}/hardship-cases/{}/photos/{photo}", c["id"]);
    assert_eq!(e.app.get(&path("me"), Some(&e.owner)).await.status(), 200);
    assert_eq!(e.app.get(&path("staff"), Some(&finance)).await.status(), 200);
    let inbox: Value = e.app.get_json("/api/v1/staff/inbox", Some(&finance)).await;
    assert!(
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "hardship_requested"),
        "{inbox}"
    );
    // While it is decided, the unit is not chased (September is 40 days overdue).
    let run_now = remind(&e).await;
    assert_eq!(
        (run_now["sent"].as_i64(), run_now["tasks"].as_i64()),
        (Some(0), Some(0)),
        "{run_now}"
    );

    // Bad decisions change nothing.
    for (body, field) in [
        (
            json!({"relief": "reduction", "percent": "0", "starts_on": "2026-10-01", "ends_on": "2027-03-31", "reason": "属实"}),
            "percent",
        ),
        (
            json!({"relief": "reduction", "percent": "30", "starts_on": "2026-10-01", "ends_on": "2026-09-30", "reason": "属实"}),
            "ends_on",
        ),
        (
            json!({"relief": "reduction", "percent": "30", "starts_on": "2026-10-01", "ends_on": "2027-10-01", "reason": "属实"}),
            "ends_on",
        ),
        (
            json!({"relief": "deferral", "starts_on": "2026-10-01", "ends_on": "2027-03-31", "reason": "属实"}),
            "defer_to",
        ),
    ] {
        let v = assert_error(decide(&e, &c["id"], "approve", body).await, 422, "VALIDATION_FAILED").await;
        assert!(v["details"]["fields"][field].is_string(), "{v}");
    }
    let r = decide(
        &e,
        &c["id"],
        "approve",
        json!({"relief": "reduction", "percent": "30", "starts_on": "2026-10-01", "ends_on": "2027-03-31", "reason": "低保证核验属实"}),
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["relief_label"], "2026-10-01至2027-03-31到期的物业费减免30%");
    assert_eq!(
        (
            a["ends_on"].as_str(),
            a["decided_by"].as_str().map(|s| s.starts_with("staff:"))
        ),
        (Some("2027-03-31"), Some(true))
    );
    assert_error(
        decide(&e, &c["id"], "reject", json!({"reason": "改判"})).await,
        409,
        "HARDSHIP_DECIDED",
    )
    .await;
    // October (due 10-10) is in the window: 223.75 less 30 % (67.125, half-up 67.13) is 156.62.
    // September (due 09-10) is not.
    let bills = my_bills(&e.app, &e.owner, "all").await;
    assert_eq!(bill(&bills, "2026-10")["principal"], "156.62");
    assert_eq!(bill(&bills, "2026-09")["principal"], "223.75");
    // November is issued later: the pass reduces it, once.
    run(&e.app, &e.admin, e.community, "2026-11").await;
    assert_eq!(
        bill(&my_bills(&e.app, &e.owner, "all").await, "2026-11")["principal"],
        "223.75"
    );
    assert_eq!(tick(&e.app.state).await.unwrap(), Pass { applied: 1, ended: 0 });
    assert_eq!(tick(&e.app.state).await.unwrap(), Pass::default());
    assert_eq!(
        bill(&my_bills(&e.app, &e.owner, "all").await, "2026-11")["principal"],
        "156.62"
    );
    // December with two replicas at once: reduced once.
    run(&e.app, &e.admin, e.community, "2026-12").await;
    let replica = e.app.replica().await;
    let (x, y) = tokio::join!(tick(&e.app.state), tick(&replica.state));
    assert_eq!(x.unwrap().applied + y.unwrap().applied, 1);
    assert_eq!(
        bill(&my_bills(&e.app, &e.owner, "all").await, "2026-12")["principal"],
        "156.62"
    );
    assert_eq!(e.app.count("hardship_case_bills").await, 3);
    // The collection report counts October's reduced principal.
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
    assert_eq!(report["receivable"], "156.62", "{report}");
    let mine: Vec<Value> = e.app.get_json("/api/v1/me/hardship-cases", Some(&e.owner)).await;
    assert_eq!(mine[0]["bills"].as_array().unwrap().len(), 3);
    assert_eq!(mine[0]["bills"][0]["reduced"], "67.13");

    // The window ends: the case ends by itself, finance gets a review task, chasing resumes.
    at(&e, "2027-04-01 10:00");
    assert_eq!(tick(&e.app.state).await.unwrap(), Pass { applied: 0, ended: 1 });
    let finance = {
        let r = e.app.staff_login("fin", "long-enough-pw").await;
        r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
    };
    let inbox: Value = e.app.get_json("/api/v1/staff/inbox", Some(&finance)).await;
    assert!(
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "hardship_review"),
        "{inbox}"
    );
    let (owner, _) = e.app.owner_login("openid-zhang").await;
    let mine: Vec<Value> = e.app.get_json("/api/v1/me/hardship-cases", Some(&owner)).await;
    assert_eq!(
        (mine[0]["status"].as_str(), mine[0]["status_label"].as_str()),
        (Some("ended"), Some("已到期，待复核"))
    );
    let admin = e.app.admin_token().await;
    let review = |body: Value| {
        let (app, admin, id) = (&e.app, admin.clone(), c["id"].clone());
        async move {
            app.post(
                &format!("/api/v1/staff/hardship-cases/{id}/review"),
                Some(&admin),
                &body,
            )
            .await
        }
    };
    let r = review(json!({"reason": "已电话回访，业主仍为低保户，建议重新申请"})).await;
    assert_eq!(r.status(), 200);
    assert_error(
        review(json!({"reason": "再次复核"})).await,
        409,
        "HARDSHIP_NOT_DUE_FOR_REVIEW",
    )
    .await;
    let resumed = remind(&e).await;
    assert!(
        resumed["sent"].as_i64().unwrap() + resumed["tasks"].as_i64().unwrap() >= 1,
        "{resumed}"
    );
    // A new case whose window overlaps the old one's relieves no bill twice: December, reduced
    // by the first case and still unpaid, stays as it was.
    let again = ask_as(&e, &owner, "dibao").await;
    let r = e
        .app
        .post(
            &format!("/api/v1/staff/hardship-cases/{}/approve", again["id"]),
            Some(&admin),
            &json!({"relief": "reduction", "percent": "50", "starts_on": "2026-12-01", "ends_on": "2027-06-30", "reason": "仍为低保户"}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    assert_eq!(
        bill(&my_bills(&e.app, &owner, "all").await, "2026-12")["principal"],
        "156.62"
    );
    assert_eq!(e.app.count("hardship_case_bills").await, 3);
    crate::rollup::assert_rollup_is_recomputation(&e.app, e.community).await;
}

#[tokio::test]
async fn a_deferral_moves_due_dates_and_limitation_restarts_only_when_the_owner_acknowledges() {
    let e = billed().await;
    let c = ask(&e, "sudden_crisis").await;
    let r = decide(
        &e,
        &c["id"],
        "approve",
        json!({"relief": "deferral", "defer_to": "2027-02-28", "starts_on": "2026-09-01", "ends_on": "2026-12-31", "reason": "突发重病住院"}),
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["relief_label"], "2026-09-01至2026-12-31到期的物业费缓缴至2027-02-28");
    // Both bills now fall due on 2027-02-28: no late fee, not overdue.
    let bills = my_bills(&e.app, &e.owner, "all").await;
    for p in ["2026-09", "2026-10"] {
        let b = bill(&bills, p);
        assert_eq!(
            (
                b["due_date"].as_str(),
                b["late_fee"].as_str(),
                b["days_overdue"].as_i64(),
                b["amount_due"].as_str()
            ),
            (Some("2027-02-28"), Some("0.00"), Some(0), Some("223.75")),
            "{b}"
        );
    }
    // Limitation still runs from the old due dates.
    assert_eq!(e.app.count("bills WHERE limitation_from = '2026-09-10'").await, 1);
    assert_eq!(e.app.count("bills WHERE limitation_from = '2026-10-10'").await, 1);
    // The acknowledgment: the text read, once.
    let ack = |sha: String| {
        let (app, owner, id) = (&e.app, e.owner.clone(), a["id"].clone());
        async move {
            app.http
                .post(app.url(&format!("/api/v1/me/hardship-cases/{id}/acknowledge")))
                .bearer_auth(&owner)
                .header("User-Agent", UA)
                .json(&json!({"ack_sha256": sha}))
                .send()
                .await
                .unwrap()
        }
    };
    assert!(a["ack_text"].as_str().unwrap().contains("同意于2027-02-28前缴清"));
    assert_error(ack("0".repeat(64)).await, 409, "AGREEMENT_MISMATCH").await;
    let r = ack(a["ack_sha256"].as_str().unwrap().to_string()).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    assert!(r.json::<Value>().await.unwrap()["acknowledged_at"].is_string());
    assert_eq!(e.app.count("bills WHERE limitation_from = '2026-10-20'").await, 2);
    assert_error(
        ack(a["ack_sha256"].as_str().unwrap().to_string()).await,
        409,
        "NOTHING_TO_ACKNOWLEDGE",
    )
    .await;
    let evidence: Vec<Value> = e
        .app
        .get_json(&format!("/api/v1/staff/units/{}/evidence", e.unit), Some(&e.admin))
        .await;
    let signed = evidence
        .iter()
        .find(|r| r["result"] == "acknowledged")
        .expect("evidence");
    assert!(signed["content"].as_str().unwrap().contains(UA));
    assert!(evidence
        .iter()
        .any(|r| r["kind"] == "hardship" && r["result"] == "applied"));
    // Deferred bills moved report months; the rollup kept up.
    crate::rollup::assert_rollup_is_recomputation(&e.app, e.community).await;
}

#[tokio::test]
async fn a_refusal_frees_the_unit_withdrawal_is_once_a_full_reduction_cancels_and_switched_off_is_409() {
    let e = billed().await;
    let c = ask(&e, "disability").await;
    assert_error(
        decide(&e, &c["id"], "reject", json!({"reason": " "})).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    let r = decide(
        &e,
        &c["id"],
        "reject",
        json!({"reason": "证明材料不清晰，请补充后重新申请"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let mine: Vec<Value> = e.app.get_json("/api/v1/me/hardship-cases", Some(&e.owner)).await;
    assert_eq!(
        (mine[0]["status_label"].as_str(), mine[0]["decision_reason"].as_str()),
        (Some("未批准"), Some("证明材料不清晰，请补充后重新申请"))
    );
    // Asked again, withdrawn once.
    let c = ask(&e, "disability").await;
    let r = e
        .app
        .delete(
            &format!("/api/v1/me/hardship-cases/{}", c["id"]),
            Some(&e.owner),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = e
        .app
        .delete(
            &format!("/api/v1/me/hardship-cases/{}", c["id"]),
            Some(&e.owner),
            &json!({}),
        )
        .await;
    assert_error(r, 409, "HARDSHIP_DECIDED").await;
    // 100 % off a bill nothing was paid on cancels it.
    let c = ask(&e, "serious_illness").await;
    let r = decide(
        &e,
        &c["id"],
        "approve",
        json!({"relief": "reduction", "percent": "100", "starts_on": "2026-10-01", "ends_on": "2026-10-31", "reason": "重病全免"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let bills = my_bills(&e.app, &e.owner, "all").await;
    assert_eq!(bill(&bills, "2026-10")["status"], "cancelled");
    assert_eq!(bill(&bills, "2026-09")["status"], "unpaid");
    // A community with hardship help switched off takes no requests.
    let r = e
        .app
        .patch(
            &format!("/api/v1/staff/communities/{}", e.community),
            Some(&e.admin),
            &json!({"features": {"hardship": false}}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let photo = upload(&e.app, "/api/v1/me/uploads", &e.owner).await;
    let r = e
        .app
        .post(
            "/api/v1/me/hardship-requests",
            Some(&e.owner),
            &json!({"category": "dibao", "reason": "低保", "upload_ids": [photo]}),
        )
        .await;
    assert_error(r, 409, "HARDSHIP_OFF").await;
}

#[tokio::test]
async fn finance_decides_and_reviews_cases_on_the_console_page() {
    use crate::console::{hidden_csrf, page, post_form, sign_in};
    let e = billed().await;
    e.app.staff_member(&e.admin, "fin", "finance", &[e.community]).await;
    let c = ask(&e, "dibao").await;
    let (id, photo) = (c["id"].as_i64().unwrap(), c["photo_ids"][0].as_i64().unwrap());
    let fin = sign_in(&e.app, "fin", "long-enough-pw").await;
    let path = format!("/console/hardship?community_id={}", e.community);
    let (status, html) = page(&e.app, &path, &fin).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"hardship-link\""), "finance is pointed at the page");
    assert!(
        html.contains(&format!("action=\"/console/hardship/{id}/approve\"")),
        "{html}"
    );
    assert!(html.contains("低保家庭") && html.contains("家庭收入骤减"), "{html}");
    // The evidence photo opens from the page.
    let r = e
        .app
        .http
        .get(e.app.url(&format!("/console/hardship/{id}/photos/{photo}")))
        .header(reqwest::header::COOKIE, &fin)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), r.headers()["content-type"].to_str().unwrap()),
        (200, "image/png")
    );
    let csrf = hidden_csrf(&html);
    let community = e.community.to_string();
    let approve = format!("/console/hardship/{id}/approve");
    // A reduction without a window is refused on the page; nothing changes.
    let (status, _, body) = post_form(
        &e.app,
        &approve,
        &fin,
        &[
            ("csrf", &csrf),
            ("community_id", &community),
            ("relief", "reduction"),
            ("percent", "30"),
            ("reason", "属实"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("请填写日期"), "{body}");
    let (status, location, _) = post_form(
        &e.app,
        &approve,
        &fin,
        &[
            ("csrf", &csrf),
            ("community_id", &community),
            ("relief", "reduction"),
            ("percent", "30"),
            ("defer_to", ""),
            ("starts_on", "2026-10-01"),
            ("ends_on", "2026-12-31"),
            ("reason", "低保证核验属实"),
        ],
    )
    .await;
    assert_eq!(
        (status, location.ends_with(&format!("#case-{id}"))),
        (303, true),
        "{location}"
    );
    let (_, html) = page(&e.app, &path, &fin).await;
    assert!(html.contains("2026-10-01至2026-12-31到期的物业费减免30%"), "{html}");
    assert!(html.contains("2026-10 减¥67.13"), "{html}");
    // After the window, the review form; reviewed once.
    at(&e, "2027-01-01 10:00");
    assert_eq!(tick(&e.app.state).await.unwrap().ended, 1);
    let fin = sign_in(&e.app, "fin", "long-enough-pw").await;
    let (_, html) = page(&e.app, &path, &fin).await;
    assert!(
        html.contains(&format!("action=\"/console/hardship/{id}/review\"")) && html.contains("已到期，待复核"),
        "{html}"
    );
    let csrf = hidden_csrf(&html);
    let (status, _, _) = post_form(
        &e.app,
        &format!("/console/hardship/{id}/review"),
        &fin,
        &[
            ("csrf", &csrf),
            ("community_id", &community),
            ("reason", "已回访，情况好转"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (_, html) = page(&e.app, &path, &fin).await;
    assert!(html.contains("已回访，情况好转") && !html.contains("待复核"), "{html}");
}
