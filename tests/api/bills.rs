use crate::helpers::*;
use serde_json::{json, Value};

/// A community (grace 15 days, 万分之五, cap 100 %), one unit of 89.50 m² owned by a bound owner,
/// and a monthly property fee of 2.50/m² due on the 10th.
pub(crate) struct Estate {
    pub(crate) app: TestApp,
    pub(crate) admin: String,
    pub(crate) community: i64,
    pub(crate) unit: i64,
    pub(crate) item: i64,
    pub(crate) owner: String,
}

pub(crate) async fn estate() -> Estate {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let community = app.community(&admin, "C1").await;
    let unit = app.unit(&admin, community, "A-1-101").await;
    app.owner(&admin, "张三", "13800000001", &[unit]).await;
    let (owner, _) = app.owner_login("openid-zhang").await;
    app.bind_phone(&owner, "13800000001").await;
    let item = fee_item(
        &app,
        &admin,
        json!({"community_id": community, "name": "物业服务费", "kind": "per_area",
        "unit_price": "2.50", "cycle": "monthly", "due_day": 10, "prepay_discounts": [{"months": 12, "rate": "0.05"}]}),
    )
    .await;
    Estate {
        app,
        admin,
        community,
        unit,
        item,
        owner,
    }
}

pub(crate) async fn fee_item(app: &TestApp, admin: &str, body: Value) -> i64 {
    let r = app.post("/api/v1/staff/fee-items", Some(admin), &body).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

/// A billing run as a migration of opening arrears: issued on 2026-01-01 by the earlier system, so
/// every period in these tests keeps its nominal due date.
pub(crate) async fn run(app: &TestApp, admin: &str, community: i64, period: &str) -> Value {
    app.billing_run(admin, community, period, "2026-01-01").await
}

pub(crate) async fn my_bills(app: &TestApp, token: &str, status: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/me/bills?status={status}"), Some(token)).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn by_period<'a>(bills: &'a [Value], period: &str) -> &'a Value {
    bills
        .iter()
        .find(|b| b["period"] == period)
        .unwrap_or_else(|| panic!("no bill for {period}"))
}

#[tokio::test]
async fn billing_runs_are_idempotent_and_price_per_api_md() {
    let e = estate().await;
    assert_eq!(
        run(&e.app, &e.admin, e.community, "2026-09").await,
        json!({"bills_created": 1, "bills_existing": 0})
    );
    assert_eq!(
        run(&e.app, &e.admin, e.community, "2026-09").await,
        json!({"bills_created": 0, "bills_existing": 1})
    );
    assert_eq!(e.app.count("bills").await, 1);
    let bills = my_bills(&e.app, &e.owner, "all").await;
    let b = by_period(&bills, "2026-09");
    assert_eq!(b["principal"], "223.75");
    assert_eq!(b["due_date"], "2026-09-10");
    assert_eq!(b["fee_item"], "物业服务费");
    assert_eq!(b["unit_code"], "A-1-101");
    // A quarterly item is not billed by a monthly period, and vice versa.
    fee_item(
        &e.app,
        &e.admin,
        json!({"community_id": e.community, "name": "公共能耗", "kind": "fixed", "unit_price": "30",
        "cycle": "quarterly", "due_day": 31}),
    )
    .await;
    assert_eq!(run(&e.app, &e.admin, e.community, "2026-10").await["bills_created"], 1);
    assert_eq!(run(&e.app, &e.admin, e.community, "2026-Q4").await["bills_created"], 1);
    let bills = my_bills(&e.app, &e.owner, "all").await;
    let q = by_period(&bills, "2026-Q4");
    assert_eq!(
        (q["principal"].as_str(), q["due_date"].as_str()),
        (Some("90.00"), Some("2026-10-31"))
    );
}

#[tokio::test]
async fn coverage_handover_pro_rata_and_price_changes() {
    let e = estate().await;
    let (app, admin, c) = (&e.app, e.admin.as_str(), e.community);
    let late = app
        .post("/api/v1/staff/units", Some(admin), &json!({"community_id": c, "building": "B", "code": "B-1-101", "area_m2": "100", "handover_date": "2026-09-16"}))
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let future = app
        .post("/api/v1/staff/units", Some(admin), &json!({"community_id": c, "building": "B", "code": "B-1-102", "area_m2": "100", "handover_date": "2026-12-01"}))
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let parking = fee_item(
        app,
        admin,
        json!({"community_id": c, "name": "车位管理费", "kind": "fixed", "unit_price": "150",
        "cycle": "monthly", "due_day": 15, "applies_to": {"unit_ids": [e.unit]}}),
    )
    .await;
    let b_only = fee_item(
        app,
        admin,
        json!({"community_id": c, "name": "电梯费", "kind": "per_area", "unit_price": "0.3",
        "cycle": "monthly", "due_day": 15, "applies_to": {"buildings": ["B"]}}),
    )
    .await;
    // Property: A-1 and B-1-101 (pro rata, 15 of 30 days); parking: A-1; lift: B-1-101. B-1-102 is not handed over.
    assert_eq!(run(app, admin, c, "2026-09").await["bills_created"], 4);
    let staff: Value = app
        .get_json(
            &format!("/api/v1/staff/bills?community_id={c}&period=2026-09&per_page=200"),
            Some(admin),
        )
        .await;
    let find = |unit: i64, item: i64| {
        staff["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["unit_id"] == unit && b["fee_item_id"] == item)
            .cloned()
    };
    assert_eq!(find(late, e.item).unwrap()["principal"], "125.00");
    assert_eq!(find(late, b_only).unwrap()["principal"], "15.00");
    assert_eq!(find(e.unit, parking).unwrap()["principal"], "150.00");
    assert!(find(e.unit, b_only).is_none() && find(late, parking).is_none() && find(future, e.item).is_none());

    // A price change applies to periods starting on or after its date; issued bills never change.
    let r = app
        .post(
            &format!("/api/v1/staff/fee-items/{}/prices", e.item),
            Some(admin),
            &json!({"unit_price": "3.00", "effective_from": "2026-11-01"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    run(app, admin, c, "2026-10").await;
    run(app, admin, c, "2026-11").await;
    let bills = my_bills(app, &e.owner, "all").await;
    let property = |p: &str| {
        bills
            .iter()
            .find(|b| b["period"] == p && b["fee_item_id"] == e.item)
            .unwrap()["principal"]
            .clone()
    };
    assert_eq!(property("2026-09"), "223.75");
    assert_eq!(property("2026-10"), "223.75");
    assert_eq!(property("2026-11"), "268.50");
}

#[tokio::test]
async fn late_fees_arrears_and_explanations_follow_the_community_clock_across_midnight() {
    let e = estate().await;
    for p in ["2026-09", "2026-10", "2026-11"] {
        run(&e.app, &e.admin, e.community, p).await;
    }
    // 2026-10-20 in Shanghai: September's bill is 40 days overdue, 25 of them chargeable.
    let bills = my_bills(&e.app, &e.owner, "unpaid").await;
    assert_eq!(bills.len(), 3, "unpaid also lists bills not yet due");
    let sep = by_period(&bills, "2026-09");
    assert_eq!(sep["late_fee"], "2.80");
    assert_eq!(sep["amount_due"], "226.55");
    assert_eq!(sep["days_overdue"], 40);
    assert_eq!(
        sep["late_fee_explanation"],
        "宽限期后自2026-09-26起计收25天，按日万分之五，上限为本金的100%"
    );
    let oct = by_period(&bills, "2026-10");
    assert_eq!(oct["late_fee"], "0.00");
    assert!(oct["late_fee_explanation"].as_str().unwrap().starts_with("宽限期内"));
    let arrears: Value = e.app.get_json("/api/v1/me/arrears", Some(&e.owner)).await;
    assert_eq!(
        arrears,
        json!({"total_due": "450.30", "principal": "447.50", "late_fee": "2.80", "bills": 2, "oldest_due_date": "2026-09-10"})
    );

    // One minute before local midnight the cached answer still holds; one minute after, a new day's fee.
    e.app
        .clock
        .advance(chrono::Duration::hours(13) + chrono::Duration::minutes(59));
    assert_eq!(
        by_period(&my_bills(&e.app, &e.owner, "unpaid").await, "2026-09")["late_fee"],
        "2.80"
    );
    e.app.clock.advance(chrono::Duration::minutes(2));
    assert_eq!(
        by_period(&my_bills(&e.app, &e.owner, "unpaid").await, "2026-09")["late_fee"],
        "2.91"
    );
    let arrears: Value = e.app.get_json("/api/v1/me/arrears", Some(&e.owner)).await;
    assert_eq!(arrears["late_fee"], "2.91");
}

#[tokio::test]
async fn waivers_adjustments_and_cancellations_keep_reason_who_and_when_and_invalidate_the_cache() {
    let e = estate().await;
    let (app, admin) = (&e.app, e.admin.as_str());
    run(app, admin, e.community, "2026-09").await;
    run(app, admin, e.community, "2026-10").await;
    let bills = my_bills(app, &e.owner, "unpaid").await; // fills the cache
    let sep = by_period(&bills, "2026-09")["id"].as_i64().unwrap();
    let oct = by_period(&bills, "2026-10")["id"].as_i64().unwrap();

    let (_, service) = app.staff_member(admin, "svc", "service", &[e.community]).await;
    let r = app
        .post(
            &format!("/api/v1/staff/bills/{sep}/waive-late-fee"),
            Some(&service),
            &json!({"reason": "x"}),
        )
        .await;
    assert_error(r, 403, "FORBIDDEN").await;
    let r = app
        .post(
            &format!("/api/v1/staff/bills/{sep}/waive-late-fee"),
            Some(admin),
            &json!({"amount": "9.99", "reason": "物业服务瑕疵"}),
        )
        .await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
    let r = app
        .post(
            &format!("/api/v1/staff/bills/{sep}/waive-late-fee"),
            Some(admin),
            &json!({"amount": "1.00"}),
        )
        .await;
    assert_error(r, 422, "VALIDATION_FAILED").await;

    let r = app
        .post(
            &format!("/api/v1/staff/bills/{sep}/waive-late-fee"),
            Some(admin),
            &json!({"amount": "1.00", "reason": "物业服务瑕疵"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["late_fee"].as_str(), v["amount_due"].as_str()),
        (Some("1.80"), Some("225.55"))
    );
    let entry = v["entries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (
            entry["kind"].as_str(),
            entry["reason"].as_str(),
            entry["on_date"].as_str()
        ),
        (Some("late_fee_waiver"), Some("物业服务瑕疵"), Some("2026-10-20"))
    );
    assert_eq!(
        by_period(&my_bills(app, &e.owner, "unpaid").await, "2026-09")["amount_due"],
        "225.55",
        "the cached answer was invalidated"
    );

    // Waive the rest, then correct the principal: 200.00 from the start, so the late fee is recomputed.
    app.post(
        &format!("/api/v1/staff/bills/{sep}/waive-late-fee"),
        Some(admin),
        &json!({"reason": "全部减免"}),
    )
    .await;
    let r = app
        .post(
            &format!("/api/v1/staff/bills/{sep}/adjust"),
            Some(admin),
            &json!({"principal": "200.00", "reason": "面积更正"}),
        )
        .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["principal"], "200.00");
    assert_eq!(v["late_fee"], "0.00", "2.50 accrued on 200.00, all of it waived");
    assert_eq!(v["amount_due"], "200.00");
    let r = app
        .post(
            &format!("/api/v1/staff/bills/{sep}/adjust"),
            Some(admin),
            &json!({"principal": "-1", "reason": "x"}),
        )
        .await;
    assert_error(r, 422, "VALIDATION_FAILED").await;

    let r = app
        .post(
            &format!("/api/v1/staff/bills/{oct}/cancel"),
            Some(admin),
            &json!({"reason": "重复开具"}),
        )
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "cancelled");
    let r = app
        .post(
            &format!("/api/v1/staff/bills/{oct}/cancel"),
            Some(admin),
            &json!({"reason": "again"}),
        )
        .await;
    assert_error(r, 409, "BILL_NOT_OPEN").await;
    let unpaid = my_bills(app, &e.owner, "unpaid").await;
    assert_eq!(unpaid.len(), 1);
    let all = my_bills(app, &e.owner, "all").await;
    assert_eq!(by_period(&all, "2026-10")["amount_due"], "0.00");
    assert_eq!(app.count("bill_entries").await, 4);
    assert!(app.count("audit_log").await >= 4);
}

#[tokio::test]
async fn owners_see_only_their_bills_and_staff_only_their_communities() {
    let e = estate().await;
    let (app, admin) = (&e.app, e.admin.as_str());
    let other_unit = app.unit(admin, e.community, "A-1-102").await;
    app.owner(admin, "李四", "13800000002", &[other_unit]).await;
    run(app, admin, e.community, "2026-09").await;
    let all: Value = app
        .get_json(
            &format!("/api/v1/staff/bills?community_id={}", e.community),
            Some(admin),
        )
        .await;
    let theirs = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["unit_id"] == other_unit)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let mine = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["unit_id"] == e.unit)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(my_bills(app, &e.owner, "all").await.len(), 1);
    assert_error(
        app.get(&format!("/api/v1/me/bills/{theirs}"), Some(&e.owner)).await,
        404,
        "NOT_FOUND",
    )
    .await;
    let detail: Value = app.get_json(&format!("/api/v1/me/bills/{mine}"), Some(&e.owner)).await;
    assert_eq!(detail["lines"][0], json!({"kind": "principal", "amount": "223.75"}));
    assert_eq!(detail["lines"][1], json!({"kind": "late_fee", "amount": "2.80"}));
    assert_eq!(detail["payments"], json!([]));

    let other = app.community(admin, "C2").await;
    let (_, finance) = app.staff_member(admin, "fin", "finance", &[other]).await;
    assert_error(
        app.get(
            &format!("/api/v1/staff/bills?community_id={}", e.community),
            Some(&finance),
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;
    assert_error(
        app.get(&format!("/api/v1/staff/bills/{mine}"), Some(&finance)).await,
        404,
        "NOT_FOUND",
    )
    .await;
    let r = app
        .post(
            "/api/v1/staff/billing-runs",
            Some(&finance),
            &json!({"community_id": e.community, "period": "2026-10"}),
        )
        .await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
}

#[tokio::test]
async fn staff_bill_lists_filter_and_total() {
    let e = estate().await;
    let (app, admin, c) = (&e.app, e.admin.as_str(), e.community);
    let b2 = app.unit(admin, c, "B-1-101").await;
    let r = app
        .patch(
            &format!("/api/v1/staff/units/{b2}"),
            Some(admin),
            &json!({"building": "B"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    for p in ["2026-08", "2026-09", "2026-10"] {
        run(app, admin, c, p).await;
    }
    let v: Value = app
        .get_json(
            &format!("/api/v1/staff/bills?community_id={c}&status=unpaid&min_days_overdue=31"),
            Some(admin),
        )
        .await;
    // August (due 08-10, 71 days) and September (40 days) for both units.
    assert_eq!(v["totals"]["bills"], 4);
    assert_eq!(v["totals"]["principal"], "895.00");
    let v: Value = app
        .get_json(
            &format!("/api/v1/staff/bills?community_id={c}&building=B&per_page=2&page=2"),
            Some(admin),
        )
        .await;
    assert_eq!(v["total"], 3);
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    assert_eq!(v["totals"]["bills"], 3);
    let r = app
        .get(
            &format!("/api/v1/staff/bills?community_id={c}&status=lost"),
            Some(admin),
        )
        .await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
}

#[tokio::test]
async fn prepayment_quotes_spread_the_discount_with_leftover_fen_first() {
    let e = estate().await;
    let (app, admin) = (&e.app, e.admin.as_str());
    run(app, admin, e.community, "2026-10").await;
    let r = app
        .get(
            &format!(
                "/api/v1/me/prepay-quote?unit_id={}&fee_item_id={}&months=12",
                e.unit, e.item
            ),
            Some(&e.owner),
        )
        .await;
    assert_eq!(r.status(), 200);
    let q: Value = r.json().await.unwrap();
    // October is billed already: November 2026 to October 2027.
    assert_eq!(q["periods"][0], "2026-11");
    assert_eq!(q["periods"][11], "2027-10");
    assert_eq!(q["gross"], "2685.00");
    // 5 % of 2685.00 = 134.25 = 11.18 × 12 + 0.09 on the first bill.
    assert_eq!(q["discount"], "134.25");
    assert_eq!(q["total"], "2550.75");
    assert_eq!(q["bills"][0]["discount"], "11.27");
    assert_eq!(q["bills"][1]["discount"], "11.18");
    assert_eq!(q["bills"][0]["amount"], "212.48");
    let q6: Value = app
        .get_json(
            &format!(
                "/api/v1/me/prepay-quote?unit_id={}&fee_item_id={}&months=6",
                e.unit, e.item
            ),
            Some(&e.owner),
        )
        .await;
    assert_eq!(q6["discount"], "0.00", "no tier reaches 6 months");

    let r = app
        .get(
            &format!(
                "/api/v1/me/prepay-quote?unit_id={}&fee_item_id={}&months=0",
                e.unit, e.item
            ),
            Some(&e.owner),
        )
        .await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
    let other = app.unit(admin, e.community, "Z-9").await;
    let r = app
        .get(
            &format!(
                "/api/v1/me/prepay-quote?unit_id={other}&fee_item_id={}&months=12",
                e.item
            ),
            Some(&e.owner),
        )
        .await;
    assert_error(r, 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn bad_fee_items_and_runs_are_refused_naming_the_field() {
    let e = estate().await;
    let (app, admin, c) = (&e.app, e.admin.as_str(), e.community);
    let other = app.community(admin, "C2").await;
    let foreign = app.unit(admin, other, "X-1").await;
    let before = app.count("fee_items").await;
    for (body, field) in [
        (
            json!({"community_id": c, "name": "a", "kind": "per_area", "unit_price": "0", "cycle": "monthly", "due_day": 10}),
            "unit_price",
        ),
        (
            json!({"community_id": c, "name": "a", "kind": "per_area", "unit_price": "-2.5", "cycle": "monthly", "due_day": 10}),
            "unit_price",
        ),
        (
            json!({"community_id": c, "name": "a", "kind": "per_area", "unit_price": "2.5", "cycle": "monthly", "due_day": 0}),
            "due_day",
        ),
        (
            json!({"community_id": c, "name": "a", "kind": "per_area", "unit_price": "2.5", "cycle": "monthly", "due_day": 32}),
            "due_day",
        ),
        (
            json!({"community_id": c, "name": "a", "kind": "weird", "unit_price": "2.5", "cycle": "weekly", "due_day": 1}),
            "kind",
        ),
        (
            json!({"community_id": c, "name": "a", "kind": "fixed", "unit_price": "2.5", "cycle": "monthly", "due_day": 1,
                "applies_to": {"unit_ids": [foreign]}}),
            "applies_to.unit_ids",
        ),
        (
            json!({"community_id": c, "name": "a", "kind": "fixed", "unit_price": "2.5", "cycle": "monthly", "due_day": 1,
                "applies_to": {"buildings": ["Nope"]}}),
            "applies_to.buildings",
        ),
        (
            json!({"community_id": c, "name": "a", "kind": "fixed", "unit_price": "2.5", "cycle": "monthly", "due_day": 1,
                "prepay_discounts": [{"months": 12, "rate": "0.9"}]}),
            "prepay_discounts",
        ),
    ] {
        let v = assert_error(
            app.post("/api/v1/staff/fee-items", Some(admin), &body).await,
            422,
            "VALIDATION_FAILED",
        )
        .await;
        assert!(v["details"]["fields"].get(field).is_some(), "{field}: {v}");
    }
    assert_eq!(app.count("fee_items").await, before);
    let r = app
        .post(
            "/api/v1/staff/billing-runs",
            Some(admin),
            &json!({"community_id": c, "period": "2026-13"}),
        )
        .await;
    let v = assert_error(r, 422, "VALIDATION_FAILED").await;
    assert!(v["details"]["fields"].get("period").is_some());
    let r = app
        .patch(
            &format!("/api/v1/staff/units/{}", e.unit),
            Some(admin),
            &json!({"area_m2": "89.123"}),
        )
        .await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
    assert_eq!(app.count("bills").await, 0);
}

#[tokio::test]
async fn the_scheduler_bills_next_month_on_the_run_day_once() {
    let e = estate().await;
    // 2026-10-20: before the run day (25th) nothing happens.
    assert_eq!(wuye::scheduler::billing_tick(&e.app.state).await.unwrap(), 0);
    e.app.clock.advance(chrono::Duration::days(5));
    assert_eq!(wuye::scheduler::billing_tick(&e.app.state).await.unwrap(), 1);
    assert_eq!(wuye::scheduler::billing_tick(&e.app.state).await.unwrap(), 0);
    let bills = my_bills(&e.app, &e.owner, "all").await;
    assert_eq!(bills.len(), 1);
    assert_eq!(bills[0]["period"], "2026-11");
}

#[tokio::test]
async fn concurrent_runs_on_two_replicas_create_each_bill_once() {
    let e = estate().await;
    let replica = e.app.replica().await;
    for i in 0..30 {
        e.app.unit(&e.admin, e.community, &format!("C-{i}")).await;
    }
    let body = json!({"community_id": e.community, "period": "2026-09", "issued_on": "2026-01-01"});
    let mut tasks = Vec::new();
    for i in 0..6 {
        let url = if i % 2 == 0 {
            e.app.url("/api/v1/staff/billing-runs")
        } else {
            replica.url("/api/v1/staff/billing-runs")
        };
        let (http, token, body) = (e.app.http.clone(), e.admin.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let r = http.post(url).bearer_auth(token).json(&body).send().await.unwrap();
            assert_eq!(r.status(), 201);
            r.json::<Value>().await.unwrap()["bills_created"].as_u64().unwrap()
        }));
    }
    let mut created = 0;
    for t in tasks {
        created += t.await.unwrap();
    }
    assert_eq!(created, 31);
    assert_eq!(e.app.count("bills").await, 31);
}

#[tokio::test]
async fn look_ups_are_served_from_the_cache_until_something_relevant_changes() {
    use sea_orm::ConnectionTrait;
    let e = estate().await;
    run(&e.app, &e.admin, e.community, "2026-09").await;
    assert_eq!(
        by_period(&my_bills(&e.app, &e.owner, "all").await, "2026-09")["principal"],
        "223.75"
    );
    // Change the row behind the service's back: the cached answer is still served, which proves
    // the answer came from the cache (Redis, or in-process on the embedded default).
    e.app
        .db
        .execute_unprepared("UPDATE bills SET principal_fen = 100")
        .await
        .unwrap();
    assert_eq!(
        by_period(&my_bills(&e.app, &e.owner, "all").await, "2026-09")["principal"],
        "223.75"
    );
    let key_count = e.app.state.store.mget(&["ver:community:1".to_string()]).await.unwrap();
    assert!(key_count[0].is_some(), "the billing run bumped the community's version");
    // Anything that changes the community's bills invalidates it.
    run(&e.app, &e.admin, e.community, "2026-10").await;
    let bills = my_bills(&e.app, &e.owner, "all").await;
    assert_eq!(by_period(&bills, "2026-09")["principal"], "1.00");
    assert_eq!(bills.len(), 2);
}

#[tokio::test]
async fn a_payment_invalidates_only_its_units_cached_answers() {
    use sea_orm::ConnectionTrait;
    let e = estate().await;
    // A neighbour in the same community, with a unit of her own.
    let other_unit = e.app.unit(&e.admin, e.community, "A-1-102").await;
    e.app.owner(&e.admin, "李四", "13800000002", &[other_unit]).await;
    let (neighbour, _) = e.app.owner_login("openid-li").await;
    e.app.bind_phone(&neighbour, "13800000002").await;
    run(&e.app, &e.admin, e.community, "2026-09").await;
    let mine = by_period(&my_bills(&e.app, &e.owner, "all").await, "2026-09").clone();
    let theirs = by_period(&my_bills(&e.app, &neighbour, "all").await, "2026-09").clone();
    assert_eq!(mine["status"], "unpaid");
    assert_eq!(theirs["status"], "unpaid");
    // Behind the service's back, so a served answer shows whether it came from the cache.
    e.app
        .db
        .execute_unprepared("UPDATE bills SET principal_fen = principal_fen + 1")
        .await
        .unwrap();
    // The neighbour pays at the counter: her unit's answers go stale, nobody else's.
    let r = e
        .app
        .post(
            "/api/v1/staff/payments/counter",
            Some(&e.admin),
            &json!({"bill_ids": [theirs["id"]], "method": "cash", "reference": "收据0001"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let theirs_now = by_period(&my_bills(&e.app, &neighbour, "all").await, "2026-09").clone();
    assert_eq!(theirs_now["status"], "paid", "the payer's answer was recomputed");
    let mine_now = by_period(&my_bills(&e.app, &e.owner, "all").await, "2026-09").clone();
    assert_eq!(
        mine_now["principal"], mine["principal"],
        "another unit's payment left this owner's cached answer in place"
    );
    // A community-wide write (a billing run) still reaches everyone.
    run(&e.app, &e.admin, e.community, "2026-10").await;
    let mine_after_run = my_bills(&e.app, &e.owner, "all").await;
    assert_eq!(mine_after_run.len(), 2);
    assert_ne!(by_period(&mine_after_run, "2026-09")["principal"], mine["principal"]);
}
