//! Points (issue #15), earning: on-time, late and prepaid payments earn exact points, once however
//! often the order is notified or the pass runs (also two passes at once), counter payments earn
//! for the unit's first-listed owner's account or are held on the unit, and a community with points
//! off earns nothing.
use crate::helpers::*;
use crate::payments::{order, pay_wechat, shop, wechat_order, Shop};
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

async fn pass(app: &TestApp) -> wuye::services::points::earn::EarnReport {
    wuye::services::points::earn::pass(&app.state).await.unwrap()
}

/// The points pass (earn, streaks, fees, reversals, expiry) on `app`.
pub(crate) async fn tick(app: &TestApp) -> wuye::services::points::TickReport {
    wuye::services::points::tick(&app.state).await.unwrap()
}

/// `GET /me/points` for an owner's token in a community: balance, held, owed, next expiry, entries.
pub(crate) async fn points_of(app: &TestApp, owner: &str, community: i64) -> Value {
    app.get_json(&format!("/api/v1/me/points?community_id={community}"), Some(owner))
        .await
}

/// The shop owner's points in the shop's community.
pub(crate) async fn my_points(s: &Shop) -> Value {
    points_of(&s.app, &s.owner, s.community).await
}

/// Points given by staff (an audited adjustment, 社区活动奖励), the simplest way to hold a balance.
/// Signs in afresh: some tests move the clock by months, longer than a staff session.
pub(crate) async fn give_points(s: &Shop, n: i64) {
    let admin = s.app.admin_token().await;
    let r = s
        .app
        .post(
            &format!("/api/v1/staff/units/{}/points/adjustments", s.unit),
            Some(&admin),
            &json!({"points": n, "reason": "社区活动奖励"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
}

/// Switches points off for a community (`features.points = false`).
pub(crate) async fn points_off(app: &TestApp, admin: &str, community: i64) {
    let r = app
        .patch(
            &format!("/api/v1/staff/communities/{community}"),
            Some(admin),
            &json!({"features": {"points": false}}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
}

/// The November bill (due 2026-11-10, on time on 2026-10-20).
pub(crate) async fn november(s: &Shop) -> i64 {
    s.app.billing_run(&s.admin, s.community, "2026-11", "2026-10-15").await;
    s.app.bill_of(&s.admin, s.community, s.unit, "2026-11").await
}

/// The December bill (due 2026-12-10, on time on 2026-10-20).
pub(crate) async fn december(s: &Shop) -> i64 {
    s.app.billing_run(&s.admin, s.community, "2026-12", "2026-10-15").await;
    s.app.bill_of(&s.admin, s.community, s.unit, "2026-12").await
}

/// An order placed through the API with `body`, paid by WeChat: the gateway notifies `fen`, the
/// order's cash amount. The order.
pub(crate) async fn paid(s: &Shop, body: Value, fen: i64, tx: &str) -> Value {
    let r = order(s, body, None).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let o: Value = r.json().await.unwrap();
    let out = o["out_trade_no"].as_str().unwrap();
    assert_eq!(pay_wechat(s, &s.app, out, fen, tx).await, 204, "{o}");
    o
}

/// `bills` ordered by WeChat (no points) and paid for `fen`: the order.
pub(crate) async fn paid_bills(s: &Shop, bills: &[i64], fen: i64, tx: &str) -> Value {
    paid(s, json!({"bill_ids": bills, "channel": "wechat"}), fen, tx).await
}

#[tokio::test]
async fn on_time_bills_earn_a_point_per_yuan_late_ones_nothing_and_each_line_earns_once() {
    let s = shop().await;
    let nov = november(&s).await;
    // Nothing paid yet: the owner of a unit here has an empty account; elsewhere is 404.
    let empty = my_points(&s).await;
    assert_eq!(
        (empty["balance"].as_i64(), empty["entries"].as_array().map(Vec::len)),
        (Some(0), Some(0))
    );
    let r = s
        .app
        .get(
            &format!("/api/v1/me/points?community_id={}", s.community + 99),
            Some(&s.owner),
        )
        .await;
    assert_error(r, 404, "NOT_FOUND").await;

    // September and October are overdue, November is not: 223.75 on time earns 223.
    let o = wechat_order(&s, &[s.sep, s.oct, nov]).await;
    let out = o["out_trade_no"].as_str().unwrap().to_string();
    assert_eq!(o["amount"], "674.05", "{o}");
    assert_eq!(pay_wechat(&s, &s.app, &out, 67_405, "4200000501").await, 204);
    // Two passes at once, on two replicas: three lines recorded once.
    let other = s.app.replica().await;
    let (a, b) = tokio::join!(pass(&s.app), pass(&other));
    assert_eq!(a.recorded + b.recorded, 3, "{a:?} {b:?}");
    assert_eq!(a.points + b.points, 223);
    // The gateway notifies again; the pass runs again: nothing more.
    assert_eq!(pay_wechat(&s, &s.app, &out, 67_405, "4200000501").await, 204);
    assert_eq!(pass(&s.app).await.recorded, 0);
    assert_eq!(s.app.count("points_entries").await, 3);
    assert_eq!(s.app.count("points_lots").await, 1);

    let mine = my_points(&s).await;
    assert_eq!(mine["balance"], 223, "{mine}");
    assert_eq!(mine["owed"], 0);
    assert_eq!(mine["next_expiry"], json!({"points": 223, "on": "2028-12-31"}));
    let entries = mine["entries"].as_array().unwrap();
    let earned: Vec<&Value> = entries.iter().filter(|e| e["points"] != 0).collect();
    assert_eq!(earned.len(), 1);
    assert_eq!(earned[0]["kind"], "earn");
    assert_eq!(earned[0]["reason"], "2026-11 物业服务费 按时缴费");
    assert_eq!(earned[0]["expires_at"], "2028-12-31");
    let late: Vec<&str> = entries
        .iter()
        .filter(|e| e["points"] == 0)
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(late.len(), 2);
    assert!(late.iter().all(|r| r.ends_with("逾期缴纳，不计积分")), "{late:?}");

    // GET /me: September was paid 40 days late, October 10: grade C, said plainly, with the points.
    let me: Value = s.app.get_json("/api/v1/me", Some(&s.owner)).await;
    let standing = &me["communities"][0];
    assert_eq!(standing["community_id"], s.community, "{me}");
    assert_eq!(standing["credit_grade"], "C");
    assert!(
        standing["credit_explanation"]
            .as_str()
            .unwrap()
            .starts_with("近24个月有2笔账单逾期，其中1笔超过30天"),
        "{standing}"
    );
    assert_eq!(standing["points"], 223);
    assert_eq!(me["units"][0]["code"], "A-1-101", "the profile is still there");
}

#[tokio::test]
async fn a_prepayment_earns_its_bonus_on_what_was_paid_and_counter_payments_earn_for_the_owner() {
    let s = shop().await;
    let r = order(
        &s,
        json!({"prepay": {"unit_id": s.unit, "fee_item_id": s.item, "months": 12}, "channel": "wechat"}),
        None,
    )
    .await;
    assert_eq!(r.status(), 201);
    let o: Value = r.json().await.unwrap();
    assert_eq!(o["amount"], "2550.75");
    let out = o["out_trade_no"].as_str().unwrap().to_string();
    assert_eq!(pay_wechat(&s, &s.app, &out, 255_075, "4200000502").await, 204);
    // Each month: 223.75 less its share of the 5 % discount is 212.5x yuan paid → 212 points, +10 %
    // (21) for prepaying: 233 × 12.
    let report = pass(&s.app).await;
    assert_eq!((report.recorded, report.points), (12, 2796));
    assert_eq!(my_points(&s).await["balance"], 2796);

    // At the counter, September for the bound owner: overdue, so recorded with nothing earned.
    let r = s
        .app
        .post(
            "/api/v1/staff/payments/counter",
            Some(&s.admin),
            &json!({"bill_ids": [s.sep], "method": "cash", "reference": "收据0001"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    assert_eq!(pass(&s.app).await.recorded, 1);
    let mine = my_points(&s).await;
    assert_eq!(mine["balance"], 2796);
    assert_eq!(mine["entries"][0]["reason"], "2026-09 物业服务费 逾期缴纳，不计积分");

    // A unit whose owner has no linked account: its on-time counter payment is held on the unit.
    let unit = s.app.unit(&s.admin, s.community, "A-1-102").await;
    s.app.owner(&s.admin, "李四", "13800000002", &[unit]).await;
    s.app.billing_run(&s.admin, s.community, "2026-11", "2026-10-15").await;
    let bill = s.app.bill_of(&s.admin, s.community, unit, "2026-11").await;
    let r = s
        .app
        .post(
            "/api/v1/staff/payments/counter",
            Some(&s.admin),
            &json!({"bill_ids": [bill], "method": "pos", "reference": "POS0002"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    // Its only bill was paid on time: grade A, × 1.2 (223 → 267).
    assert_eq!(pass(&s.app).await.points, 267);
    assert_eq!(
        s.app
            .count(&format!(
                "points_accounts a JOIN points_lots l ON l.points_account_id = a.id \
                 WHERE a.account_id IS NULL AND a.unit_id = {unit} AND l.remaining = 267"
            ))
            .await,
        1
    );
    assert_eq!(my_points(&s).await["balance"], 2796, "not the other owner's");

    // 李四 signs in and binds his phone: the unit's points move to his account, expiry kept, once.
    let (li, _) = s.app.owner_login("openid-li").await;
    s.app.bind_phone(&li, "13800000002").await;
    let other = s.app.replica().await;
    let (a, b) = tokio::join!(
        wuye::services::points::link::pass(&s.app.state),
        wuye::services::points::link::pass(&other.state)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!((a.units + b.units, a.points + b.points), (1, 267), "{a:?} {b:?}");
    let his = points_of(&s.app, &li, s.community).await;
    assert_eq!(his["balance"], 267, "{his}");
    assert_eq!(his["next_expiry"], json!({"points": 267, "on": "2028-12-31"}));
    assert_eq!(his["entries"][0]["reason"], "房屋A-1-102代管积分转入");
    let unit_view: Value = s
        .app
        .get_json(&format!("/api/v1/staff/units/{unit}/points"), Some(&s.admin))
        .await;
    assert_eq!(
        (unit_view["holder"].as_str(), unit_view["balance"].as_i64()),
        (Some("account"), Some(267))
    );
}

#[tokio::test]
async fn a_community_with_points_off_earns_nothing() {
    let s = shop().await;
    points_off(&s.app, &s.admin, s.community).await;
    let nov = november(&s).await;
    paid_bills(&s, &[nov], 22_375, "4200000503").await;
    assert_eq!(pass(&s.app).await.recorded, 0);
    assert_eq!(my_points(&s).await["balance"], 0);
}

#[tokio::test]
async fn a_refund_takes_back_what_it_earned_and_spent_points_become_owed_until_new_earnings_settle_them() {
    let s = shop().await;
    let nov = november(&s).await;
    let o = paid_bills(&s, &[nov], 22_375, "4200000504").await;
    let pid = o["payment_id"].as_i64().unwrap();
    assert_eq!(pass(&s.app).await.points, 223);
    // 200 of them spent (redemptions come in a later slice: the lot is drawn down directly).
    s.app
        .db
        .execute_unprepared("UPDATE points_lots SET remaining = 23")
        .await
        .unwrap();
    // 100.00 refunded: 123.75 still paid earns 123, so 100 go back — 23 from the lot, 77 owed.
    let r = s
        .app
        .post(
            &format!("/api/v1/staff/payments/{pid}/refunds"),
            Some(&s.admin),
            &json!({"amount": "100.00", "reason": "面积核减"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let other = s.app.replica().await;
    let (a, b) = tokio::join!(tick(&s.app), tick(&other));
    let (a, b) = (a.reversed, b.reversed);
    assert_eq!(
        (a.reversed + b.reversed, a.points + b.points, a.owed + b.owed),
        (1, 100, 77)
    );
    assert_eq!(tick(&s.app).await.reversed.reversed, 0);
    let mine = my_points(&s).await;
    assert_eq!(
        (mine["balance"].as_i64(), mine["owed"].as_i64()),
        (Some(0), Some(77)),
        "{mine}"
    );
    assert_eq!(mine["entries"][0]["kind"], "reverse");
    assert_eq!(mine["entries"][0]["points"], -100);
    assert_eq!(mine["entries"][0]["reason"], "2026-11 物业服务费 退款，冲回积分");

    // December paid on time earns 223: 77 settle what is owed, 146 are spendable.
    let dec = december(&s).await;
    paid_bills(&s, &[dec], 22_375, "4200000505").await;
    assert_eq!(pass(&s.app).await.points, 223);
    let mine = my_points(&s).await;
    assert_eq!(
        (mine["balance"].as_i64(), mine["owed"].as_i64()),
        (Some(146), Some(0)),
        "{mine}"
    );
    assert_eq!(mine["next_expiry"], json!({"points": 146, "on": "2028-12-31"}));
}

#[tokio::test]
async fn staff_adjust_with_a_reason_within_the_balance_and_what_is_left_expires_once_after_its_last_day() {
    let s = shop().await;
    let nov = november(&s).await;
    paid_bills(&s, &[nov], 22_375, "4200000506").await;
    assert_eq!(pass(&s.app).await.points, 223);
    let url = format!("/api/v1/staff/units/{}/points", s.unit);
    let unit: Value = s.app.get_json(&url, Some(&s.admin)).await;
    assert_eq!(
        (unit["holder"].as_str(), unit["balance"].as_i64()),
        (Some("account"), Some(223))
    );

    // Only finance and admins adjust, with a reason, never beyond the balance.
    let adjust = format!("{url}/adjustments");
    let (_, kefu) = s.app.staff_member(&s.admin, "kefu", "service", &[s.community]).await;
    let r = s
        .app
        .post(&adjust, Some(&kefu), &json!({"points": 50, "reason": "x"}))
        .await;
    assert_error(r, 403, "FORBIDDEN").await;
    for body in [
        json!({"points": 0, "reason": "x"}),
        json!({"points": 50, "reason": " "}),
    ] {
        let r = s.app.post(&adjust, Some(&s.admin), &body).await;
        assert_error(r, 422, "VALIDATION_FAILED").await;
    }
    let r = s
        .app
        .post(&adjust, Some(&s.admin), &json!({"points": -224, "reason": "误发"}))
        .await;
    let err = assert_error(r, 409, "INSUFFICIENT_POINTS").await;
    assert!(err["message"].as_str().unwrap().contains("223"), "{err}");
    let r = s
        .app
        .post(
            &adjust,
            Some(&s.admin),
            &json!({"points": 50, "reason": "社区活动奖励"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let r = s
        .app
        .post(&adjust, Some(&s.admin), &json!({"points": -100, "reason": "误发更正"}))
        .await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["balance"], 173);
    assert_eq!(v["entries"][0]["kind"], "adjust");
    assert_eq!(v["entries"][0]["points"], -100);
    assert_eq!(v["entries"][0]["reason"], "误发更正");
    assert_eq!(s.app.count("audit_log WHERE action = 'points.adjust'").await, 2);
    assert_eq!(my_points(&s).await["balance"], 173, "the owner sees the same");

    // 31 December 2028 is the last day; on 1 January 2029 what is left expires, once.
    let days = (chrono::NaiveDate::from_ymd_opt(2028, 12, 31).unwrap()
        - chrono::NaiveDate::from_ymd_opt(2026, 10, 20).unwrap())
    .num_days();
    s.app.clock.advance(chrono::Duration::days(days));
    // Two years on, the owner signs in again.
    let (owner, _) = s.app.owner_login("openid-zhang").await;
    assert_eq!(tick(&s.app).await.expired.lots, 0);
    assert_eq!(points_of(&s.app, &owner, s.community).await["balance"], 173);
    s.app.clock.advance(chrono::Duration::days(1));
    let other = s.app.replica().await;
    let (a, b) = tokio::join!(
        wuye::services::points::expire::pass(&s.app.state),
        wuye::services::points::expire::pass(&other.state)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!((a.lots + b.lots, a.points + b.points), (2, 173));
    let mine = points_of(&s.app, &owner, s.community).await;
    assert_eq!(mine["balance"], 0);
    assert_eq!(mine["next_expiry"], Value::Null);
    assert_eq!(mine["entries"][0]["kind"], "expire");
    assert_eq!(s.app.count("points_entries WHERE kind = 'expire'").await, 2);
}

#[tokio::test]
async fn finance_sets_a_communitys_rules_and_a_run_of_on_time_months_earns_its_streak_bonus_once() {
    let s = shop().await;
    let url = format!("/api/v1/staff/communities/{}/points-settings", s.community);
    let defaults: Value = s.app.get_json(&url, Some(&s.admin)).await;
    assert_eq!(
        defaults,
        json!({"community_id": s.community, "points_per_yuan": 1, "prepay_bonus_percent": 10,
            "streak_months": 12, "streak_bonus": 200, "grade_a_permille": 1200, "expiry_years": 2,
            "points_per_fee_yuan": 100, "max_fee_percent": 10, "customised": false})
    );
    let rules = json!({"points_per_yuan": 2, "prepay_bonus_percent": 10, "streak_months": 2,
        "streak_bonus": 50, "grade_a_permille": 1200, "expiry_years": 1});
    let (_, kefu) = s.app.staff_member(&s.admin, "kefu", "service", &[s.community]).await;
    assert_error(s.app.put(&url, Some(&kefu), &rules).await, 403, "FORBIDDEN").await;
    let r = s
        .app
        .put(
            &url,
            Some(&s.admin),
            &json!({"points_per_yuan": 101, "prepay_bonus_percent": 10, "streak_months": 1,
                "streak_bonus": 50, "grade_a_permille": 999, "expiry_years": 0}),
        )
        .await;
    let err = assert_error(r, 422, "VALIDATION_FAILED").await;
    for f in ["points_per_yuan", "streak_months", "grade_a_permille", "expiry_years"] {
        assert!(err["details"]["fields"][f].is_string(), "{f}: {err}");
    }
    assert_eq!(s.app.count("points_settings").await, 0, "nothing saved");
    let r = s.app.put(&url, Some(&s.admin), &rules).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let saved: Value = r.json().await.unwrap();
    assert_eq!(
        (saved["customised"].as_bool(), saved["points_per_yuan"].as_i64()),
        (Some(true), Some(2))
    );
    assert_eq!(s.app.count("audit_log WHERE action = 'points.settings'").await, 1);

    // November on time: 223 whole yuan × 2; one year's expiry. September and October stay unpaid,
    // so no run yet.
    let nov = november(&s).await;
    paid_bills(&s, &[nov], 22_375, "4200000507").await;
    let t = tick(&s.app).await;
    assert_eq!((t.earned.points, t.streaks.bonuses), (446, 0));
    assert_eq!(
        my_points(&s).await["next_expiry"],
        json!({"points": 446, "on": "2027-12-31"})
    );
    // December on time too: two months in a row earn the bonus, once however often the pass runs.
    let dec = december(&s).await;
    paid_bills(&s, &[dec], 22_375, "4200000508").await;
    let other = s.app.replica().await;
    let (a, b) = tokio::join!(tick(&s.app), tick(&other));
    assert_eq!(a.streaks.bonuses + b.streaks.bonuses, 1, "{a:?} {b:?}");
    assert_eq!(tick(&s.app).await.streaks.bonuses, 0);
    let mine = my_points(&s).await;
    assert_eq!(mine["balance"], 446 + 446 + 50, "{mine}");
    assert_eq!(mine["entries"][0]["reason"], "连续2个月按时缴费奖励（至2026年12月）");
}

#[tokio::test]
async fn owners_are_told_once_a_month_before_their_points_expire_and_only_while_points_are_on() {
    let (_server, sent, mut settings) = crate::reminders::fake_sms().await;
    settings.push(("sms.templates.points_expiry", "100009".into()));
    settings.push((
        "sms.template_texts.points_expiry",
        "您有{1}积分将于{2}到期，请及时在小程序兑换。".into(),
    ));
    let app = spawn_app_with(TestOptions {
        overrides: settings.clone(),
        ..Default::default()
    })
    .await;
    let s = crate::payments::shop_on(app).await;
    give_points(&s, 120).await;
    let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap().to_utc();
    let notify = |app: &TestApp| {
        let state = app.state.clone();
        async move { wuye::services::points::notify::pass(&state).await.unwrap() }
    };
    let before = sent.load(std::sync::atomic::Ordering::SeqCst);
    // The last day is 2028-12-31: on 29 November (Beijing) it is more than a month away.
    s.app.clock.set(at("2028-11-29T02:00:00Z"));
    assert_eq!(notify(&s.app).await.notices, 0);
    // From 30 November: told once, however many replicas run the pass at once.
    s.app.clock.set(at("2028-11-30T02:00:00Z"));
    let other = s.app.replica_with(settings).await;
    other.clock.set(at("2028-11-30T02:00:00Z"));
    let (a, b) = tokio::join!(notify(&s.app), notify(&other));
    assert_eq!((a.notices + b.notices, a.sent + b.sent), (1, 1), "{a:?} {b:?}");
    assert_eq!(notify(&s.app).await.notices, 0);
    assert_eq!(sent.load(std::sync::atomic::Ordering::SeqCst) - before, 1);
    assert_eq!(
        s.app
            .count("points_expiry_notices WHERE result = 'sent:sms' AND points = 120 AND expires_on = '2028-12-31'")
            .await,
        1
    );

    // Points switched off: the next lot's notice is never sent.
    let r = s
        .app
        .post(
            &format!("/api/v1/staff/units/{}/points/adjustments", s.unit),
            Some(&s.app.admin_token().await),
            &json!({"points": 5, "reason": "补发"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    points_off(&s.app, &s.app.admin_token().await, s.community).await;
    s.app.clock.set(at("2030-12-01T02:00:00Z"));
    assert_eq!(notify(&s.app).await.notices, 0);
    assert_eq!(s.app.count("points_expiry_notices").await, 1);
}
