//! Auto-debits (issue #16): planned once per mandate and bill, noticed exactly `notice_lead_days`
//! before (no notice delivered, no debit), debited on the due date inside the window once however
//! many replicas run the pass, failures told and retried, then given up and the mandate suspended.
use crate::autodebit::{created, signed_wechat, status_of, taken};
use crate::fake_pay::*;
use crate::helpers::*;
use crate::payments::{now, shop_on, Shop};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};
use wuye::services::autodebit::debits::{tick, DebitReport};

pub(crate) struct Debits {
    pub(crate) s: Shop,
    /// SMS messages the fake SMS gateway accepted.
    pub(crate) sms: Arc<AtomicUsize>,
    _sms_server: Arc<MockServer>,
    /// November's bill: 223.75 due 2026-11-10.
    pub(crate) nov: i64,
}

/// The shop with SMS for auto-debit notices and November billed (due 2026-11-10).
pub(crate) async fn debits_with(extra: Vec<(&'static str, String)>) -> Debits {
    let (server, sms, mut settings) = crate::reminders::fake_sms().await;
    for (key, id, text) in [
        (
            "autodebit_notice",
            "100010",
            "您的{1}物业费{2}元将于{3}自动扣款，如需停止请在小程序“自动扣款”中解除。",
        ),
        ("autodebit_failed", "100011", "物业费{1}元自动扣款未成功：{2}，{3}。"),
    ] {
        settings.push((leak(format!("sms.templates.{key}")), id.into()));
        settings.push((leak(format!("sms.template_texts.{key}")), text.into()));
    }
    settings.extend(extra);
    let app = spawn_app_with(TestOptions {
        overrides: settings,
        ..Default::default()
    })
    .await;
    let s = shop_on(app).await;
    s.app.billing_run(&s.admin, s.community, "2026-11", "2026-10-20").await;
    let nov = s.app.bill_of(&s.admin, s.community, s.unit, "2026-11").await;
    Debits {
        s,
        sms,
        _sms_server: server,
        nov,
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Sets the clock to a Beijing wall time (`"2026-11-07 10:00"`).
/// An Alipay agreement for the shop's unit, signed by its notification; the mandate's id.
pub(crate) async fn signed_alipay(s: &Shop) -> i64 {
    let m = created(s, json!({"channel": "alipay", "unit_ids": [s.unit]})).await;
    let id = m["id"].as_i64().unwrap();
    let code = crate::autodebit::code_of(s, id).await;
    let form = alipay_notification(
        &[
            ("notify_type", "dut_user_sign"),
            ("notify_id", "N-1"),
            ("app_id", ALIPAY_APP_ID),
            ("agreement_no", "20265820101234567890"),
            ("external_agreement_no", &code),
            ("status", "NORMAL"),
        ],
        false,
    );
    assert_eq!(s.app.notify_alipay(&form).await.text().await.unwrap(), "success");
    id
}

pub(crate) fn at(s: &Shop, local: &str) {
    let t = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap();
    s.app.clock.set(t.and_utc() - chrono::Duration::hours(8));
}

pub(crate) async fn pass(s: &Shop) -> DebitReport {
    tick(&s.app.state).await.unwrap()
}

pub(crate) async fn bill_status(s: &Shop, id: i64) -> String {
    let admin = s.app.admin_token().await;
    let b: Value = s.app.get_json(&format!("/api/v1/staff/bills/{id}"), Some(&admin)).await;
    b["status"].as_str().unwrap_or_default().to_string()
}

fn sent(d: &Debits) -> usize {
    d.sms.load(Ordering::SeqCst)
}

#[tokio::test]
async fn a_debit_is_noticed_lead_days_ahead_and_runs_once_on_the_due_date_inside_the_window() {
    let d = debits_with(Vec::new()).await;
    let s = &d.s;
    let (id, _) = signed_wechat(s).await;
    // Planned once: November only (September and October were due before the mandate).
    assert_eq!(pass(s).await.planned, 1);
    assert_eq!(pass(s).await.planned, 0);
    let m = status_of(s, id).await;
    assert_eq!(m["next_debit"], json!({"date": "2026-11-10", "amount": "223.75"}));
    assert_eq!(m["history"], json!([]), "a debit not yet noticed is no history");
    // Four days ahead nothing; three days ahead, only inside the window.
    at(s, "2026-11-06 10:00");
    assert_eq!(pass(s).await.noticed, 0);
    at(s, "2026-11-07 06:30");
    assert_eq!(pass(s).await.noticed, 0);
    let before = sent(&d);
    at(s, "2026-11-07 10:00");
    assert_eq!(pass(s).await.noticed, 1);
    assert_eq!(sent(&d), before + 1);
    assert_eq!(pass(s).await.noticed, 0, "told once");
    // The debit day, before 07:00: nothing; then two replicas at once send one debit.
    at(s, "2026-11-10 06:59");
    assert_eq!(pass(s).await.tried, 0);
    at(s, "2026-11-10 10:00");
    let other = s.app.replica().await;
    let (a, b) = tokio::join!(tick(&s.app.state), tick(&other.state));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.tried + b.tried, 1, "{a:?} {b:?}");
    let applies = taken(&s.fakes.applies);
    assert_eq!(applies.len(), 1);
    let apply: Value = serde_json::from_str(&applies[0]).unwrap();
    assert_eq!(apply["amount"]["total"], 22_375);
    assert!(apply["contract_id"].as_str().unwrap().starts_with("2026120101AD"));
    // WeChat Pay's result, credited like any payment; the debit is then paid.
    let out = apply["out_trade_no"].as_str().unwrap();
    let (h, body) = wechat_notification(
        &transaction(out, 22_375, "4200000900"),
        now(s),
        &platform_signer(),
        PLATFORM_KEY_ID,
    );
    assert_eq!(s.app.notify_wechat(&h, &body).await.status(), 204);
    assert_eq!(bill_status(s, d.nov).await, "paid");
    assert_eq!(pass(s).await.paid, 1);
    assert_eq!(pass(s).await, DebitReport::default());
    assert!(status_of(s, id).await["next_debit"].is_null());
    let results: Vec<String> = s
        .app
        .get_json::<Vec<Value>>(
            &format!("/api/v1/staff/units/{}/evidence", s.unit),
            Some(&s.app.admin_token().await),
        )
        .await
        .into_iter()
        .filter(|e| e["kind"] == "autodebit")
        .map(|e| e["result"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(results, ["signed", "noticed"]);
}

#[tokio::test]
async fn no_notice_delivered_no_debit() {
    // No SMS and no subscribe grant: the notice cannot be delivered.
    let s = shop_on(spawn_app().await).await;
    s.app.billing_run(&s.admin, s.community, "2026-11", "2026-10-20").await;
    let nov = s.app.bill_of(&s.admin, s.community, s.unit, "2026-11").await;
    let (id, _) = signed_wechat(&s).await;
    assert_eq!(pass(&s).await.planned, 1);
    at(&s, "2026-11-07 10:00");
    assert_eq!(pass(&s).await.skipped, 1);
    at(&s, "2026-11-10 10:00");
    assert_eq!(pass(&s).await.tried, 0);
    assert!(taken(&s.fakes.applies).is_empty());
    assert_eq!(bill_status(&s, nov).await, "unpaid");
    assert!(status_of(&s, id).await["next_debit"].is_null());
}

#[tokio::test]
async fn a_notice_day_missed_is_no_debit_either() {
    let d = debits_with(Vec::new()).await;
    let s = &d.s;
    signed_wechat(s).await;
    pass(s).await;
    // The scheduler was down on the 7th: two days ahead is too late to tell the owner.
    at(s, "2026-11-08 10:00");
    let r = pass(s).await;
    assert_eq!((r.noticed, r.skipped), (0, 1));
    at(s, "2026-11-10 10:00");
    assert_eq!(pass(s).await.tried, 0);
}

#[tokio::test]
async fn cancelling_after_the_notice_stops_the_debit() {
    let d = debits_with(Vec::new()).await;
    let s = &d.s;
    let (id, _) = signed_wechat(s).await;
    pass(s).await;
    at(s, "2026-11-07 10:00");
    assert_eq!(pass(s).await.noticed, 1);
    let (owner, _) = s.app.owner_login("openid-zhang").await;
    let r = s
        .app
        .delete(&format!("/api/v1/me/autodebit/{id}"), Some(&owner), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    at(s, "2026-11-10 10:00");
    assert_eq!(pass(s).await.tried, 0);
    assert!(taken(&s.fakes.applies).is_empty());
    assert_eq!(s.app.count("autodebit_debits WHERE status = 'skipped'").await, 1);
}

#[tokio::test]
async fn bills_above_the_maximum_or_held_are_not_debited() {
    let d = debits_with(Vec::new()).await;
    let s = &d.s;
    let m = created(
        s,
        json!({"channel": "wechat", "unit_ids": [s.unit], "max_amount": "100.00"}),
    )
    .await;
    let code = crate::autodebit::code_of(s, m["id"].as_i64().unwrap()).await;
    crate::autodebit::notify_contract(s, "ENTRUST.SIGN", "EV-1", &crate::autodebit::contract(&code, "SIGNED")).await;
    pass(s).await;
    let before = sent(&d);
    at(s, "2026-11-07 10:00");
    let r = pass(s).await;
    assert_eq!((r.noticed, r.skipped), (0, 1));
    assert_eq!(sent(&d), before, "no notice of a debit that will not run");
    // Raised above the bill, but the bill is held by staff: still no debit.
    let (owner, _) = s.app.owner_login("openid-zhang").await;
    let r = s
        .app
        .delete(&format!("/api/v1/me/autodebit/{}", m["id"]), Some(&owner), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    at(s, "2026-10-20 10:00");
    let (id, _) = signed_wechat(s).await;
    let admin = s.app.admin_token().await;
    let r = s
        .app
        .post(
            "/api/v1/staff/holds",
            Some(&admin),
            &json!({"bill_ids": [d.nov], "reason": "业主反映漏水，待维修后再扣", "until": "2026-11-30"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    pass(s).await;
    at(s, "2026-11-07 10:00");
    let r = pass(s).await;
    assert_eq!((r.noticed, r.skipped), (0, 1), "{r:?}");
    at(s, "2026-11-10 10:00");
    assert_eq!(pass(s).await.tried, 0);
    assert_eq!(status_of(s, id).await["status"], "active");
}

#[tokio::test]
async fn failed_tries_are_told_and_retried_then_given_up_and_the_mandate_suspended() {
    let d = debits_with(vec![("autodebit.suspend_after_failed_cycles", "1".into())]).await;
    let s = &d.s;
    let (id, _) = signed_wechat(s).await;
    Mock::given(method("POST"))
        .and(path("/v3/papay/pay/transactions/apply"))
        .respond_with(signed_answer(
            403,
            &json!({"code": "NOT_ENOUGH", "message": "余额不足"}),
        ))
        .with_priority(1)
        .mount(&s.app.wechat)
        .await;
    pass(s).await;
    at(s, "2026-11-07 10:00");
    assert_eq!(pass(s).await.noticed, 1);
    // Tried on the 10th, then 1, 3 and 7 days later; each failure told to the owner.
    let told = sent(&d);
    for (i, (day, failed, given_up)) in [
        ("2026-11-10", 1, 0),
        ("2026-11-11", 1, 0),
        ("2026-11-13", 1, 0),
        ("2026-11-17", 0, 1),
    ]
    .into_iter()
    .enumerate()
    {
        at(s, &format!("{day} 09:00"));
        let r = pass(s).await;
        assert_eq!((r.tried, r.failed, r.given_up), (1, failed, given_up), "{day}: {r:?}");
        assert_eq!(sent(&d), told + i + 1, "{day}: the owner is told");
        // Nothing more that day.
        assert_eq!(pass(s).await.tried, 0);
    }
    assert_eq!(
        s.app
            .count("autodebit_debits WHERE status = 'given_up' AND attempts = 4")
            .await,
        1
    );
    assert_eq!(bill_status(s, d.nov).await, "unpaid");
    // One failed cycle suspends here (configured): staff are told, no more debits.
    let m = status_of(s, id).await;
    assert_eq!(m["status"], "suspended");
    // The owner's history says what became of the debit and why, in their words.
    assert_eq!(
        m["history"],
        json!([{"bill_id": d.nov, "date": "2026-11-10", "amount": "223.75", "status": "given_up",
                "status_label": "未成功，本期请自行缴纳", "reason": "微信零钱或银行卡余额不足", "attempts": 4}])
    );
    assert!(s.app.count("staff_inbox WHERE kind = 'autodebit_suspended'").await > 0);
    let reasons = s.app.count("autodebit_debits WHERE reason LIKE '%余额不足%'").await;
    assert_eq!(reasons, 1);
}

#[tokio::test]
async fn an_alipay_debit_is_paid_at_once_and_credited_once() {
    let d = debits_with(Vec::new()).await;
    let s = &d.s;
    signed_alipay(s).await;
    pass(s).await;
    at(s, "2026-11-07 10:00");
    assert_eq!(pass(s).await.noticed, 1);
    at(s, "2026-11-10 21:30");
    let r = pass(s).await;
    assert_eq!(r.tried, 1, "{r:?}");
    assert_eq!(taken(&s.fakes.alipay_debits).len(), 1);
    assert_eq!(bill_status(s, d.nov).await, "paid");
    assert_eq!(pass(s).await.paid, 1);
    assert_eq!(
        s.app
            .count("payments WHERE status = 'paid' AND channel = 'alipay'")
            .await,
        1
    );
}

async fn batch(s: &Shop, date: &str) -> reqwest::Response {
    let admin = s.app.admin_token().await;
    s.app
        .post(
            "/api/v1/staff/autodebit/bank-batches",
            Some(&admin),
            &json!({"community_id": s.community, "date": date}),
        )
        .await
}

async fn results(s: &Shop, batch: i64, csv: String) -> reqwest::Response {
    let admin = s.app.admin_token().await;
    s.app
        .http
        .post(
            s.app
                .url(&format!("/api/v1/staff/autodebit/bank-batches/{batch}/results")),
        )
        .bearer_auth(admin)
        .header("Content-Type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap()
}

/// A bank mandate's November debit, noticed and due: the batch made on the 10th, its file's rows.
async fn bank_batch(d: &Debits) -> (i64, Vec<Vec<String>>) {
    let s = &d.s;
    created(s, crate::autodebit::bank(s.unit)).await;
    pass(s).await;
    at(s, "2026-11-07 10:00");
    assert_eq!(pass(s).await.noticed, 1);
    at(s, "2026-11-10 10:00");
    // The pass leaves bank debits to the batch.
    assert_eq!(pass(s).await.tried, 0);
    let r = batch(s, "2026-11-10").await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let b: Value = r.json().await.unwrap();
    assert_eq!((b["rows"].as_i64(), b["total"].as_str()), (Some(1), Some("223.75")));
    let id = b["id"].as_i64().unwrap();
    let admin = s.app.admin_token().await;
    let r = s
        .app
        .get(&format!("/api/v1/staff/autodebit/bank-batches/{id}/file"), Some(&admin))
        .await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let rows: Vec<Vec<String>> = text
        .trim_start_matches('\u{feff}')
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (id, rows)
}

#[tokio::test]
async fn bank_debits_go_out_in_a_batch_file_and_a_result_file_imported_twice_credits_once() {
    let d = debits_with(Vec::new()).await;
    let s = &d.s;
    let (id, rows) = bank_batch(&d).await;
    assert_eq!(
        rows[0].join(","),
        "debit_id,contract_code,bank_name,account_no,holder,amount,debit_date,unit,description"
    );
    assert_eq!(rows.len(), 2);
    // The bank needs the full number and the holder.
    assert_eq!(
        (
            rows[1][2].as_str(),
            rows[1][3].as_str(),
            rows[1][4].as_str(),
            rows[1][5].as_str()
        ),
        ("工商银行", "6222021234565678", "张三", "223.75")
    );
    // Nothing else is due that day: no second batch.
    assert_error(batch(s, "2026-11-10").await, 422, "VALIDATION_FAILED").await;
    // A file with a stranger's row and a bad result is refused whole.
    let bad = format!(
        "debit_id,result,reason\n{},success,\n999,success,\n{},maybe,\n",
        rows[1][0], rows[1][0]
    );
    let e = assert_error(results(s, id, bad).await, 422, "IMPORT_REJECTED").await;
    assert_eq!(e["details"]["errors"].as_array().map(Vec::len), Some(2), "{e}");
    assert_eq!(bill_status(s, d.nov).await, "unpaid");
    // The bank's answer, imported twice: credited once.
    let ok = format!("debit_id,result,reason\n{},success,\n", rows[1][0]);
    let first: Value = results(s, id, ok.clone()).await.json().await.unwrap();
    assert_eq!(
        (first["credited"].as_i64(), first["unchanged"].as_i64()),
        (Some(1), Some(0))
    );
    let again: Value = results(s, id, ok).await.json().await.unwrap();
    assert_eq!(
        (again["credited"].as_i64(), again["unchanged"].as_i64()),
        (Some(0), Some(1))
    );
    assert_eq!(bill_status(s, d.nov).await, "paid");
    assert_eq!(
        s.app
            .count("payments WHERE status = 'paid' AND channel = 'bank_debit'")
            .await,
        1
    );
    // Contradicting an earlier import is refused.
    let flip = format!("debit_id,result,reason\n{},failed,余额不足\n", rows[1][0]);
    assert_error(results(s, id, flip).await, 422, "IMPORT_REJECTED").await;
}

#[tokio::test]
async fn a_bank_failure_is_told_and_goes_out_again_in_the_next_days_batch() {
    let d = debits_with(Vec::new()).await;
    let s = &d.s;
    let (id, rows) = bank_batch(&d).await;
    let before = sent(&d);
    let r: Value = results(
        s,
        id,
        format!("debit_id,result,reason\n{},failed,余额不足\n", rows[1][0]),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(r["failed"], 1, "{r}");
    assert_eq!(sent(&d), before + 1, "the owner is told");
    assert_eq!(bill_status(s, d.nov).await, "unpaid");
    assert_error(batch(s, "2026-11-10").await, 422, "VALIDATION_FAILED").await;
    at(s, "2026-11-11 10:00");
    let r = batch(s, "2026-11-11").await;
    assert_eq!(r.status(), 201);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["rows"], 1);
    assert_eq!(
        s.app
            .count("autodebit_debits WHERE attempts = 2 AND status = 'debiting'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_bank_double_debit_is_refunded_by_a_transfer_finance_confirms_never_as_done_at_once() {
    let d = debits_with(Vec::new()).await;
    let s = &d.s;
    let (id, rows) = bank_batch(&d).await;
    // Signed in after the clock moved to the batch day (staff sessions last 12 hours).
    let admin = s.app.admin_token().await;
    let (_, finance) = s.app.staff_member(&admin, "cashier", "finance", &[s.community]).await;
    // The owner pays at the counter while the bank is collecting the same bill.
    let r = s
        .app
        .post(
            "/api/v1/staff/payments/counter",
            Some(&admin),
            &json!({"bill_ids": [d.nov], "method": "cash", "reference": "收据0001"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    // The bank collected it too: the bank's money paid nothing and must go back.
    let ok = format!("debit_id,result,reason\n{},success,\n", rows[1][0]);
    assert_eq!(results(s, id, ok).await.status(), 200);
    let paid = s
        .app
        .count("payments WHERE status = 'paid' AND channel = 'bank_debit'")
        .await;
    assert_eq!(paid, 1);
    let pid = sea_orm::ConnectionTrait::query_one_raw(
        &s.app.db,
        sea_orm::Statement::from_string(
            s.app.db.get_database_backend(),
            "SELECT id FROM payments WHERE channel = 'bank_debit'",
        ),
    )
    .await
    .unwrap()
    .unwrap()
    .try_get::<i32>("", "id")
    .unwrap();
    let list = |token: String| {
        let app = &s.app;
        async move {
            let r = app
                .get(&format!("/api/v1/staff/payments/{pid}/refunds"), Some(&token))
                .await;
            assert_eq!(r.status(), 200);
            r.json::<Vec<Value>>().await.unwrap()
        }
    };
    let refunds = list(finance.clone()).await;
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    let refund = &refunds[0];
    // No gateway returns bank money and nobody handed it back: under way, not done.
    assert_eq!(
        (
            refund["status"].as_str(),
            refund["automatic"].as_bool(),
            refund["by_transfer"].as_bool(),
            refund["amount"].as_str()
        ),
        (Some("processing"), Some(true), Some(true), Some("223.75"))
    );
    assert_eq!(s.app.count("payments WHERE status = 'refunded'").await, 0);
    // Finance is asked to transfer it, with the way to its receipt page.
    let inbox: Value = s
        .app
        .get("/api/v1/staff/inbox", Some(&finance))
        .await
        .json()
        .await
        .unwrap();
    let item = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "refund_to_transfer")
        .cloned()
        .unwrap_or_else(|| panic!("no transfer task: {inbox}"));
    assert_eq!(item["link"], format!("/console/payments/{pid}/receipt"));
    assert!(item["title"].as_str().unwrap().contains("223.75"), "{item}");
    let rid = refund["id"].as_i64().unwrap();
    let confirm = |token: String, body: Value| {
        let app = &s.app;
        async move {
            app.post(&format!("/api/v1/staff/refunds/{rid}/transferred"), Some(&token), &body)
                .await
        }
    };
    // A blank reference is refused and changes nothing.
    assert_error(
        confirm(finance.clone(), json!({"reference": "  "})).await,
        422,
        "VALIDATION_FAILED",
    )
    .await;
    assert_eq!(list(finance.clone()).await[0]["status"], "processing");
    // The receipt page asks for the transfer's reference; confirmed there, done once, the bill
    // still paid by the counter.
    let session = crate::console::sign_in(&s.app, "cashier", "long-enough-pw").await;
    let (status, html) = crate::console::page(&s.app, &format!("/console/payments/{pid}/receipt"), &session).await;
    assert_eq!(status, 200);
    let action = format!("/console/refunds/{rid}/transferred");
    assert!(html.contains(&format!("action=\"{action}\"")), "{html}");
    let csrf = crate::console::hidden_csrf(&html);
    let r = s
        .app
        .http
        .post(s.app.url(&action))
        .header(reqwest::header::COOKIE, &session)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&reference=BOC20261110-0001"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let done = list(finance.clone()).await;
    assert_eq!(
        (done[0]["status"].as_str(), done[0]["reference"].as_str()),
        (Some("success"), Some("BOC20261110-0001"))
    );
    assert_eq!(
        s.app
            .count("payments WHERE status = 'refunded' AND channel = 'bank_debit'")
            .await,
        1
    );
    assert_eq!(bill_status(s, d.nov).await, "paid");
    assert_error(
        confirm(finance.clone(), json!({"reference": "BOC20261110-0001"})).await,
        409,
        "REFUND_NOT_PROCESSING",
    )
    .await;
    assert_eq!(s.app.count("audit_log WHERE action = 'refund.transferred'").await, 1);
    let (_, html) = crate::console::page(&s.app, &format!("/console/payments/{pid}/receipt"), &session).await;
    assert!(!html.contains(&action), "a done refund asks for nothing more");
}

#[tokio::test]
async fn refunds_a_gateway_or_the_counter_makes_cannot_be_confirmed_as_transfers() {
    let d = debits_with(Vec::new()).await;
    let s = &d.s;
    let admin = s.app.admin_token().await;
    let r = s
        .app
        .post(
            "/api/v1/staff/payments/counter",
            Some(&admin),
            &json!({"bill_ids": [d.nov], "method": "cash", "reference": "收据0002"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let pid = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    // Cash is handed back by whoever records the refund: done at once.
    let r = s
        .app
        .post(
            &format!("/api/v1/staff/payments/{pid}/refunds"),
            Some(&admin),
            &json!({"amount": "10.00", "reason": "多收"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let refund: Value = r.json().await.unwrap();
    assert_eq!(
        (refund["status"].as_str(), refund["by_transfer"].as_bool()),
        (Some("success"), Some(false))
    );
    let r = s
        .app
        .post(
            &format!("/api/v1/staff/refunds/{}/transferred", refund["id"]),
            Some(&admin),
            &json!({"reference": "X1"}),
        )
        .await;
    assert_error(r, 409, "REFUND_NOT_BY_TRANSFER").await;
    let r = s
        .app
        .post(
            "/api/v1/staff/refunds/999999/transferred",
            Some(&admin),
            &json!({"reference": "X1"}),
        )
        .await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn every_running_try_is_followed_not_only_the_first_page() {
    use entity::states::{Channel, DebitStatus, MandateChannel, MandateStatus, PaymentStatus};
    use entity::{autodebit_debit, autodebit_mandate, payment};
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    let d = debits_with(Vec::new()).await;
    let s = &d.s;
    let db = &s.app.db;
    let now = s.app.state.clock.now();
    let m = autodebit_mandate::ActiveModel {
        account_id: Set(1),
        channel: Set(MandateChannel::Wechat),
        status: Set(MandateStatus::Active),
        contract_code: Set("ADFOLLOW".into()),
        failed_cycles: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    // 501 tries still waiting for their gateway (more than a page), then one whose order is paid.
    let n = 502;
    let orders: Vec<payment::ActiveModel> = (0..n)
        .map(|i| payment::ActiveModel {
            out_trade_no: Set(format!("WYFOLLOW{i:04}")),
            community_id: Set(s.community as i32),
            channel: Set(Channel::Wechat),
            kind: Set("bills".into()),
            amount_fen: Set(100),
            refunded_fen: Set(0),
            status: Set(if i == n - 1 {
                PaymentStatus::Paid
            } else {
                PaymentStatus::Pending
            }),
            expires_at: Set(now + chrono::Duration::hours(1)),
            created_at: Set(now),
            ..Default::default()
        })
        .collect();
    for chunk in orders.chunks(100) {
        payment::Entity::insert_many(chunk.iter().cloned())
            .exec_without_returning(db)
            .await
            .unwrap();
    }
    let ids: std::collections::BTreeMap<String, i32> = payment::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.out_trade_no, p.id))
        .collect();
    let tries: Vec<autodebit_debit::ActiveModel> = (0..n)
        .map(|i| autodebit_debit::ActiveModel {
            mandate_id: Set(m.id),
            bill_id: Set(1_000_000 + i),
            unit_id: Set(s.unit as i32),
            community_id: Set(s.community as i32),
            amount_fen: Set(100),
            debit_on: Set(now.date_naive()),
            status: Set(DebitStatus::Debiting),
            attempts: Set(1),
            payment_id: Set(Some(ids[&format!("WYFOLLOW{i:04}")])),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    for chunk in tries.chunks(100) {
        autodebit_debit::Entity::insert_many(chunk.iter().cloned())
            .exec_without_returning(db)
            .await
            .unwrap();
    }
    assert_eq!(pass(s).await.paid, 1);
    assert_eq!(
        s.app
            .count("autodebit_debits WHERE status = 'paid' AND bill_id = 1000501")
            .await,
        1
    );
    assert_eq!(s.app.count("autodebit_debits WHERE status = 'debiting'").await, 501);
}
