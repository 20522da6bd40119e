//! Instant answers (issue #14 item 8): an enquiry about what is owed, a late fee or a receipt is
//! answered at once from the owner's own figures — the same amounts their bills and payments show —
//! with no SLA clock; "转人工" (or a reply) hands it to staff and starts the clock then; an enquiry
//! no rule recognises goes straight to staff.
use crate::helpers::*;
use crate::reminders::estate_without_channels;
use crate::tickets::{household, open, tick};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

fn at(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn an_enquiry_is_answered_from_the_owners_own_bills_until_they_ask_for_staff() {
    let mut e = estate_without_channels().await;
    let (unit, owner) = household(&e, "Q-1", "13900000031").await;
    e.bill_due(unit, 40).await;
    e.bill_due(unit, 10).await;
    let bills: Vec<Value> = e.app.get_json("/api/v1/me/bills?status=unpaid", Some(&owner)).await;
    assert_eq!(bills.len(), 2);
    let t = open(
        &e.app,
        &owner,
        json!({"category": "enquiry", "title": "物业费欠多少钱", "body": "想确认一下", "unit_id": unit}),
    )
    .await;
    let id = t["id"].as_i64().unwrap();
    assert_eq!(t["status"], "answered");
    assert!(
        t["first_response_due_at"].is_null() && t["resolution_due_at"].is_null(),
        "{t}"
    );
    let answer = &t["messages"][1];
    assert_eq!(answer["author"], "system");
    assert_eq!(answer["author_name"], "智能客服");
    assert_eq!(answer["link"], "pages/bills/index");
    let text = answer["body"].as_str().unwrap();
    // The same amounts the owner's bills show, each and in total.
    let mut total = rust_decimal::Decimal::ZERO;
    for b in &bills {
        let due = b["amount_due"].as_str().unwrap();
        assert!(text.contains(&format!("应缴{due}元")), "{text} lacks {due}");
        total += due.parse::<rust_decimal::Decimal>().unwrap();
    }
    assert!(text.contains(&format!("共有2笔待缴费用，合计{total:.2}元")), "{text}");
    assert!(text.contains("转人工"));
    // No staff needed: not in the queue, and no clock runs for it.
    let q: Value = e.app.get_json("/api/v1/staff/tickets", Some(&e.admin)).await;
    assert_eq!(q["total"], 0, "{q}");
    e.advance(Duration::hours(30)).await;
    assert_eq!(tick(&e.app).await.unwrap().breached, 0);
    // "转人工": the clock starts now, and the queue has it.
    let r = e
        .app
        .post(&format!("/api/v1/me/tickets/{id}/handoff"), Some(&owner), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "open");
    assert_eq!(
        at(&v["first_response_due_at"]),
        t0() + Duration::hours(30) + Duration::hours(24)
    );
    let q: Value = e.app.get_json("/api/v1/staff/tickets", Some(&e.admin)).await;
    assert_eq!(q["total"], 1);
    // Handing off again changes nothing.
    let again: Value = e
        .app
        .post(&format!("/api/v1/me/tickets/{id}/handoff"), Some(&owner), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["first_response_due_at"], v["first_response_due_at"]);
    // The answer is evidence of what the owner was told.
    let stages: Vec<String> = e
        .evidence(unit)
        .await
        .iter()
        .filter(|r| r["kind"] == "ticket")
        .map(|r| r["stage"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(stages, ["ticket_opened", "ticket_answered"]);
}

#[tokio::test]
async fn receipts_late_fees_replies_and_unknown_questions() {
    let e = estate_without_channels().await;
    let (unit, owner) = household(&e, "Q-2", "13900000032").await;
    let bill = e.bill_due(unit, 5).await;
    // A question no rule knows goes to staff at once.
    let t = open(
        &e.app,
        &owner,
        json!({"category": "enquiry", "title": "小区什么时候停水检修", "body": "请告知", "unit_id": unit}),
    )
    .await;
    assert_eq!(t["status"], "open");
    assert_eq!(at(&t["first_response_due_at"]), t0() + Duration::hours(24));
    // No payment yet: the receipt answer says so; after a counter payment it names the receipt.
    let none = open(
        &e.app,
        &owner,
        json!({"category": "enquiry", "title": "收据", "body": "要一张收据", "unit_id": unit}),
    )
    .await;
    assert!(none["messages"][1]["body"]
        .as_str()
        .unwrap()
        .starts_with("您还没有已完成的缴费记录"));
    let r = e
        .app
        .post(
            "/api/v1/staff/payments/counter",
            Some(&e.admin),
            &json!({"bill_ids": [bill], "method": "cash", "reference": "R-9"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let mine: Vec<Value> = e.app.get_json("/api/v1/me/payments", Some(&owner)).await;
    let receipt_no = mine[0]["receipt_no"].as_str().unwrap().to_string();
    let t = open(
        &e.app,
        &owner,
        json!({"category": "enquiry", "title": "缴费收据在哪看", "body": "想要收据", "unit_id": unit}),
    )
    .await;
    let text = t["messages"][1]["body"].as_str().unwrap();
    assert!(text.contains(&format!("收据号{receipt_no}")), "{text}");
    assert!(
        text.contains(&format!("缴费{}元", mine[0]["amount"].as_str().unwrap())),
        "{text}"
    );
    assert_eq!(t["messages"][1]["link"], "pages/payments/index");
    // Nothing left owed: the late-fee answer says there is none.
    // An empty body is refused.
    let r = e
        .app
        .post(
            "/api/v1/me/tickets",
            Some(&owner),
            &json!({"category": "enquiry", "title": "滞纳金怎么算", "body": " ", "unit_id": unit}),
        )
        .await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
    // Nothing left owed: the late-fee answer says there is none.
    let t = open(
        &e.app,
        &owner,
        json!({"category": "enquiry", "title": "滞纳金怎么算", "body": "看不懂", "unit_id": unit}),
    )
    .await;
    assert!(t["messages"][1]["body"].as_str().unwrap().contains("没有产生滞纳金"));
    // Replying to an answer asks for staff: the ticket joins the queue with the reply.
    let id = t["id"].as_i64().unwrap();
    let r = e
        .app
        .post(
            &format!("/api/v1/me/tickets/{id}/messages"),
            Some(&owner),
            &json!({"body": "上个月的滞纳金为什么是这个数？"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "open");
    assert!(v["first_response_due_at"].is_string());
}
