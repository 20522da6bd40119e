//! Installment plans in force (issue #17): the owner's acceptance reschedules the covered bills in
//! the ledger (late fee frozen, limitation restarted, one instalment bill a month paid by every
//! channel); a kept plan completes and its frozen late fee is waived exactly; a late instalment
//! defaults the plan, the bills reopen less what was paid and their late fee comes back exactly
//! as if there had been no plan, and reminders resume; two replicas do each step once.
use crate::helpers::*;
use crate::payments::{pay_wechat, shop, wechat_order, Shop};
use chrono::NaiveDate;
use serde_json::{json, Value};
use wuye::domain::late_fee::{LateFeePolicy, PrincipalMove};
use wuye::domain::Fen;
use wuye::services::plans::keeping::{tick, Pass};

const UA: &str = "Mozilla/5.0 (iPhone) MicroMessenger/8.0.50 miniProgram";

fn fen(v: &Value) -> i64 {
    Fen::parse(v.as_str().unwrap_or_else(|| panic!("not an amount: {v}")))
        .unwrap()
        .0
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Sets the clock to a local (Asia/Shanghai) time.
fn at(s: &Shop, local: &str) {
    let t = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap();
    s.app.clock.set(t.and_utc() - chrono::Duration::hours(8));
}

/// Sets the clock months on, where the owner's 30-day session has lapsed: signs in again.
async fn later(s: &mut Shop, local: &str) {
    at(s, local);
    s.owner = s.app.owner_login("openid-zhang").await.0;
}

async fn all_bills(s: &Shop) -> Vec<Value> {
    s.app.get_json("/api/v1/me/bills?status=all", Some(&s.owner)).await
}

fn find(bills: &[Value], id: i64) -> Value {
    bills
        .iter()
        .find(|b| b["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no bill {id}"))
}

/// September and October asked for over `months`, approved by finance; the plan, not yet accepted.
async fn approved(s: &Shop, months: u32) -> Value {
    let r = s
        .app
        .post(
            "/api/v1/me/installment-requests",
            Some(&s.owner),
            &json!({"bill_ids": [s.sep, s.oct], "months": months}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let p: Value = r.json().await.unwrap();
    let admin = s.app.admin_token().await;
    let r = s
        .app
        .post(
            &format!("/api/v1/staff/installment-plans/{}/approve", p["id"]),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    r.json().await.unwrap()
}

async fn accept(s: &Shop, p: &Value, sha: &str) -> reqwest::Response {
    s.app
        .http
        .post(s.app.url(&format!("/api/v1/me/installment-plans/{}/accept", p["id"])))
        .bearer_auth(&s.owner)
        .header("User-Agent", UA)
        .json(&json!({"agreement_sha256": sha}))
        .send()
        .await
        .unwrap()
}

/// A plan over `months`, accepted today.
async fn active(s: &Shop, months: u32) -> Value {
    let p = approved(s, months).await;
    let r = accept(s, &p, p["agreement_sha256"].as_str().unwrap()).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    r.json().await.unwrap()
}

fn instalment_ids(p: &Value) -> Vec<i64> {
    p["schedule"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["bill_id"].as_i64().expect("an accepted plan's instalments are bills"))
        .collect()
}

async fn pay_at_counter(s: &Shop, ids: &[i64], reference: &str) {
    let admin = s.app.admin_token().await;
    let r = s
        .app
        .post(
            "/api/v1/staff/payments/counter",
            Some(&admin),
            &json!({"bill_ids": ids, "method": "cash", "reference": reference}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
}

async fn plan_of(s: &Shop, id: &Value) -> Value {
    let mine: Vec<Value> = s.app.get_json("/api/v1/me/installment-plans", Some(&s.owner)).await;
    mine.into_iter().find(|p| p["id"] == *id).expect("the owner's plan")
}

/// One reminder pass for the community, as staff start it; its report.
async fn remind(s: &Shop, admin: &str) -> Value {
    s.app
        .post(
            "/api/v1/staff/reminder-runs",
            Some(admin),
            &json!({"community_id": s.community}),
        )
        .await
        .json()
        .await
        .unwrap()
}

async fn evidence(s: &Shop) -> Vec<Value> {
    let admin = s.app.admin_token().await;
    s.app
        .get_json(&format!("/api/v1/staff/units/{}/evidence", s.unit), Some(&admin))
        .await
}

/// The community's terms (helpers::community): 万分之五 a day after 15 days' grace, capped at 100 %.
fn terms() -> LateFeePolicy {
    LateFeePolicy::parse("0.0005", 15, "1.00").unwrap()
}

#[tokio::test]
async fn acceptance_reschedules_the_bills_freezes_their_late_fee_and_issues_instalments() {
    let mut s = shop().await;
    // The late fee the plan freezes: as it stood at the end of the day before acceptance.
    let eve = terms()
        .late_fee(22_375, day("2026-09-10"), &[], day("2026-10-19"))
        .accrued
        .0
        + terms()
            .late_fee(22_375, day("2026-10-10"), &[], day("2026-10-19"))
            .accrued
            .0;
    assert!(eve > 0);
    let p = approved(&s, 3).await;
    // A text the owner did not read is refused, and nothing changes.
    let r = accept(&s, &p, &"0".repeat(64)).await;
    assert_error(r, 409, "AGREEMENT_MISMATCH").await;
    let r = accept(&s, &p, "not-a-hash").await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
    assert_eq!(s.app.count("bills WHERE status = 'rescheduled'").await, 0);
    assert_eq!(s.app.count("bills WHERE installment_plan_id <> 0").await, 0);

    let r = accept(&s, &p, &p["agreement_sha256"].as_str().unwrap().to_uppercase()).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["status"], "active");
    assert_eq!(a["status_label"], "分期中");
    assert_eq!(fen(&a["late_fee"]), eve, "frozen at the day before acceptance");
    let dates: Vec<&str> = a["schedule"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["due_date"].as_str().unwrap())
        .collect();
    assert_eq!(dates, ["2026-11-20", "2026-12-20", "2027-01-20"]);
    assert!(a["schedule"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["bill_status"] == "unpaid"));

    // The covered bills: rescheduled, nothing to pay, late fee frozen; the instalments: bills.
    let bills = all_bills(&s).await;
    for id in [s.sep, s.oct] {
        let b = find(&bills, id);
        assert_eq!(
            (b["status"].as_str(), b["amount_due"].as_str()),
            (Some("rescheduled"), Some("0.00"))
        );
        assert!(
            b["late_fee_explanation"].as_str().unwrap().contains("转入分期协议"),
            "{b}"
        );
    }
    let frozen: i64 = [s.sep, s.oct]
        .iter()
        .map(|id| fen(&find(&bills, *id)["late_fee"]))
        .sum();
    assert_eq!(frozen, eve);
    let ids = instalment_ids(&a);
    let amounts: Vec<String> = ids
        .iter()
        .map(|id| find(&bills, *id)["amount_due"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(amounts, ["149.18", "149.16", "149.16"]);
    let first = find(&bills, ids[0]);
    assert_eq!(first["fee_item"], "物业服务费·分期第1期");
    assert_eq!(
        (first["period"].as_str(), first["due_date"].as_str()),
        (Some("2026-11"), Some("2026-11-20"))
    );
    let unpaid: Vec<Value> = s.app.get_json("/api/v1/me/bills?status=unpaid", Some(&s.owner)).await;
    let mut open: Vec<i64> = unpaid.iter().map(|b| b["id"].as_i64().unwrap()).collect();
    open.sort_unstable();
    assert_eq!(open, ids, "only the instalments are to pay");
    // Orders refuse a rescheduled bill.
    let r = crate::payments::order(&s, json!({"bill_ids": [s.sep], "channel": "wechat"}), None).await;
    assert_eq!(r.status().as_u16() / 100, 4);

    // Acceptance restarts limitation (art. 195) for the covered bills.
    assert_eq!(
        s.app
            .count(&format!(
                "bills WHERE id IN ({}, {}) AND limitation_from = '2026-10-20'",
                s.sep, s.oct
            ))
            .await,
        2
    );
    // Time, client and text hash on the evidence chain.
    let rec = evidence(&s)
        .await
        .into_iter()
        .find(|r| r["result"] == "accepted")
        .expect("acceptance evidence");
    let content = rec["content"].as_str().unwrap();
    assert!(content.contains(p["agreement_sha256"].as_str().unwrap()), "{content}");
    assert!(content.contains(UA), "{content}");
    // Once.
    assert_error(
        accept(&s, &p, p["agreement_sha256"].as_str().unwrap()).await,
        409,
        "PLAN_NOT_APPROVED",
    )
    .await;
    // Staff cannot cancel an instalment or waive a rescheduled bill's frozen late fee on their
    // own: a plan's bills change only as the plan says.
    let admin = s.app.admin_token().await;
    let cancel = s
        .app
        .post(
            &format!("/api/v1/staff/bills/{}/cancel", ids[0]),
            Some(&admin),
            &json!({"reason": "误开"}),
        )
        .await;
    assert_error(cancel, 409, "BILL_IN_PLAN").await;
    let waive = s
        .app
        .post(
            &format!("/api/v1/staff/bills/{}/waive-late-fee", s.sep),
            Some(&admin),
            &json!({"reason": "减免"}),
        )
        .await;
    assert_error(waive, 409, "BILL_IN_PLAN").await;

    // Forty days on: the frozen late fee has not grown; the instalment accrues none.
    later(&mut s, "2026-11-29 10:00").await;
    let after = all_bills(&s).await;
    let still: i64 = [s.sep, s.oct]
        .iter()
        .map(|id| fen(&find(&after, *id)["late_fee"]))
        .sum();
    assert_eq!(still, eve);
    let first = find(&after, ids[0]);
    assert_eq!(
        (first["late_fee"].as_str(), first["days_overdue"].as_i64()),
        (Some("0.00"), Some(9))
    );

    // Reports: the rescheduled principal leaves September; the instalment counts in November.
    let admin = s.app.admin_token().await;
    let report = |period: &str| {
        format!(
            "/api/v1/staff/reports/collection?community_id={}&period={period}&as_of=2026-11-29",
            s.community
        )
    };
    let sep: Value = s.app.get_json(&report("2026-09"), Some(&admin)).await;
    assert_eq!(sep["receivable"], "0.00", "{sep}");
    let nov: Value = s.app.get_json(&report("2026-11"), Some(&admin)).await;
    assert_eq!(nov["receivable"], "149.18", "{nov}");
    // The rollup kept up with every ledger step.
    crate::rollup::assert_rollup_is_recomputation(&s.app, s.community).await;
}

#[tokio::test]
async fn a_kept_plan_completes_once_and_waives_exactly_the_frozen_late_fee() {
    let mut s = shop().await;
    let p = active(&s, 3).await;
    let ids = instalment_ids(&p);
    let frozen = fen(&p["late_fee"]);
    assert!(frozen > 0);
    // The first instalment through WeChat Pay: an ordinary order for an ordinary bill.
    let o = wechat_order(&s, &[ids[0]]).await;
    assert_eq!(o["amount"], "149.18");
    assert_eq!(
        pay_wechat(&s, &s.app, o["out_trade_no"].as_str().unwrap(), 14_918, "4200000001").await,
        204
    );
    assert_eq!(tick(&s.app.state).await.unwrap(), Pass::default(), "two to go");
    // Finance's console shows the plan's progress, instalment by instalment.
    let cookie = crate::console::sign_in(&s.app, ADMIN_USER, ADMIN_PASSWORD).await;
    let (status, html) = crate::console::page(
        &s.app,
        &format!("/console/installments?community_id={}", s.community),
        &cookie,
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("第1期 2026-11-20 ¥149.18（已缴）"), "{html}");
    assert!(html.contains("第2期 2026-12-20 ¥149.16（待缴）"), "{html}");
    assert!(html.contains("分期中"), "{html}");
    at(&s, "2026-12-18 09:00");
    pay_at_counter(&s, &[ids[1]], "收据1001").await;
    later(&mut s, "2027-01-19 09:00").await;
    pay_at_counter(&s, &[ids[2]], "收据1002").await;
    // Two replicas run the pass at once: the plan completes once.
    let replica = s.app.replica().await;
    let (a, b) = tokio::join!(tick(&s.app.state), tick(&replica.state));
    assert_eq!(a.unwrap().completed + b.unwrap().completed, 1);
    assert_eq!(tick(&s.app.state).await.unwrap(), Pass::default());

    let done = plan_of(&s, &p["id"]).await;
    assert_eq!(
        (done["status"].as_str(), done["status_label"].as_str()),
        (Some("completed"), Some("已按期还清"))
    );
    let bills = all_bills(&s).await;
    let mut waived = 0;
    for id in [s.sep, s.oct] {
        let b = find(&bills, id);
        assert_eq!(
            (b["status"].as_str(), b["late_fee"].as_str(), b["amount_due"].as_str()),
            (Some("rescheduled"), Some("0.00"), Some("0.00"))
        );
        assert!(b["late_fee_explanation"].as_str().unwrap().contains("按期缴清"), "{b}");
        waived += fen(&b["late_fee_waived"]);
    }
    // September had late fee when the plan began; October (due 10-10, 15 days' grace) had none.
    assert_eq!(fen(&find(&bills, s.sep)["late_fee_waived"]), frozen);
    assert_eq!(waived, frozen, "exactly the frozen late fee is waived");
    assert_eq!(
        s.app
            .count(&format!(
                "bill_entries WHERE kind = 'late_fee_waiver' AND bill_id IN ({}, {})",
                s.sep, s.oct
            ))
            .await,
        2,
        "each covered bill records the plan kept, once"
    );
    let rec = evidence(&s)
        .await
        .into_iter()
        .find(|r| r["result"] == "completed")
        .expect("evidence");
    assert!(rec["content"].as_str().unwrap().contains(&Fen(frozen).to_yuan_string()));
    // Nothing is owed, and the bills are free for any later plan.
    let unpaid: Vec<Value> = s.app.get_json("/api/v1/me/bills?status=unpaid", Some(&s.owner)).await;
    assert!(unpaid.is_empty(), "{unpaid:?}");
    assert_eq!(
        s.app
            .count("installment_plan_bills WHERE live_bill_id IS NOT NULL")
            .await,
        0
    );
    crate::rollup::assert_rollup_is_recomputation(&s.app, s.community).await;
}

#[tokio::test]
async fn a_late_instalment_defaults_the_plan_and_the_late_fee_comes_back_exactly() {
    let mut s = shop().await;
    let admin = s.app.admin_token().await;
    let (_, finance) = s.app.staff_member(&admin, "fin", "finance", &[s.community]).await;
    let p = active(&s, 3).await;
    let ids = instalment_ids(&p);
    at(&s, "2026-11-20 09:00");
    pay_at_counter(&s, &[ids[0]], "收据2001").await;
    // While the plan is kept, no reminder chases September and October.
    at(&s, "2026-12-01 10:00");
    let admin = s.app.admin_token().await;
    let run = remind(&s, &admin).await;
    assert_eq!(
        (run["sent"].as_i64(), run["tasks"].as_i64()),
        (Some(0), Some(0)),
        "{run}"
    );

    // The second instalment (due 2026-12-20) is 15 days late: still in grace; the 16th day defaults.
    at(&s, "2027-01-04 10:00");
    assert_eq!(tick(&s.app.state).await.unwrap(), Pass::default());
    later(&mut s, "2027-01-05 10:00").await;
    let replica = s.app.replica().await;
    let (a, b) = tokio::join!(tick(&s.app.state), tick(&replica.state));
    assert_eq!(a.unwrap().defaulted + b.unwrap().defaulted, 1, "defaulted once");

    let ended = plan_of(&s, &p["id"]).await;
    assert_eq!(ended["status"], "defaulted");
    let bills = all_bills(&s).await;
    // Unpaid instalments cancelled; the paid one's money went back to September.
    assert_eq!(find(&bills, ids[1])["status"], "cancelled");
    assert_eq!(find(&bills, ids[2])["status"], "cancelled");
    assert_eq!(find(&bills, ids[0])["status"], "rescheduled");
    let sep = find(&bills, s.sep);
    let oct = find(&bills, s.oct);
    assert_eq!(
        (sep["status"].as_str(), oct["status"].as_str()),
        (Some("unpaid"), Some("unpaid"))
    );
    // The late fee as if there had been no plan: September's principal fell by 149.18 on the day
    // the first instalment was paid; October's never did.
    let today = day("2027-01-05");
    let expect_sep = terms().late_fee(
        22_375,
        day("2026-09-10"),
        &[PrincipalMove {
            on: day("2026-11-20"),
            paid_fen: 14_918,
        }],
        today,
    );
    let expect_oct = terms().late_fee(22_375, day("2026-10-10"), &[], today);
    assert_eq!(fen(&sep["late_fee"]), expect_sep.accrued.0, "{sep}");
    assert_eq!(fen(&oct["late_fee"]), expect_oct.accrued.0, "{oct}");
    assert_eq!(
        fen(&sep["amount_due"]),
        22_375 - 14_918 + expect_sep.accrued.0,
        "less what the instalment paid"
    );
    assert_eq!(fen(&oct["amount_due"]), 22_375 + expect_oct.accrued.0);

    // Finance is told why; the evidence says so; reminders resume.
    let admin = s.app.admin_token().await;
    let finance = {
        let r = s.app.staff_login("fin", "long-enough-pw").await;
        let _ = &finance;
        r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
    };
    let inbox: Value = s.app.get_json("/api/v1/staff/inbox", Some(&finance)).await;
    let item = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "installment_defaulted")
        .cloned()
        .unwrap_or_else(|| panic!("{inbox}"));
    assert!(item["title"].as_str().unwrap().contains("第2期"), "{item}");
    assert!(evidence(&s).await.iter().any(|r| r["result"] == "defaulted"));
    let run = remind(&s, &admin).await;
    assert!(
        run["sent"].as_i64().unwrap() + run["tasks"].as_i64().unwrap() >= 1,
        "{run}"
    );
    // The bills are free for a new request.
    let r = s
        .app
        .post(
            "/api/v1/me/installment-requests",
            Some(&s.owner),
            &json!({"bill_ids": [s.sep, s.oct], "months": 3}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    crate::rollup::assert_rollup_is_recomputation(&s.app, s.community).await;
}

#[tokio::test]
async fn an_approved_plan_nobody_accepts_lapses_and_its_bills_are_chased_again() {
    let mut s = shop().await;
    let p = approved(&s, 3).await;
    // While it waits for the owner, reminders leave its bills alone.
    at(&s, "2026-10-30 10:00");
    let admin = s.app.admin_token().await;
    let run = remind(&s, &admin).await;
    assert_eq!(
        (run["sent"].as_i64(), run["tasks"].as_i64()),
        (Some(0), Some(0)),
        "{run}"
    );
    // Fifteen days after approval it still stands; the sixteenth it lapses, once.
    at(&s, "2026-11-04 09:00");
    assert_eq!(tick(&s.app.state).await.unwrap(), Pass::default());
    later(&mut s, "2026-11-05 11:00").await;
    // Past the deadline it cannot be accepted, even before the pass has run.
    assert_error(
        accept(&s, &p, p["agreement_sha256"].as_str().unwrap()).await,
        409,
        "PLAN_NOT_APPROVED",
    )
    .await;
    let replica = s.app.replica().await;
    let (a, b) = tokio::join!(tick(&s.app.state), tick(&replica.state));
    assert_eq!(a.unwrap().expired + b.unwrap().expired, 1);
    let gone = plan_of(&s, &p["id"]).await;
    assert_eq!(
        (gone["status"].as_str(), gone["status_label"].as_str()),
        (Some("expired"), Some("未按时确认，已失效"))
    );
    assert_error(
        accept(&s, &p, p["agreement_sha256"].as_str().unwrap()).await,
        409,
        "PLAN_NOT_APPROVED",
    )
    .await;
    // Chased again; and free for a new request.
    let admin = s.app.admin_token().await;
    let run = remind(&s, &admin).await;
    assert!(
        run["sent"].as_i64().unwrap() + run["tasks"].as_i64().unwrap() >= 1,
        "{run}"
    );
    let r = s
        .app
        .post(
            "/api/v1/me/installment-requests",
            Some(&s.owner),
            &json!({"bill_ids": [s.sep, s.oct], "months": 3}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
}
