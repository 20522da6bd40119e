//! Points toward fees (issue #15): `POST /payments {"points"}` pays part of the bills at the
//! community's rate, within its cap; the order holds the points, spends them when paid and releases
//! them when it closes; the points part is a payment line and a ledger entry of its own; a refund
//! returns the cash through its channel and the points as points; the counter never spends them.
use crate::helpers::*;
use crate::payments::{order, pay_wechat, shop, Shop};
use crate::points::{december, give_points, my_points, november, paid, points_off, tick};
use serde_json::{json, Value};

/// The November and December bills (due 2026-11-10 and 2026-12-10: on time on 2026-10-20).
async fn next_two(s: &Shop) -> (i64, i64) {
    (november(s).await, december(s).await)
}

async fn with_points(s: &Shop, bills: &[i64], points: i64, key: Option<&str>) -> reqwest::Response {
    order(
        s,
        json!({"bill_ids": bills, "channel": "wechat", "points": points}),
        key,
    )
    .await
}

#[tokio::test]
async fn points_pay_part_of_an_order_held_until_paid_then_spent_as_a_ledger_line_of_their_own() {
    let s = shop().await;
    let (nov, _) = next_two(&s).await;
    give_points(&s, 3_000).await;
    // 223.75: at most 10 % (22.37) in points at 100 points a yuan.
    let r = with_points(&s, &[nov], 2_238, None).await;
    let err = assert_error(r, 422, "VALIDATION_FAILED").await;
    assert!(
        err["details"]["fields"]["points"]
            .as_str()
            .unwrap()
            .contains("最多可用2237积分"),
        "{err}"
    );
    let r = with_points(&s, &[nov], 2_237, Some("nov-points")).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let o: Value = r.json().await.unwrap();
    assert_eq!(
        (
            o["amount"].as_str(),
            o["points_used"].as_i64(),
            o["points_amount"].as_str()
        ),
        (Some("201.38"), Some(2_237), Some("22.37")),
        "{o}"
    );
    // The same key answers the same order and holds nothing more.
    let again: Value = with_points(&s, &[nov], 2_237, Some("nov-points"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["payment_id"], o["payment_id"]);
    let held = my_points(&s).await;
    assert_eq!(
        (held["balance"].as_i64(), held["held"].as_i64()),
        (Some(763), Some(2_237)),
        "{held}"
    );

    // The gateway is asked for the cash only, and notifies it: the bill is paid, in two entries.
    let out = o["out_trade_no"].as_str().unwrap().to_string();
    assert_eq!(pay_wechat(&s, &s.app, &out, 20_138, "4200000601").await, 204);
    let bill: Value = s
        .app
        .get_json(&format!("/api/v1/staff/bills/{nov}"), Some(&s.admin))
        .await;
    assert_eq!(bill["status"], "paid", "{bill}");
    let mut paid: Vec<(String, String)> = bill["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["reason"].as_str().unwrap().to_string(),
                e["principal"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    paid.sort();
    assert_eq!(
        paid,
        [
            ("微信支付缴费".to_string(), "201.38".to_string()),
            ("积分抵扣2237分".to_string(), "22.37".to_string())
        ]
    );
    let view: Value = s
        .app
        .get_json(&format!("/api/v1/payments/{}", o["payment_id"]), Some(&s.owner))
        .await;
    let points_lines: Vec<&Value> = view["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["points"].is_i64())
        .collect();
    assert_eq!(points_lines.len(), 1, "{view}");
    assert_eq!(
        (points_lines[0]["amount"].as_str(), points_lines[0]["points"].as_i64()),
        (Some("22.37"), Some(2_237))
    );
    let receipt: Value = s
        .app
        .get_json(&format!("/api/v1/payments/{}/receipt", o["payment_id"]), Some(&s.owner))
        .await;
    assert_eq!(
        (receipt["amount"].as_str(), receipt["points_amount"].as_str()),
        (Some("201.38"), Some("22.37")),
        "{receipt}"
    );

    // The pass spends the held points once (two replicas at once); the cash part earns 201.
    let other = s.app.replica().await;
    let (a, b) = tokio::join!(tick(&s.app), tick(&other));
    assert_eq!(a.fees.spent + b.fees.spent, 1, "{a:?} {b:?}");
    assert_eq!(a.earned.points + b.earned.points, 201);
    assert_eq!(tick(&s.app).await.fees.spent, 0);
    let after = my_points(&s).await;
    assert_eq!(
        (after["balance"].as_i64(), after["held"].as_i64()),
        (Some(763 + 201), Some(0)),
        "{after}"
    );
    let spent: Vec<&Value> = after["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "redeem")
        .collect();
    assert_eq!(spent.len(), 1);
    assert_eq!(spent[0]["points"], -2_237);
    assert_eq!(spent[0]["reason"], format!("积分抵扣物业费（订单{out}）"));
}

#[tokio::test]
async fn a_closed_order_releases_its_points_and_two_orders_cannot_hold_the_same_points() {
    let s = shop().await;
    let (nov, dec) = next_two(&s).await;
    give_points(&s, 3_000).await;
    // Two orders at once, each for 2,237 of 3,000 points: one holds them, the other is refused.
    let (first, second) = ([nov], [dec]);
    let (a, b) = tokio::join!(
        with_points(&s, &first, 2_237, None),
        with_points(&s, &second, 2_237, None)
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    let held = my_points(&s).await;
    assert_eq!(
        (held["balance"].as_i64(), held["held"].as_i64()),
        (Some(763), Some(2_237))
    );
    // A new order for both bills without points closes the one that held them: released.
    let r = order(&s, json!({"bill_ids": [nov, dec], "channel": "wechat"}), None).await;
    assert_eq!(r.status(), 201);
    let t = tick(&s.app).await;
    assert_eq!((t.fees.released, t.fees.spent), (1, 0));
    let back = my_points(&s).await;
    assert_eq!(
        (back["balance"].as_i64(), back["held"].as_i64()),
        (Some(3_000), Some(0)),
        "{back}"
    );
    assert!(
        back["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["kind"] != "redeem"),
        "nothing was spent: {back}"
    );
    assert_eq!(s.app.count("points_takes").await, 0);
}

#[tokio::test]
async fn a_refund_returns_the_cash_through_its_channel_and_the_points_as_points() {
    let s = shop().await;
    let (nov, _) = next_two(&s).await;
    give_points(&s, 3_000).await;
    let body = json!({"bill_ids": [nov], "channel": "wechat", "points": 2_237});
    let o = paid(&s, body, 20_138, "4200000602").await;
    let pid = o["payment_id"].as_i64().unwrap();
    tick(&s.app).await;
    assert_eq!(my_points(&s).await["balance"], 763 + 201);
    // Everything refundable is the cash: 201.38.
    let url = format!("/api/v1/staff/payments/{pid}/refunds");
    let r = s
        .app
        .post(&url, Some(&s.admin), &json!({"amount": "201.39", "reason": "重复缴费"}))
        .await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
    let r = s.app.post(&url, Some(&s.admin), &json!({"reason": "重复缴费"})).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let refund: Value = r.json().await.unwrap();
    assert_eq!(refund["amount"], "201.38");
    let other = s.app.replica().await;
    let (a, b) = tokio::join!(tick(&s.app), tick(&other));
    assert_eq!(a.fees.returned + b.fees.returned, 2_237, "{a:?} {b:?}");
    assert_eq!(tick(&s.app).await.fees.returned, 0);
    // The bill owes all of 223.75 again; the award of the cash part is taken back.
    let bill: Value = s
        .app
        .get_json(&format!("/api/v1/staff/bills/{nov}"), Some(&s.admin))
        .await;
    assert_eq!(
        (bill["status"].as_str(), bill["amount_due"].as_str()),
        (Some("unpaid"), Some("223.75")),
        "{bill}"
    );
    let back = my_points(&s).await;
    assert_eq!(back["balance"], 3_000, "{back}");
    let returned: Vec<&Value> = back["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "reverse" && e["points"] == 2_237)
        .collect();
    assert_eq!(returned.len(), 1, "{back}");
    assert_eq!(
        returned[0]["expires_at"], "2028-12-31",
        "a new lot, far more than 90 days away"
    );

    // The month's points report adds it up: 3,000 given, 201 earned and taken back, 2,237 spent on
    // fees (22.37 forgone) and given back.
    let url = format!(
        "/api/v1/staff/reports/points?community_id={}&from=2026-09&to=2026-10",
        s.community
    );
    let report: Value = s.app.get_json(&url, Some(&s.admin)).await;
    let october = &report["months"][1];
    assert_eq!(report["months"][0]["month"], "2026-09");
    assert_eq!(report["months"][0]["earned"], 0);
    assert_eq!(
        (
            october["adjusted_in"].as_i64(),
            october["earned"].as_i64(),
            october["reversed"].as_i64(),
            october["redeemed_fees"].as_i64(),
            october["fee_cost"].as_str(),
            october["returned"].as_i64(),
            october["redeemed_rewards"].as_i64(),
            october["expired"].as_i64(),
        ),
        (
            Some(3_000),
            Some(201),
            Some(201),
            Some(2_237),
            Some("22.37"),
            Some(2_237),
            Some(0),
            Some(0)
        ),
        "{report}"
    );
    assert_eq!(report["total"]["fee_cost"], "22.37");
    let (_, kefu) = s.app.staff_member(&s.admin, "kefu", "service", &[s.community]).await;
    assert_error(s.app.get(&url, Some(&kefu)).await, 403, "FORBIDDEN").await;
    let bad = format!(
        "/api/v1/staff/reports/points?community_id={}&from=2026-10&to=2026-09",
        s.community
    );
    assert_error(s.app.get(&bad, Some(&s.admin)).await, 422, "VALIDATION_FAILED").await;
}

#[tokio::test]
async fn points_are_refused_at_the_counter_on_prepayments_and_where_points_are_off() {
    let s = shop().await;
    let (nov, _) = next_two(&s).await;
    give_points(&s, 3_000).await;
    let r = s
        .app
        .post(
            "/api/v1/staff/payments/counter",
            Some(&s.admin),
            &json!({"bill_ids": [nov], "method": "cash", "reference": "收据0009", "points": 100}),
        )
        .await;
    let err = assert_error(r, 422, "VALIDATION_FAILED").await;
    assert!(
        err["details"]["fields"]["points"].as_str().unwrap().contains("柜台"),
        "{err}"
    );
    let r = order(
        &s,
        json!({"prepay": {"unit_id": s.unit, "fee_item_id": s.item, "months": 12}, "channel": "wechat", "points": 100}),
        None,
    )
    .await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
    let r = with_points(&s, &[nov], 10_000_000, None).await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
    points_off(&s.app, &s.admin, s.community).await;
    let r = with_points(&s, &[nov], 100, None).await;
    let err = assert_error(r, 422, "VALIDATION_FAILED").await;
    assert!(
        err["details"]["fields"]["points"]
            .as_str()
            .unwrap()
            .contains("未开通积分"),
        "{err}"
    );
    assert_eq!(s.app.count("payments").await, 0, "nothing was placed");
    assert_eq!(my_points(&s).await["balance"], 3_000);
}
