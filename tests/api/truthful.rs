//! What owners, auditors and courts read must be true: dated late-fee terms, due dates that give
//! notice, days overdue that stop at settlement.
use crate::bills::{estate, my_bills, run, Estate};
use crate::helpers::*;
use serde_json::{json, Value};

fn by_period<'a>(bills: &'a [Value], period: &str) -> &'a Value {
    bills.iter().find(|b| b["period"] == period).unwrap()
}

async fn counter_pay(e: &Estate, bill: i64) {
    let r = e
        .app
        .post(
            "/api/v1/staff/payments/counter",
            Some(&e.admin),
            &json!({"bill_ids": [bill], "method": "cash", "reference": "收据0001"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn late_fee_terms_are_dated_and_never_retroactive() {
    let e = estate().await;
    run(&e.app, &e.admin, e.community, "2026-09").await;
    run(&e.app, &e.admin, e.community, "2026-10").await;
    // 2026-10-20: September (due 09-10) owes 25 days × 223.75 × 0.0005 = 2.80; it is paid at the counter.
    let sep = by_period(&my_bills(&e.app, &e.owner, "all").await, "2026-09").clone();
    assert_eq!(sep["late_fee"], "2.80");
    counter_pay(&e, sep["id"].as_i64().unwrap()).await;

    // Terms cannot start in the past.
    let terms = |rate: &str, grace: i64, cap: &str, from: &str| json!({"daily_rate": rate, "grace_days": grace, "cap_ratio": cap, "effective_from": from});
    let url = format!("/api/v1/staff/communities/{}/late-fee-terms", e.community);
    let r = e
        .app
        .post(&url, Some(&e.admin), &terms("0.0003", 30, "0.10", "2026-10-19"))
        .await;
    let v = assert_error(r, 422, "VALIDATION_FAILED").await;
    assert!(v["details"]["fields"]["effective_from"].is_string(), "{v}");
    let r = e
        .app
        .post(&url, Some(&e.admin), &terms("0.5", 30, "0.10", "2026-11-01"))
        .await;
    let v = assert_error(r, 422, "VALIDATION_FAILED").await;
    assert!(v["details"]["fields"]["daily_rate"].is_string(), "{v}");
    let (_, finance) = e.app.staff_member(&e.admin, "cashier", "finance", &[e.community]).await;
    assert_error(
        e.app
            .post(&url, Some(&finance), &terms("0.0003", 30, "0.10", "2026-11-01"))
            .await,
        403,
        "FORBIDDEN",
    )
    .await;

    // The old form: new terms from today (万分之一), then dated terms from 11-01 (万分之三, grace 30, cap 10 %).
    let r = e
        .app
        .patch(
            &format!("/api/v1/staff/communities/{}", e.community),
            Some(&e.admin),
            &json!({"late_fee": {"daily_rate": "0.0001", "grace_days": 15, "cap_ratio": "1.00"}}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = e
        .app
        .post(&url, Some(&e.admin), &terms("0.0003", 30, "0.10", "2026-11-01"))
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let c: Value = r.json().await.unwrap();
    assert_eq!(c["late_fee"]["daily_rate"], "0.0001", "in force today");
    let history: Vec<_> = c["late_fee_terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["daily_rate"].as_str().unwrap().to_string(),
                t["effective_from"].clone(),
            )
        })
        .collect();
    assert_eq!(
        history,
        vec![
            ("0.0005".into(), Value::Null),
            ("0.0001".into(), json!("2026-10-20")),
            ("0.0003".into(), json!("2026-11-01"))
        ]
    );

    // What was paid is never recomputed: September still shows the 2.80 it paid.
    let sep_now = by_period(&my_bills(&e.app, &e.owner, "all").await, "2026-09").clone();
    assert_eq!(
        (&sep_now["late_fee"], &sep_now["paid"], &sep_now["amount_due"]),
        (&json!("2.80"), &json!("226.55"), &json!("0.00"))
    );

    // October (due 10-10, so grace 15 and cap 100 % of the terms then): 10-26..10-31 at 万分之一,
    // 11-01..11-09 at 万分之三: 22375 × (6 × 0.0001 + 9 × 0.0003) = 73.8 fen → 0.74.
    e.app.clock.advance(chrono::Duration::days(20));
    let oct = by_period(&my_bills(&e.app, &e.owner, "unpaid").await, "2026-10").clone();
    assert_eq!(oct["late_fee"], "0.74");
    assert_eq!(
        oct["late_fee_explanation"],
        "宽限期后自2026-10-26起计收15天，2026-10-26至2026-10-31按日万分之一，2026-11-01起按日万分之三，上限为本金的100%"
    );
    // Every change is audited.
    assert_eq!(
        e.app.count("audit_log WHERE action = 'community.late_fee_terms'").await,
        2
    );
}

#[tokio::test]
async fn nobody_is_late_before_being_billed() {
    let e = estate().await;
    // Billing September today (2026-10-20): due 15 days after issue, nominal date kept beside it.
    let r = e
        .app
        .post(
            "/api/v1/staff/billing-runs",
            Some(&e.admin),
            &json!({"community_id": e.community, "period": "2026-09"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let sep = by_period(&my_bills(&e.app, &e.owner, "all").await, "2026-09").clone();
    assert_eq!(
        (&sep["due_date"], &sep["nominal_due_date"], &sep["issued_on"]),
        (&json!("2026-11-04"), &json!("2026-09-10"), &json!("2026-10-20"))
    );
    assert_eq!((&sep["late_fee"], &sep["days_overdue"]), (&json!("0.00"), &json!(0)));
    let arrears: Value = e.app.get_json("/api/v1/me/arrears", Some(&e.owner)).await;
    assert_eq!(arrears["bills"], 0);
    let r: Value = e
        .app
        .post(
            "/api/v1/staff/reminder-runs",
            Some(&e.admin),
            &json!({"community_id": e.community}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["sent"], 0, "{r}");
    assert_eq!(e.app.count("reminders").await, 0);

    // Opening arrears from an earlier system keep their due dates: issued_on, audited, not in the future.
    let body = |d: &str| json!({"community_id": e.community, "period": "2026-08", "issued_on": d});
    let r = e
        .app
        .post("/api/v1/staff/billing-runs", Some(&e.admin), &body("2026-10-21"))
        .await;
    let v = assert_error(r, 422, "VALIDATION_FAILED").await;
    assert!(v["details"]["fields"]["issued_on"].is_string());
    let r = e
        .app
        .post("/api/v1/staff/billing-runs", Some(&e.admin), &body("2026-07-20"))
        .await;
    assert_eq!(r.status(), 201);
    let aug = by_period(&my_bills(&e.app, &e.owner, "all").await, "2026-08").clone();
    assert_eq!(
        (&aug["due_date"], &aug["issued_on"]),
        (&json!("2026-08-10"), &json!("2026-07-20"))
    );
    assert!(aug.get("nominal_due_date").is_none(), "{aug}");
    assert_ne!(aug["late_fee"], "0.00");
    assert_eq!(e.app.count("audit_log WHERE action = 'billing_run.issued_on'").await, 1);
}

#[tokio::test]
async fn the_scheduler_issues_early_enough_to_keep_nominal_due_dates() {
    let e = estate().await;
    // A fee due on the 1st needs its bills issued by 15 days before: 10-17, not the 25th.
    crate::bills::fee_item(
        &e.app,
        &e.admin,
        json!({"community_id": e.community, "name": "车位费", "kind": "fixed", "unit_price": "150",
               "cycle": "monthly", "due_day": 1, "applies_to": {"unit_ids": [e.unit]}}),
    )
    .await;
    e.app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-10-16T02:00:00Z")
            .unwrap()
            .into(),
    );
    assert_eq!(wuye::scheduler::billing_tick(&e.app.state).await.unwrap(), 0);
    e.app.clock.advance(chrono::Duration::days(1));
    assert_eq!(wuye::scheduler::billing_tick(&e.app.state).await.unwrap(), 2);
    let bills = my_bills(&e.app, &e.owner, "all").await;
    for b in &bills {
        assert_eq!(b["period"], "2026-11");
        assert!(
            b.get("nominal_due_date").is_none(),
            "routine bills keep their nominal due date: {b}"
        );
        assert_eq!(b["issued_on"], "2026-10-17");
    }
    let mut due: Vec<_> = bills
        .iter()
        .map(|b| b["due_date"].as_str().unwrap().to_string())
        .collect();
    due.sort();
    assert_eq!(due, vec!["2026-11-01", "2026-11-10"]);
}

#[tokio::test]
async fn days_overdue_stop_when_a_bill_is_settled() {
    let e = estate().await;
    run(&e.app, &e.admin, e.community, "2026-09").await;
    let sep = by_period(&my_bills(&e.app, &e.owner, "all").await, "2026-09").clone();
    assert_eq!(sep["days_overdue"], 40);
    counter_pay(&e, sep["id"].as_i64().unwrap()).await;
    e.app.clock.advance(chrono::Duration::days(25));
    let sep = by_period(&my_bills(&e.app, &e.owner, "all").await, "2026-09").clone();
    assert_eq!((&sep["status"], &sep["days_overdue"]), (&json!("paid"), &json!(40)));
    let admin = e.app.admin_token().await;
    let staff: Value = e
        .app
        .get_json(&format!("/api/v1/staff/bills/{}", sep["id"]), Some(&admin))
        .await;
    assert_eq!(staff["days_overdue"], 40, "{staff}");
}
