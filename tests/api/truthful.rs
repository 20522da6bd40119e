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
    // Read once between the two changes, so the second must be seen past what look-ups remember
    // of the first (`billing::bills::TermsMemo`).
    let oct_before = by_period(&my_bills(&e.app, &e.owner, "unpaid").await, "2026-10").clone();
    assert_eq!(oct_before["late_fee"], "0.00", "still in grace on 10-20");
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

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().into()
}

/// (bill, owner) pairs by the SQL form of the ownership rule, and by the Rust form over the same rows.
async fn ownership_both_ways(app: &TestApp) -> (Vec<(i32, i32)>, Vec<(i32, i32)>) {
    use sea_orm::{ConnectionTrait, EntityTrait, Statement};
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            app.db.get_database_backend(),
            format!(
                "SELECT b.id AS bill_id, uo.owner_id AS owner_id FROM bills b {} ORDER BY b.id, uo.owner_id",
                wuye::domain::billing::ownership::BILL_OWNER_JOIN
            ),
        ))
        .await
        .unwrap();
    let sql: Vec<(i32, i32)> = rows
        .iter()
        .map(|r| (r.try_get("", "bill_id").unwrap(), r.try_get("", "owner_id").unwrap()))
        .collect();
    let links: Vec<_> = entity::unit_owner::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(wuye::services::billing::bills::link_of)
        .collect();
    let mut rust = Vec::new();
    for b in entity::bill::Entity::find().all(&app.db).await.unwrap() {
        for l in links.iter().filter(|l| l.unit_id == b.unit_id) {
            if wuye::domain::billing::ownership::owns(l, &links, b.period_start) {
                rust.push((b.id, l.owner_id));
            }
        }
    }
    rust.sort_unstable();
    (sql, rust)
}

#[tokio::test]
async fn one_ownership_rule_for_the_app_the_reminders_and_the_case_file() {
    let app = spawn_app().await;
    app.clock.set(at("2026-06-01T02:00:00Z"));
    let admin = app.admin_token().await;
    let c = app.community(&admin, "C1").await;
    let unit = app.unit(&admin, c, "A-1-101").await;
    let zhang = app.owner(&admin, "张三", "13800000001", &[unit]).await;
    app.property_fee(&admin, c).await;
    // 过户 to 李四 on 2026-09-15; 王五 joins 李四 as a co-owner on 2026-10-20.
    app.clock.set(at("2026-09-20T02:00:00Z"));
    let admin = app.admin_token().await;
    let li = app.owner_in(&admin, c, "李四", "13800000002").await;
    let r = app
        .post(
            &format!("/api/v1/staff/units/{unit}/transfer"),
            Some(&admin),
            &json!({"to_owner_ids": [li], "date": "2026-09-15"}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    app.clock.set(at("2026-10-20T02:00:00Z"));
    let admin = app.admin_token().await;
    let wang = app.owner(&admin, "王五", "13800000003", &[unit]).await;
    for p in [
        "2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11",
    ] {
        app.billing_run(&admin, c, p, "2026-04-20").await;
    }
    let (sql, rust) = ownership_both_ways(&app).await;
    assert_eq!(sql, rust, "the SQL and Rust forms of the rule agree");

    // The rule: the transfer month stays with the seller; the later co-owner answers from November.
    let periods_of = |owner: i32| {
        let bills: Vec<(i32, i32)> = sql.iter().filter(|(_, o)| *o == owner).copied().collect();
        bills
    };
    assert_eq!(periods_of(zhang.try_into().unwrap()).len(), 5, "2026-05..09");
    assert_eq!(periods_of(li.try_into().unwrap()).len(), 2, "2026-10, 11");
    assert_eq!(periods_of(wang.try_into().unwrap()).len(), 1, "2026-11");

    // The owner app shows each owner exactly those bills.
    let mut seen = Vec::new();
    for (owner, phone, openid) in [
        (zhang, "13800000001", "o-zhang"),
        (li, "13800000002", "o-li"),
        (wang, "13800000003", "o-wang"),
    ] {
        let (token, _) = app.owner_login(openid).await;
        app.bind_phone(&token, phone).await;
        let bills: Vec<Value> = app.get_json("/api/v1/me/bills?status=all", Some(&token)).await;
        for b in bills {
            seen.push((b["id"].as_i64().unwrap() as i32, owner as i32));
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, sql, "the app shows what the rule says");

    // The reminders name the same bills for the same owners.
    let r = app
        .post("/api/v1/staff/reminder-runs", Some(&admin), &json!({"community_id": c}))
        .await;
    assert_eq!(r.status(), 200);
    let page: Value = app
        .get_json(&format!("/api/v1/staff/reminders?community_id={c}"), Some(&admin))
        .await;
    let mut reminded: Vec<(i32, i32)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| {
            let owner = m["owner_id"].as_i64().unwrap() as i32;
            m["bill_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |b| (b.as_i64().unwrap() as i32, owner))
                .collect::<Vec<_>>()
        })
        .collect();
    reminded.sort_unstable();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 10, 20).unwrap();
    let due: std::collections::HashMap<i32, chrono::NaiveDate> = {
        use sea_orm::EntityTrait;
        entity::bill::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|b| (b.id, b.due_date))
            .collect()
    };
    let overdue: Vec<(i32, i32)> = sql.iter().filter(|(b, _)| due[b] < today).copied().collect();
    assert_eq!(
        reminded, overdue,
        "reminders cover each owner's overdue bills by the same rule"
    );

    // The case file claims each bill from the same owners.
    let file: Value = app
        .get_json(&format!("/api/v1/staff/units/{unit}/case-file"), Some(&admin))
        .await;
    let mut claimed: Vec<(i32, i32)> = file["bills"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| {
            let id = b["id"].as_i64().unwrap() as i32;
            b["owner_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |o| (id, o.as_i64().unwrap() as i32))
                .collect::<Vec<_>>()
        })
        .collect();
    claimed.sort_unstable();
    let claimable: Vec<(i32, i32)> = sql.iter().filter(|(b, _)| due[b] < today).copied().collect();
    assert_eq!(
        claimed, claimable,
        "the case file claims each overdue bill from its owners"
    );
    assert!(
        file["bills"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["period"] != "2026-11"),
        "November is not yet due, so it is not claimed"
    );
}

#[tokio::test]
async fn owners_see_counter_payments_with_a_receipt_and_staff_print_it() {
    let e = estate().await;
    run(&e.app, &e.admin, e.community, "2026-09").await;
    let sep = by_period(&my_bills(&e.app, &e.owner, "all").await, "2026-09").clone();
    counter_pay(&e, sep["id"].as_i64().unwrap()).await;

    let mine: Vec<Value> = e.app.get_json("/api/v1/me/payments", Some(&e.owner)).await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    let p = &mine[0];
    assert_eq!(
        (&p["channel"], &p["status"], &p["amount"]),
        (&json!("cash"), &json!("paid"), &json!("226.55"))
    );
    let no = p["receipt_no"].as_str().unwrap().to_string();
    let id = p["id"].as_i64().unwrap();
    let one: Value = e.app.get_json(&format!("/api/v1/payments/{id}"), Some(&e.owner)).await;
    assert_eq!(one["receipt_no"], no);
    let r: Value = e
        .app
        .get_json(&format!("/api/v1/payments/{id}/receipt"), Some(&e.owner))
        .await;
    assert_eq!(r["receipt_no"], no);
    assert_eq!(r["amount_in_words"], "贰佰贰拾陆元伍角伍分");
    assert_eq!(r["payer"], "张*（138****0001）");
    assert_eq!(
        (&r["method_name"], &r["operator"]),
        (&json!("现金"), &json!(ADMIN_USER))
    );
    assert_eq!(r["lines"][0]["period"], "2026-09");
    assert_eq!(r["lines"][0]["fee_item"], "物业服务费");
    assert_eq!(r["lines"][0]["late_fee"], "2.80");
    assert_eq!(r["paid_at_local"], "2026-10-20 10:00");

    // Someone else's owner account sees none of it.
    let other_unit = e.app.unit(&e.admin, e.community, "A-1-102").await;
    e.app.owner(&e.admin, "李四", "13800000002", &[other_unit]).await;
    let (li, _) = e.app.owner_login("openid-li").await;
    e.app.bind_phone(&li, "13800000002").await;
    let theirs: Vec<Value> = e.app.get_json("/api/v1/me/payments", Some(&li)).await;
    assert!(theirs.is_empty());
    assert_error(
        e.app.get(&format!("/api/v1/payments/{id}"), Some(&li)).await,
        404,
        "NOT_FOUND",
    )
    .await;
    assert_error(
        e.app.get(&format!("/api/v1/payments/{id}/receipt"), Some(&li)).await,
        404,
        "NOT_FOUND",
    )
    .await;

    // The printed receipt says the same, masked, with a seal line.
    let r = e
        .app
        .get(&format!("/api/v1/staff/payments/{id}/receipt.html"), Some(&e.admin))
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    for needle in [
        no.as_str(),
        "贰佰贰拾陆元伍角伍分",
        "226.55",
        "2026-09",
        "A-1-101",
        "现金",
        "收款单位（盖章）",
        "小区C1",
        "张*",
    ] {
        assert!(html.contains(needle), "{needle} missing");
    }
    assert!(
        !html.contains("13800000001") && !html.contains("张三"),
        "personal data stays masked"
    );
    assert!(html.contains("Noto Sans CJK SC") && !html.contains("font-family: serif"));
    // An order not yet paid has no receipt.
    crate::fake_pay::mount(&e.app.wechat).await;
    run(&e.app, &e.admin, e.community, "2026-10").await;
    let oct = by_period(&my_bills(&e.app, &e.owner, "unpaid").await, "2026-10").clone();
    let r = e
        .app
        .post(
            "/api/v1/payments",
            Some(&e.owner),
            &json!({"bill_ids": [oct["id"]], "channel": "wechat"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let pending = r.json::<Value>().await.unwrap()["payment_id"].as_i64().unwrap();
    let r = e
        .app
        .get(&format!("/api/v1/payments/{pending}/receipt"), Some(&e.owner))
        .await;
    assert_error(r, 409, "NOT_PAID").await;
}

#[tokio::test]
async fn the_demos_first_reminder_pass_reports_no_one_reached_who_was_not() {
    let app = spawn_app_with(TestOptions {
        demo: true,
        ..Default::default()
    })
    .await;
    let admin = app.admin_token().await;
    let r: Value = app
        .post("/api/v1/staff/reminder-runs", Some(&admin), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    // The demo has no WeChat templates and no SMS: nothing was sent; formal notices went to staff.
    assert_eq!(r["sent"], 0, "{r}");
    assert_eq!(r["by_stage"], json!({}), "{r}");
    assert!(r["tasks"].as_i64().unwrap() > 0, "{r}");
    assert_eq!(app.count("evidence WHERE kind = 'reminder'").await, 0);
}
