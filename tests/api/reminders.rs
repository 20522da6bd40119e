//! Graduated reminders: stages and episodes, quiet hours, holds, channels with fallbacks, exactly
//! once across replicas and crashes, the evidence chain, limitation periods and the case file.
use crate::helpers::*;
use chrono::{Duration, NaiveDate, Utc};
use entity::bill;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set, Statement};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};
use wuye::domain::reminders::banned_word;

/// A community with a monthly fee item; owners and bills are added per test.
pub(crate) struct Estate {
    pub(crate) app: TestApp,
    pub(crate) admin: String,
    pub(crate) community: i64,
    pub(crate) item: i64,
    /// The fake Tencent SMS (kept alive for the test), how many messages it accepted, and the
    /// settings that point at it (for replicas).
    sms: Option<FakeSmsSetup>,
}

/// The fake SMS server, its count of accepted messages, and the settings pointing at it.
pub(crate) type FakeSmsSetup = (Arc<MockServer>, Arc<AtomicUsize>, Vec<(&'static str, String)>);

/// A fake Tencent SMS that verifies signatures, and the settings pointing every stage at it.
pub(crate) async fn fake_sms() -> FakeSmsSetup {
    let server = Arc::new(MockServer::start().await);
    let sent = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .and(path("/"))
        .respond_with(FakeSms {
            secret_key: "test-sms-key".into(),
            sent: sent.clone(),
        })
        .mount(&server)
        .await;
    let mut settings = vec![
        ("sms.api_base", server.uri()),
        ("sms.secret_id", "AKIDtest".into()),
        ("sms.secret_key", "test-sms-key".into()),
        ("sms.sdk_app_id", "1400000000".into()),
        ("sms.sign_name", "物业".into()),
    ];
    for (stage, id) in [
        ("pre_due", "100000"),
        ("overdue_friendly", "100001"),
        ("overdue_formal", "100002"),
        ("final_notice", "100003"),
    ] {
        settings.push((leak(format!("sms.templates.{stage}")), id.into()));
        settings.push((
            leak(format!("sms.template_texts.{stage}")),
            "您有{2}笔费用共{1}元待缴，请于{3}前缴纳，详情见小程序。".into(),
        ));
    }
    (server, sent, settings)
}

/// Settings keys are `&'static str`; the few built here live for the test run.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

async fn estate_on(app: TestApp) -> Estate {
    let admin = app.admin_token().await;
    let community = app.community(&admin, "R1").await;
    let r = app
        .post(
            "/api/v1/staff/fee-items",
            Some(&admin),
            &json!({"community_id": community, "name": "物业服务费", "kind": "fixed",
                    "unit_price": "300.00", "cycle": "monthly", "due_day": 10}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let item = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    Estate {
        app,
        admin,
        community,
        item,
        sms: None,
    }
}

/// An estate whose owners are reachable by SMS (every stage has a template).
pub(crate) async fn estate() -> Estate {
    let (server, sent, settings) = fake_sms().await;
    let app = spawn_app_with(TestOptions {
        overrides: settings.clone(),
        ..Default::default()
    })
    .await;
    Estate {
        sms: Some((server, sent, settings)),
        ..estate_on(app).await
    }
}

/// An estate with no WeChat templates and no SMS: nobody can be messaged electronically.
pub(crate) async fn estate_without_channels() -> Estate {
    estate_on(spawn_app().await).await
}

pub(crate) fn today() -> NaiveDate {
    // t0 is 10:00 in Asia/Shanghai.
    NaiveDate::from_ymd_opt(2026, 10, 20).unwrap()
}

impl Estate {
    /// A unit with its owner; returns (unit id, owner id).
    pub(crate) async fn household(&self, code: &str, phone: &str) -> (i64, i64) {
        let unit = self.app.unit(&self.admin, self.community, code).await;
        let owner = self
            .app
            .owner(&self.admin, &format!("业主{code}"), phone, &[unit])
            .await;
        (unit, owner)
    }

    /// An unpaid 300.00 bill due `days_ago` days before today.
    pub(crate) async fn bill_due(&self, unit: i64, days_ago: i64) -> i32 {
        let due = today() - Duration::days(days_ago);
        let start = due - Duration::days(9);
        bill::ActiveModel {
            community_id: Set(self.community as i32),
            unit_id: Set(unit as i32),
            fee_item_id: Set(self.item as i32),
            period: Set(format!("{}-{}", start.format("%Y-%m"), days_ago)),
            period_start: Set(start),
            period_end: Set(start + Duration::days(29)),
            due_date: Set(due),
            principal_fen: Set(30_000),
            paid_principal_fen: Set(0),
            late_fee_paid_fen: Set(0),
            late_fee_waived_fen: Set(0),
            status: Set(entity::states::BillStatus::Unpaid),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&self.app.db)
        .await
        .unwrap()
        .id
    }

    pub(crate) async fn run(&self) -> Value {
        let r = self
            .app
            .post(
                "/api/v1/staff/reminder-runs",
                Some(&self.admin),
                &json!({"community_id": self.community}),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
        r.json().await.unwrap()
    }

    pub(crate) async fn evidence(&self, unit: i64) -> Vec<Value> {
        self.app
            .get_json(&format!("/api/v1/staff/units/{unit}/evidence"), Some(&self.admin))
            .await
    }

    async fn verify(&self, unit: i64) -> Value {
        self.app
            .get_json(
                &format!("/api/v1/staff/units/{unit}/evidence/verify"),
                Some(&self.admin),
            )
            .await
    }

    pub(crate) async fn tasks(&self) -> Vec<Value> {
        let page: Value = self
            .app
            .get_json(
                &format!("/api/v1/staff/tasks?community_id={}", self.community),
                Some(&self.admin),
            )
            .await;
        page["items"].as_array().unwrap().clone()
    }

    pub(crate) async fn exec(&self, sql: &str) {
        let db = &self.app.db;
        db.execute_raw(Statement::from_string(db.get_database_backend(), sql.to_string()))
            .await
            .unwrap();
    }

    /// Moves the clock, logging staff in again (their sessions last 12 hours).
    pub(crate) async fn advance(&mut self, d: Duration) {
        self.app.clock.advance(d);
        self.admin = self.app.admin_token().await;
    }

    /// POSTs as the admin and expects 201; the answer.
    async fn created(&self, path: &str, body: Value) -> Value {
        let r = self.app.post(path, Some(&self.admin), &body).await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
        r.json().await.unwrap()
    }
}

fn stage_count(report: &Value, stage: &str) -> i64 {
    report["by_stage"][stage].as_i64().unwrap_or(0)
}

/// The kinds of `unit`'s tasks, sorted.
fn task_kinds(tasks: &[Value], unit: i64) -> Vec<String> {
    let mut k: Vec<String> = tasks
        .iter()
        .filter(|t| t["unit_id"] == unit)
        .map(|t| t["kind"].as_str().unwrap().to_string())
        .collect();
    k.sort();
    k
}

/// The printed notice (letter and table) of the open printed-notice task of `unit`.
async fn notice_page(e: &Estate, unit: i64) -> String {
    let task = e
        .tasks()
        .await
        .into_iter()
        .find(|t| t["unit_id"] == unit && t["kind"] == "printed_notice")
        .expect("a printed-notice task");
    let r = e
        .app
        .get(
            &format!("/api/v1/staff/tasks/{}/notice.html", task["id"]),
            Some(&e.admin),
        )
        .await;
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

#[tokio::test]
async fn the_highest_passed_stage_goes_once_per_owner_covering_all_their_bills() {
    let e = estate().await;
    let (u_new, _) = e.household("1-101", "13800000101").await;
    let (u_friendly, _) = e.household("1-102", "13800000102").await;
    let (u_formal, _) = e.household("1-103", "13800000103").await;
    let (u_final, _) = e.household("1-104", "13800000104").await;
    e.bill_due(u_new, 1).await; // not yet a stage
    e.bill_due(u_friendly, 5).await;
    e.bill_due(u_formal, 40).await;
    e.bill_due(u_formal, 10).await;
    // Go-live with arrears a year old: every stage has passed, only the final notice goes.
    for age in [400, 370, 340, 95] {
        e.bill_due(u_final, age).await;
    }
    let report = e.run().await;
    assert_eq!(report["sent"], 3, "{report}");
    assert_eq!(
        (report["tasks"].as_i64(), report["skipped"].as_i64()),
        (Some(0), Some(0))
    );
    assert_eq!(stage_count(&report, "overdue_friendly"), 1);
    assert_eq!(stage_count(&report, "overdue_formal"), 1);
    assert_eq!(stage_count(&report, "final_notice"), 1);
    assert!(e.evidence(u_new).await.is_empty());

    // Evidence keeps exactly what SMS carried: the template, its registered wording, the parameters.
    let final_records = e.evidence(u_final).await;
    assert_eq!(final_records.len(), 1);
    assert_eq!(
        (&final_records[0]["stage"], &final_records[0]["channel"]),
        (&json!("final_notice"), &json!("sms"))
    );
    let sms = final_records[0]["content"].as_str().unwrap();
    assert!(
        sms.contains("模板：100003") && sms.contains("您有{2}笔费用共{1}元待缴") && sms.contains("{1}=1371.75；{2}=4"),
        "{sms}"
    );
    assert!(
        !sms.contains("最终催告通知书"),
        "the letter was not what SMS carried: {sms}"
    );

    // The letter itself is the printed notice: one per owner covering all their bills, naming the
    // fee items. 4 × 300.00 principal; late fee 0.05 % a day after 15 days' grace:
    // 300 × 0.0005 × (385 + 355 + 325 + 80) days = 171.75.
    let page = notice_page(&e, u_final).await;
    for must in [
        "最终催告通知书",
        "物业服务费4笔计1371.75元",
        "合计人民币1371.75元",
        "本金1200.00元",
        "违约金171.75元",
    ] {
        assert!(page.contains(must), "notice lacks {must}");
    }
    // Its first demand to this owner: it claims no earlier one.
    assert!(
        !page.contains("送达催告") && !page.contains("此前"),
        "no prior demand was delivered"
    );
    let formal = notice_page(&e, u_formal).await;
    assert!(formal.contains("催告函") && formal.contains("物业服务费2笔计"));
    // Nothing threatening in anything sent or printed.
    for u in [u_friendly, u_formal, u_final] {
        for r in e.evidence(u).await {
            assert_eq!(banned_word(r["content"].as_str().unwrap()), None);
        }
    }
    assert_eq!(banned_word(&page), None);
    // SMS reached everyone: no call tasks; formal and final notices are also printed for
    // delivery, and the final notice opens a visit.
    let tasks = e.tasks().await;
    let kinds = |unit: i64| task_kinds(&tasks, unit);
    assert!(kinds(u_friendly).is_empty());
    assert_eq!(kinds(u_formal), ["printed_notice"]);
    assert_eq!(kinds(u_final), ["printed_notice", "visit"]);
    assert_eq!(e.sms.as_ref().unwrap().1.load(Ordering::SeqCst), 3);

    // Staff see what went out, to whom and how.
    let sent: Value = e
        .app
        .get_json(
            &format!("/api/v1/staff/reminders?community_id={}&status=sent", e.community),
            Some(&e.admin),
        )
        .await;
    assert_eq!(sent["total"], 3, "{sent}");
    let finals: Value = e
        .app
        .get_json(
            &format!(
                "/api/v1/staff/reminders?community_id={}&stage=final_notice",
                e.community
            ),
            Some(&e.admin),
        )
        .await;
    assert_eq!(finals["items"][0]["bill_ids"].as_array().unwrap().len(), 4);
    assert_eq!(finals["items"][0]["channel"], "sms");
    assert_eq!(finals["items"][0]["amount"], "1371.75");
    let r = e
        .app
        .get(
            &format!("/api/v1/staff/reminders?community_id={}&stage=monthly", e.community),
            Some(&e.admin),
        )
        .await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
    // A second pass sends nothing, and neither does a month later (no monthly repeat of a demand).
    let again = e.run().await;
    assert_eq!(again["sent"], 0, "{again}");
    let mut e = e;
    e.advance(Duration::days(30)).await;
    let month_later = e.run().await;
    // The friendly owner's arrears are now 35 days old and the newest owner's 31: both get the
    // formal notice (the newest never had a friendly one: only the highest passed stage goes).
    assert_eq!(month_later["sent"], 2, "{month_later}");
    assert_eq!(stage_count(&month_later, "overdue_formal"), 2);
    assert_eq!(e.app.count("reminders").await, 5);
}

#[tokio::test]
async fn with_no_channel_nothing_is_called_sent_and_courtesy_reminders_are_skipped() {
    let e = estate_without_channels().await;
    let (u_friendly, _) = e.household("1-102", "13800000102").await;
    let (u_formal, _) = e.household("1-103", "13800000103").await;
    let (u_final, _) = e.household("1-104", "13800000104").await;
    e.bill_due(u_friendly, 5).await;
    e.bill_due(u_formal, 40).await;
    e.bill_due(u_final, 95).await;
    let report = e.run().await;
    assert_eq!(
        (
            report["sent"].as_i64(),
            report["tasks"].as_i64(),
            report["skipped"].as_i64()
        ),
        (Some(0), Some(2), Some(1)),
        "{report}"
    );
    assert_eq!(report["by_stage"], json!({}), "by_stage counts what was sent");
    // Nothing was transmitted, so nothing is evidence yet.
    for u in [u_friendly, u_formal, u_final] {
        assert!(e.evidence(u).await.is_empty());
    }
    // A courtesy reminder is never turned into a collector's call; formal notices go to staff.
    let tasks = e.tasks().await;
    let kinds = |unit: i64| task_kinds(&tasks, unit);
    assert!(kinds(u_friendly).is_empty());
    assert_eq!(kinds(u_formal), ["call", "printed_notice"]);
    assert_eq!(kinds(u_final), ["call", "printed_notice", "visit"]);
    for (status, n) in [("sent", 0), ("task", 2), ("skipped", 1)] {
        let page: Value = e
            .app
            .get_json(
                &format!("/api/v1/staff/reminders?community_id={}&status={status}", e.community),
                Some(&e.admin),
            )
            .await;
        assert_eq!(page["total"], n, "{status}: {page}");
    }
}

#[tokio::test]
async fn a_new_episode_starts_after_the_arrears_are_cleared() {
    let mut e = estate().await;
    let (unit, _) = e.household("2-201", "13800000201").await;
    let first = e.bill_due(unit, 5).await;
    assert_eq!(e.run().await["sent"], 1);
    // Paid at the counter: the episode ends at the next pass.
    e.created(
        "/api/v1/staff/payments/counter",
        json!({"bill_ids": [first], "method": "cash", "reference": "R-001"}),
    )
    .await;
    assert_eq!(e.run().await["sent"], 0);
    e.advance(Duration::days(10)).await;
    // New arrears, five days old: a new episode, so the friendly reminder goes again.
    let later = today() + Duration::days(10);
    let b = e.bill_due(unit, 0).await;
    e.exec(&format!(
        "UPDATE bills SET due_date = '{}' WHERE id = {b}",
        later - Duration::days(5)
    ))
    .await;
    let report = e.run().await;
    assert_eq!(stage_count(&report, "overdue_friendly"), 1, "{report}");
    assert_eq!(e.app.count("reminder_episodes").await, 2);
    // Two reminders with the counter payment between them.
    let kinds: Vec<String> = e
        .evidence(unit)
        .await
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["reminder", "payment", "reminder"]);
}

#[tokio::test]
async fn quiet_hours_and_holidays_defer_and_do_not_drop() {
    let mut e = estate().await;
    let (unit, _) = e.household("3-301", "13800000301").await;
    e.bill_due(unit, 5).await;
    // 22:30 in Shanghai.
    e.advance(Duration::minutes(12 * 60 + 30)).await;
    let night = e.run().await;
    assert_eq!(night["sent"], 0, "{night}");
    assert_eq!(night["deferred"], 1, "{night}");
    // 08:05 next morning, which staff declared a holiday: still waiting.
    let mut policy: Value = e
        .app
        .get_json(
            &format!("/api/v1/staff/communities/{}/reminder-policy", e.community),
            Some(&e.admin),
        )
        .await;
    assert_eq!(policy["stages"]["overdue_formal"]["days"], 30);
    policy["no_send_dates"] = json!(["2026-10-21"]);
    let r = e
        .app
        .http
        .put(
            e.app
                .url(&format!("/api/v1/staff/communities/{}/reminder-policy", e.community)),
        )
        .bearer_auth(&e.admin)
        .json(&policy)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    e.advance(Duration::minutes(9 * 60 + 35)).await;
    let holiday = e.run().await;
    assert_eq!(holiday["sent"], 0, "{holiday}");
    assert_eq!(holiday["deferred"], 1);
    // The day after, at 08:05: sent.
    e.advance(Duration::days(1)).await;
    let morning = e.run().await;
    assert_eq!(morning["sent"], 1, "{morning}");
    let at: chrono::DateTime<Utc> = e.evidence(unit).await[0]["at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        at.with_timezone(&chrono_tz::Asia::Shanghai)
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        "2026-10-22 08:05"
    );
}

#[tokio::test]
async fn a_hold_suppresses_reminders_until_it_ends_and_is_evidence() {
    let mut e = estate().await;
    let (unit, _) = e.household("4-401", "13800000401").await;
    let b = e.bill_due(unit, 5).await;
    e.created(
        "/api/v1/staff/holds",
        json!({"bill_ids": [b], "reason": "业主反映漏水，待维修后再催", "until": "2026-10-25"}),
    )
    .await;
    let held = e.run().await;
    assert_eq!(held["sent"], 0, "{held}");
    assert_eq!(held["suppressed"], 1, "{held}");
    let records = e.evidence(unit).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["kind"], "hold");
    // After the hold ends the reminder goes.
    e.advance(Duration::days(6)).await;
    let after = e.run().await;
    assert_eq!(after["sent"], 1, "{after}");
    // Bad holds change nothing.
    let before = e.app.count("collection_holds").await;
    for body in [
        json!({"reason": "x", "until": "2026-11-30"}),
        json!({"bill_ids": [b], "reason": "理由", "until": "2020-01-01"}),
        json!({"bill_ids": [999999], "reason": "理由", "until": "2026-11-30"}),
    ] {
        let r = e.app.post("/api/v1/staff/holds", Some(&e.admin), &body).await;
        assert_error(r, 422, "VALIDATION_FAILED").await;
    }
    assert_eq!(e.app.count("collection_holds").await, before);
}

#[tokio::test]
async fn a_paid_bill_is_rechecked_just_before_sending() {
    let mut e = estate().await;
    let (unit, _) = e.household("4-402", "13800000402").await;
    let b = e.bill_due(unit, 5).await;
    // Decided at night (deferred), paid before the morning send: nothing goes out.
    e.advance(Duration::minutes(12 * 60 + 30)).await;
    assert_eq!(e.run().await["deferred"], 1);
    e.exec(&format!(
        "UPDATE bills SET status = 'paid', paid_principal_fen = principal_fen WHERE id = {b}"
    ))
    .await;
    e.advance(Duration::hours(10)).await;
    let morning = e.run().await;
    assert_eq!(morning["sent"], 0, "{morning}");
    assert_eq!(morning["suppressed"], 1, "{morning}");
    assert!(e.evidence(unit).await.is_empty());
}

#[tokio::test]
async fn four_passes_at_once_on_two_replicas_send_each_message_once() {
    let e = estate().await;
    let replica = e.app.replica_with(e.sms.as_ref().unwrap().2.clone()).await;
    let mut units = Vec::new();
    for i in 0..12 {
        let (u, _) = e.household(&format!("5-{i:03}"), &format!("138000005{i:02}")).await;
        e.bill_due(u, 5 + i).await;
        units.push(u);
    }
    let body = json!({"community_id": e.community});
    let (a, b, c, d) = tokio::join!(
        e.app.post("/api/v1/staff/reminder-runs", Some(&e.admin), &body),
        replica.post("/api/v1/staff/reminder-runs", Some(&e.admin), &body),
        e.app.post("/api/v1/staff/reminder-runs", Some(&e.admin), &body),
        replica.post("/api/v1/staff/reminder-runs", Some(&e.admin), &body),
    );
    let mut sent = 0;
    for r in [a, b, c, d] {
        assert_eq!(r.status(), 200);
        sent += r.json::<Value>().await.unwrap()["sent"].as_i64().unwrap();
    }
    assert_eq!(sent, 12);
    assert_eq!(e.app.count("reminders").await, 12);
    for u in units {
        assert_eq!(e.evidence(u).await.len(), 1, "unit {u}");
    }
}

#[tokio::test]
async fn a_sender_that_dies_after_claiming_is_replaced_after_its_lease() {
    let mut e = estate().await;
    let (unit, _) = e.household("6-601", "13800000601").await;
    e.bill_due(unit, 5).await;
    // Decide at night, then claim in the morning and "die" before sending.
    e.advance(Duration::minutes(12 * 60 + 30)).await;
    e.run().await;
    e.advance(Duration::hours(10)).await;
    let claimed = wuye::services::collection::reminders::pass::claim(&e.app.state, e.community as i32, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    // Within the lease nobody else sends it.
    assert_eq!(e.run().await["sent"], 0);
    e.app.clock.advance(Duration::seconds(301));
    let after = e.run().await;
    assert_eq!(after["sent"], 1, "{after}");
    assert_eq!(e.run().await["sent"], 0);
    assert_eq!(e.evidence(unit).await.len(), 1);
}

/// A fake Tencent Cloud SMS that checks each request's TC3-HMAC-SHA256 signature itself.
struct FakeSms {
    secret_key: String,
    sent: Arc<AtomicUsize>,
}

impl Respond for FakeSms {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        use ring::{digest, hmac};
        let h = |name: &str| {
            req.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let sha = |b: &[u8]| hex::encode(digest::digest(&digest::SHA256, b));
        let mac = |k: &[u8], m: &str| {
            hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, k), m.as_bytes())
                .as_ref()
                .to_vec()
        };
        let ts: i64 = h("x-tc-timestamp").parse().unwrap_or(0);
        let date = chrono::DateTime::from_timestamp(ts, 0)
            .unwrap()
            .format("%Y-%m-%d")
            .to_string();
        let canonical = format!(
            "POST\n/\n\ncontent-type:{}\nhost:{}\n\ncontent-type;host\n{}",
            h("content-type"),
            h("host"),
            sha(&req.body)
        );
        let to_sign = format!(
            "TC3-HMAC-SHA256\n{ts}\n{date}/sms/tc3_request\n{}",
            sha(canonical.as_bytes())
        );
        let key = mac(
            &mac(&mac(format!("TC3{}", self.secret_key).as_bytes(), &date), "sms"),
            "tc3_request",
        );
        let expected = format!(
            "TC3-HMAC-SHA256 Credential=AKIDtest/{date}/sms/tc3_request, SignedHeaders=content-type;host, Signature={}",
            hex::encode(mac(&key, &to_sign))
        );
        if h("authorization") != expected || h("x-tc-action") != "SendSms" {
            return ResponseTemplate::new(200).set_body_json(json!({"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "bad signature"}, "RequestId": "r"}}));
        }
        self.sent.fetch_add(1, Ordering::SeqCst);
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        ResponseTemplate::new(200).set_body_json(json!({"Response": {"SendStatusSet": [{
            "SerialNo": "2433:fake-serial", "PhoneNumber": body["PhoneNumberSet"][0], "Code": "Ok", "Message": "send success"}],
            "RequestId": "r"}}))
    }
}

#[tokio::test]
async fn a_subscribe_grant_is_spent_then_sms_takes_over() {
    let sms_server = MockServer::start().await;
    let sent = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .and(path("/"))
        .respond_with(FakeSms {
            secret_key: "test-sms-key".into(),
            sent: sent.clone(),
        })
        .mount(&sms_server)
        .await;
    let app = spawn_app_with(TestOptions {
        overrides: vec![
            ("wechat.templates.overdue_friendly", "TPL-FRIENDLY".into()),
            ("sms.api_base", sms_server.uri()),
            ("sms.secret_id", "AKIDtest".into()),
            ("sms.secret_key", "test-sms-key".into()),
            ("sms.sdk_app_id", "1400000000".into()),
            ("sms.sign_name", "物业".into()),
            ("sms.templates.overdue_friendly", "100001".into()),
        ],
        ..Default::default()
    })
    .await;
    app.wechat_token("tok").await;
    let wechat_sends = Arc::new(AtomicUsize::new(0));
    let counter = wechat_sends.clone();
    // The first send succeeds; after that the owner has no subscription left (43101).
    Mock::given(method("POST"))
        .and(path("/cgi-bin/message/subscribe/send"))
        .respond_with(move |_: &Request| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let errcode = if n == 0 { 0 } else { 43101 };
            ResponseTemplate::new(200).set_body_json(json!({"errcode": errcode, "errmsg": "ok"}))
        })
        .mount(&app.wechat)
        .await;
    let e = estate_on(app).await;
    let (u1, _) = e.household("7-701", "13800000701").await;
    let (owner, _) = e.app.owner_login("openid-701").await;
    e.app.bind_phone(&owner, "13800000701").await;
    let r = e
        .app
        .post(
            "/api/v1/me/subscriptions",
            Some(&owner),
            &json!({"template_ids": ["TPL-FRIENDLY", "TPL-FRIENDLY"]}),
        )
        .await;
    assert_eq!(r.status(), 201);
    e.bill_due(u1, 5).await;
    let first = e.run().await;
    assert_eq!(first["sent"], 1, "{first}");
    let rec = &e.evidence(u1).await[0];
    assert_eq!(rec["channel"], "wechat", "{rec}");
    assert_eq!(sent.load(Ordering::SeqCst), 0);

    // Next episode: WeChat says 43101, the grant is spent anyway, and SMS delivers (signed).
    e.exec(&format!("UPDATE bills SET status = 'paid' WHERE unit_id = {u1}"))
        .await;
    e.run().await;
    e.bill_due(u1, 6).await;
    // Within a day of the last message the owner is not messaged again: it waits.
    let too_soon = e.run().await;
    assert_eq!(too_soon["sent"], 0, "{too_soon}");
    assert_eq!(too_soon["deferred"], 1, "{too_soon}");
    let mut e = e;
    e.advance(Duration::hours(25)).await;
    let second = e.run().await;
    assert_eq!(second["sent"], 1, "{second}");
    let records = e.evidence(u1).await;
    let last = records.last().unwrap();
    assert_eq!(last["channel"], "sms", "{last}");
    let result = last["result"].as_str().unwrap();
    assert!(
        result.contains("43101") && result.contains("2433:fake-serial"),
        "{result}"
    );
    assert_eq!(sent.load(Ordering::SeqCst), 1);
    let unspent = e.app.count("subscribe_grants WHERE spent_at IS NULL").await;
    assert_eq!(unspent, 0);
    // A bad grant list is refused.
    let r = e
        .app
        .post("/api/v1/me/subscriptions", Some(&owner), &json!({"template_ids": []}))
        .await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
}

#[tokio::test]
async fn the_evidence_chain_catches_any_edit_deletion_or_reordering() {
    let e = estate().await;
    let (unit, _) = e.household("8-801", "13800000801").await;
    for outcome in ["电话无人接听", "业主承诺月底缴费", "上门未遇"] {
        let r = e
            .app
            .post(
                "/api/v1/staff/contacts",
                Some(&e.admin),
                &json!({"unit_id": unit, "kind": "call", "outcome": outcome}),
            )
            .await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    }
    let intact = e.verify(unit).await;
    assert_eq!(intact, json!({"ok": true, "records": 3}));
    let id_of = |seq: i64| format!("(SELECT id FROM evidence WHERE unit_id = {unit} AND seq = {seq})");
    // Each field of the middle record, edited then restored.
    let edits = [
        ("kind", "'visit'", "'call'"),
        ("stage", "'final_notice'", "NULL"),
        ("channel", "'wechat'", "'staff'"),
        ("content", "'{}'", "content"),
        ("content_sha256", "'00'", "content_sha256"),
        ("chain_hash", "'00'", "chain_hash"),
        ("result", "'by staff:99'", "result"),
        ("at", "at", "at"),
    ];
    for (col, bad, _) in edits.iter().filter(|(c, _, _)| *c != "at" && *c != "content") {
        let original: Vec<Value> = e.evidence(unit).await;
        e.exec(&format!("UPDATE evidence SET {col} = {bad} WHERE id = {}", id_of(2)))
            .await;
        let v = e.verify(unit).await;
        assert_eq!(v["ok"], false, "editing {col} went unnoticed");
        assert_eq!(v["first_bad_seq"], 2, "{col}: {v}");
        let orig = &original[1][*col];
        let restore = match orig {
            Value::Null => "NULL".to_string(),
            v => format!("'{}'", v.as_str().unwrap()),
        };
        e.exec(&format!(
            "UPDATE evidence SET {col} = {restore} WHERE id = {}",
            id_of(2)
        ))
        .await;
        assert_eq!(e.verify(unit).await["ok"], true, "restoring {col}");
    }
    // The content, and the time.
    e.exec(&format!(
        "UPDATE evidence SET content = content || ' ' WHERE id = {}",
        id_of(2)
    ))
    .await;
    assert_eq!(e.verify(unit).await["first_bad_seq"], 2);
    e.exec(&format!(
        "UPDATE evidence SET content = TRIM(content) WHERE id = {}",
        id_of(2)
    ))
    .await;
    assert_eq!(e.verify(unit).await["ok"], true);
    let shift = match e.app.db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => "at + INTERVAL '1 second'",
        _ => "'2026-10-20 02:00:01+00:00'",
    };
    let original_at = e.evidence(unit).await[1]["at"].as_str().unwrap().to_string();
    e.exec(&format!("UPDATE evidence SET at = {shift} WHERE id = {}", id_of(2)))
        .await;
    assert_eq!(e.verify(unit).await["first_bad_seq"], 2);
    // Reordering the first two records.
    e.exec(&format!(
        "UPDATE evidence SET at = '{original_at}' WHERE id = {}",
        id_of(2)
    ))
    .await;
    e.exec(&format!("UPDATE evidence SET seq = 100 WHERE id = {}", id_of(1)))
        .await;
    e.exec(&format!("UPDATE evidence SET seq = 1 WHERE id = {}", id_of(2)))
        .await;
    e.exec(&format!("UPDATE evidence SET seq = 2 WHERE id = {}", id_of(100)))
        .await;
    let reordered = e.verify(unit).await;
    assert_eq!(reordered["ok"], false);
    // Deleting the newest record: the chain holds but no longer reaches the head.
    let e2 = estate().await;
    let (u2, _) = e2.household("8-802", "13800000802").await;
    for outcome in ["一", "二"] {
        e2.app
            .post(
                "/api/v1/staff/contacts",
                Some(&e2.admin),
                &json!({"unit_id": u2, "kind": "visit", "outcome": outcome}),
            )
            .await;
    }
    e2.exec(&format!("DELETE FROM evidence WHERE unit_id = {u2} AND seq = 2"))
        .await;
    assert_eq!(
        e2.verify(u2).await,
        json!({"ok": false, "records": 1, "first_bad_seq": 2})
    );
    // Deleting a middle one leaves a gap.
    e2.app
        .post(
            "/api/v1/staff/contacts",
            Some(&e2.admin),
            &json!({"unit_id": u2, "kind": "visit", "outcome": "三"}),
        )
        .await;
    let v = e2.verify(u2).await;
    assert_eq!(v["ok"], false, "{v}");
}

#[tokio::test]
async fn a_delivered_formal_notice_restarts_the_limitation_period() {
    let e = estate().await;
    let (unit, _) = e.household("9-901", "13800000901").await;
    // Due 2023-12-10: the three years end on 2026-12-10, within 90 days.
    let old = e
        .bill_due(
            unit,
            (today() - NaiveDate::from_ymd_opt(2023, 12, 10).unwrap()).num_days(),
        )
        .await;
    let recent = e.bill_due(unit, 40).await;
    let alerts: Vec<Value> = e
        .app
        .get_json(
            &format!("/api/v1/staff/limitation-alerts?community_id={}", e.community),
            Some(&e.admin),
        )
        .await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["bill_id"], old);
    assert_eq!(alerts[0]["limitation_ends"], "2026-12-10");
    assert_eq!(alerts[0]["days_left"], 51);
    let _ = recent;
    // The final notice goes out by SMS plus a printed notice; delivering the printed notice (which
    // names the bills and the amount) by registered mail restarts the period of every bill in it.
    assert_eq!(stage_count(&e.run().await, "final_notice"), 1);
    let printed = e
        .tasks()
        .await
        .into_iter()
        .find(|t| t["kind"] == "printed_notice")
        .unwrap();
    // The printable notice: the demand, its bills, the basis, a QR code to pay, a receipt line.
    let page = e
        .app
        .get(
            &format!("/api/v1/staff/tasks/{}/notice.html", printed["id"]),
            Some(&e.admin),
        )
        .await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    for must in [
        "最终催告通知书",
        "第九百四十四条",
        "合计（截至",
        "<svg",
        "扫码缴费",
        "送达回执",
        "9-901",
    ] {
        assert!(page.contains(must), "notice lacks {must}");
    }
    assert_eq!(banned_word(&page), None);
    let visit = e.tasks().await.into_iter().find(|t| t["kind"] == "visit").unwrap();
    let r = e
        .app
        .get(
            &format!("/api/v1/staff/tasks/{}/notice.html", visit["id"]),
            Some(&e.admin),
        )
        .await;
    assert_error(r, 404, "NOT_FOUND").await;
    let bad = e
        .app
        .post(
            "/api/v1/staff/contacts",
            Some(&e.admin),
            &json!({"unit_id": unit, "kind": "printed_notice", "outcome": "已寄出", "task_id": printed["id"], "delivery": "registered_mail"}),
        )
        .await;
    assert_error(bad, 422, "VALIDATION_FAILED").await;
    let done = e
        .created(
            "/api/v1/staff/contacts",
            json!({"unit_id": unit, "kind": "printed_notice", "outcome": "已挂号寄出", "task_id": printed["id"],
                    "delivery": "registered_mail", "mail_no": "XA123456789CN"}),
        )
        .await;
    assert_eq!(done["task"]["status"], "done");
    let alerts: Vec<Value> = e
        .app
        .get_json(
            &format!("/api/v1/staff/limitation-alerts?community_id={}", e.community),
            Some(&e.admin),
        )
        .await;
    assert!(alerts.is_empty(), "{alerts:?}");
    // The task cannot be completed twice.
    let again = e
        .app
        .post(
            "/api/v1/staff/contacts",
            Some(&e.admin),
            &json!({"unit_id": unit, "kind": "printed_notice", "outcome": "再寄", "task_id": printed["id"],
                    "delivery": "registered_mail", "mail_no": "XA1"}),
        )
        .await;
    assert_error(again, 409, "TASK_DONE").await;

    // The case file has the unit, the masked owner, the bills with their arithmetic, every
    // notice and the delivery proof; the HTML escapes what it prints.
    let file: Value = e
        .app
        .get_json(&format!("/api/v1/staff/units/{unit}/case-file"), Some(&e.admin))
        .await;
    assert_eq!(file["unit"]["code"], "9-901");
    assert_eq!(file["owners"][0]["phone"], "138****0901");
    assert_eq!(file["bills"].as_array().unwrap().len(), 2);
    assert!(file["bills"][0]["late_fee_explanation"]
        .as_str()
        .unwrap()
        .contains("按日"));
    assert_eq!(file["bills"][0]["limitation_ends"], "2029-10-20");
    assert_eq!(file["evidence_verification"]["ok"], true);
    let kinds: Vec<&str> = file["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["reminder", "printed_notice"]);
    assert!(file["evidence"][1]["content"]
        .as_str()
        .unwrap()
        .contains("XA123456789CN"));
    let html = e
        .app
        .get(&format!("/api/v1/staff/units/{unit}/case-file.html"), Some(&e.admin))
        .await;
    assert_eq!(html.status(), 200);
    assert!(html.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = html.text().await.unwrap();
    assert!(page.contains("物业费纠纷案卷") && page.contains("XA123456789CN") && page.contains("9-901"));
    assert!(!page.contains("13800000901"));
}

#[tokio::test]
async fn policies_are_validated_and_only_collection_managers_change_them() {
    let e = estate().await;
    let url = format!("/api/v1/staff/communities/{}/reminder-policy", e.community);
    let mut p: Value = e.app.get_json(&url, Some(&e.admin)).await;
    p["stages"]["overdue_formal"]["days"] = json!(2);
    p["quiet_hours"] = json!("late");
    let r = e
        .app
        .http
        .put(e.app.url(&url))
        .bearer_auth(&e.admin)
        .json(&p)
        .send()
        .await
        .unwrap();
    let body = assert_error(r, 422, "VALIDATION_FAILED").await;
    let fields = &body["details"]["fields"];
    assert!(
        fields.get("stages").is_some() && fields.get("quiet_hours").is_some(),
        "{body}"
    );
    let (_, collector) = e
        .app
        .staff_member(&e.admin, "collector1", "collector", &[e.community])
        .await;
    let ok: Value = e.app.get_json(&url, Some(&e.admin)).await;
    let r = e
        .app
        .http
        .put(e.app.url(&url))
        .bearer_auth(&collector)
        .json(&ok)
        .send()
        .await
        .unwrap();
    assert_error(r, 403, "FORBIDDEN").await;
    let r = e
        .app
        .post("/api/v1/staff/reminder-runs", Some(&collector), &json!({}))
        .await;
    assert_error(r, 403, "FORBIDDEN").await;
    // Stored unchanged.
    let now: Value = e.app.get_json(&url, Some(&e.admin)).await;
    assert_eq!(now["stages"]["overdue_formal"]["days"], 30);
}

#[tokio::test]
async fn an_owner_who_opted_out_gets_formal_notices_only() {
    let mut e = estate().await;
    let (unit, _) = e.household("10-1", "13800001001").await;
    let (owner, _) = e.app.owner_login("openid-1001").await;
    e.app.bind_phone(&owner, "13800001001").await;
    let r = e
        .app
        .http
        .put(e.app.url("/api/v1/me/reminder-preferences"))
        .bearer_auth(&owner)
        .json(&json!({"friendly": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    e.bill_due(unit, 5).await;
    assert_eq!(e.run().await["sent"], 0);
    e.advance(Duration::days(26)).await;
    let formal = e.run().await;
    assert_eq!(stage_count(&formal, "overdue_formal"), 1, "{formal}");
}

#[tokio::test]
async fn concurrent_appends_to_one_unit_never_fork_the_chain() {
    let e = estate().await;
    let (unit, _) = e.household("11-1", "13800001101").await;
    let bodies: Vec<Value> = (0..8)
        .map(|i| json!({"unit_id": unit, "kind": "call", "outcome": format!("第{i}次电话")}))
        .collect();
    let posts = bodies
        .iter()
        .map(|b| e.app.post("/api/v1/staff/contacts", Some(&e.admin), b));
    for r in futures_util::future::join_all(posts).await {
        assert_eq!(r.status(), 201);
    }
    let records = e.evidence(unit).await;
    let seqs: Vec<i64> = records.iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=8).collect::<Vec<i64>>());
    assert_eq!(e.verify(unit).await, json!({"ok": true, "records": 8}));
}

#[tokio::test]
async fn contacts_are_validated_and_recorded_by_follow_up_staff_only() {
    let e = estate().await;
    let (unit, _) = e.household("12-1", "13800001201").await;
    let before = e.app.count("evidence").await;
    for body in [
        json!({"unit_id": unit, "kind": "sms", "outcome": "已发"}),
        json!({"unit_id": unit, "kind": "call", "outcome": ""}),
        json!({"unit_id": unit, "kind": "visit", "outcome": "上门", "proof_url": "ftp://x"}),
        json!({"unit_id": unit, "kind": "printed_notice", "outcome": "当面送达", "delivery": "in_person"}),
        json!({"unit_id": 999999, "kind": "call", "outcome": "无人接听"}),
    ] {
        let r = e.app.post("/api/v1/staff/contacts", Some(&e.admin), &body).await;
        assert_error(r, 422, "VALIDATION_FAILED").await;
    }
    assert_eq!(e.app.count("evidence").await, before);
    let (_, finance) = e.app.staff_member(&e.admin, "fin1", "finance", &[e.community]).await;
    let (_, collector) = e.app.staff_member(&e.admin, "col1", "collector", &[e.community]).await;
    let body = json!({"unit_id": unit, "kind": "call", "outcome": "业主称下周缴费"});
    let r = e.app.post("/api/v1/staff/contacts", Some(&finance), &body).await;
    assert_error(r, 403, "FORBIDDEN").await;
    let r = e.app.post("/api/v1/staff/contacts", Some(&collector), &body).await;
    assert_eq!(r.status(), 201);
    let records = e.evidence(unit).await;
    assert_eq!(records.len(), 1);
    assert!(records[0]["result"].as_str().unwrap().starts_with("by staff:"));
}

/// A second fee item (parking, fixed 150.00 a month) for the estate.
async fn parking_item(e: &Estate) -> i32 {
    let v = e
        .created(
            "/api/v1/staff/fee-items",
            json!({"community_id": e.community, "name": "车位费", "kind": "fixed",
                   "unit_price": "150.00", "cycle": "monthly", "due_day": 10}),
        )
        .await;
    v["id"].as_i64().unwrap() as i32
}

#[tokio::test]
async fn notices_name_each_fee_item_and_state_a_prior_demand_only_when_one_was_delivered() {
    let mut e = estate().await;
    let parking = parking_item(&e).await;
    let (unit, _) = e.household("13-1", "13800001301").await;
    e.bill_due(unit, 40).await;
    let p = e.bill_due(unit, 35).await;
    e.exec(&format!(
        "UPDATE bills SET fee_item_id = {parking}, principal_fen = 15000 WHERE id = {p}"
    ))
    .await;
    assert_eq!(stage_count(&e.run().await, "overdue_formal"), 1);
    let formal = notice_page(&e, unit).await;
    assert!(
        formal.contains("物业服务费1笔计") && formal.contains("车位费1笔计"),
        "fees named"
    );
    assert!(!formal.contains("欠缴物业费2笔"), "parking is not 物业费");
    assert!(!formal.contains("送达催告"));
    // The formal notice is delivered in person; sixty days later the final notice says so, dated.
    let printed = e
        .tasks()
        .await
        .into_iter()
        .find(|t| t["kind"] == "printed_notice")
        .unwrap();
    e.created(
        "/api/v1/staff/contacts",
        json!({"unit_id": unit, "kind": "printed_notice", "outcome": "业主签收", "task_id": printed["id"],
               "delivery": "in_person", "proof_url": "https://files.example/p1.jpg"}),
    )
    .await;
    e.advance(Duration::days(60)).await;
    assert_eq!(stage_count(&e.run().await, "final_notice"), 1);
    let tasks = e.tasks().await;
    let final_task = tasks
        .iter()
        .find(|t| t["kind"] == "printed_notice" && t["stage"] == "final_notice")
        .unwrap();
    let page = e
        .app
        .get(
            &format!("/api/v1/staff/tasks/{}/notice.html", final_task["id"]),
            Some(&e.admin),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("本公司已于2026年10月20日向您送达催告"),
        "the delivered demand, dated"
    );
    // The evidence of the delivery keeps the letter exactly as printed.
    let records = e.evidence(unit).await;
    let delivered = records.iter().find(|r| r["kind"] == "printed_notice").unwrap();
    let content: Value = serde_json::from_str(delivered["content"].as_str().unwrap()).unwrap();
    assert!(content["notice"]["letter"].as_str().unwrap().starts_with("催告函"));
    assert!(content["notice"]["number"].as_str().unwrap().starts_with("TZ20261020"));
}

#[tokio::test]
async fn only_live_ways_out_are_offered_and_each_has_its_route() {
    use wuye::domain::reminders::{WayOut, BUILDING, LIVE};
    // Every promise a template can make is a route the app serves (or the promise is not live).
    let routes: Vec<(String, String)> = wuye::routes::table(false)
        .iter()
        .map(|r| (r.method.to_uppercase(), r.path.to_string()))
        .collect();
    for w in WayOut::ALL {
        let (m, p) = w.route();
        let served = routes.contains(&(m.to_string(), p.to_string()));
        if LIVE.contains(&w) {
            assert!(served, "{w:?} is offered but {m} {p} is not served");
            assert!(!BUILDING.contains(&w), "{w:?} is both live and being built");
        } else if BUILDING.contains(&w) {
            assert!(served, "{w:?} is being built but {m} {p} is not served");
        } else {
            assert!(!served, "{w:?} is served at {p}: make it LIVE so notices offer it");
        }
    }
    // A community can switch ways out off; switched on or off, nothing not live is offered.
    let e = estate().await;
    let r = e
        .app
        .patch(
            &format!("/api/v1/staff/communities/{}", e.community),
            Some(&e.admin),
            &json!({"features": {"installments": false, "hardship": false}}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let c: Value = r.json().await.unwrap();
    assert_eq!(c["features"]["installments"], false);
    assert_eq!(c["features"]["hardship"], false);
    assert_eq!(c["features"]["points"], true);
    let (unit, _) = e.household("14-1", "13800001401").await;
    e.bill_due(unit, 40).await;
    e.run().await;
    let page = notice_page(&e, unit).await;
    assert!(page.contains(WayOut::Pay.sentence()));
    for w in WayOut::ALL.into_iter().filter(|w| !LIVE.contains(w)) {
        assert!(!page.contains(w.sentence()), "{w:?} offered");
    }
    for word in ["分期", "困难帮扶", "困难减免"] {
        assert!(!page.contains(word), "promises {word}");
    }
    // Disputes and points are live and on in this community: the notice offers them.
    assert!(page.contains(WayOut::Disputes.sentence()));
    assert!(page.contains(WayOut::Points.sentence()));
    // Switched off, points are not mentioned at all.
    crate::points::points_off(&e.app, &e.admin, e.community).await;
    let (unit, _) = e.household("14-2", "13800001402").await;
    e.bill_due(unit, 40).await;
    e.run().await;
    let page = notice_page(&e, unit).await;
    assert!(!page.contains("积分"), "points are off here");
    assert!(page.contains(WayOut::Disputes.sentence()));
    // Installments and hardship help switched back on: the notice offers them.
    let r = e
        .app
        .patch(
            &format!("/api/v1/staff/communities/{}", e.community),
            Some(&e.admin),
            &json!({"features": {"installments": true, "hardship": true}}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let (unit, _) = e.household("14-3", "13800001403").await;
    e.bill_due(unit, 40).await;
    e.run().await;
    let page = notice_page(&e, unit).await;
    assert!(
        page.contains(WayOut::Installments.sentence()),
        "installments are live and on"
    );
    assert!(
        page.contains(WayOut::Hardship.sentence()),
        "hardship help is live and on"
    );
}

/// The table rows of a printed notice: each row's cells as text.
fn notice_rows(page: &str) -> Vec<Vec<String>> {
    let body = page.split("<tbody>").nth(1).unwrap().split("</tbody>").next().unwrap();
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|c| c.split('>').nth(1).unwrap().split('<').next().unwrap().to_string())
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn a_notice_is_a_numbered_snapshot_and_a_reprint_is_identical() {
    let e = estate().await;
    let (unit, _) = e.household("15-1", "13800001501").await;
    let a = e.bill_due(unit, 45).await;
    let b = e.bill_due(unit, 40).await;
    // Part of the second bill was paid before (carried over from an earlier system).
    e.exec(&format!("UPDATE bills SET paid_principal_fen = 10000 WHERE id = {b}"))
        .await;
    e.run().await;
    let first = notice_page(&e, unit).await;
    assert!(first.contains("通知书号：TZ20261020"), "numbered");
    assert_eq!(notice_page(&e, unit).await, first, "a reprint is identical");
    let n: Value = serde_json::from_str(&{
        use sea_orm::EntityTrait;
        entity::notice::Entity::find()
            .one(&e.app.db)
            .await
            .unwrap()
            .unwrap()
            .snapshot
    })
    .unwrap();
    assert_eq!(n["rows"].as_array().unwrap().len(), 2);
    // Every row adds up, with a 已缴 column because something was paid: principal + late fee − paid = due.
    assert!(first.contains("<th class=n>已缴</th>"));
    let adds_up = |page: &str| {
        for row in notice_rows(page) {
            assert_eq!(row.len(), 8, "{row:?}");
            let money = |i: usize| wuye::domain::Fen::parse(&row[i]).unwrap().0;
            assert_eq!(money(4) + money(5) - money(6), money(7), "{row:?}");
        }
    };
    adds_up(&first);
    assert!(notice_rows(&first).iter().any(|r| r[6] == "100.00"));
    // A payment after the notice: the snapshot stands, with a dated line of what is due today.
    e.created(
        "/api/v1/staff/payments/counter",
        json!({"bill_ids": [a], "method": "cash", "reference": "R-15"}),
    )
    .await;
    let after = notice_page(&e, unit).await;
    assert!(
        after.contains("截至2026-10-20，因其后已有缴款或退款，上列账单尚需缴纳"),
        "due-today line"
    );
    let frozen = |p: &str| {
        p.split("<tbody>")
            .nth(1)
            .unwrap()
            .split("</tfoot>")
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(frozen(&after), frozen(&first), "the table is the snapshot");
    adds_up(&after);
}

#[tokio::test]
async fn a_hold_suspends_follow_up_and_ending_it_early_resumes_everything() {
    let e = estate_without_channels().await;
    let (unit, _) = e.household("16-1", "13800001601").await;
    let b = e.bill_due(unit, 40).await;
    assert_eq!(e.run().await["tasks"], 1);
    assert_eq!(e.tasks().await.len(), 2, "call and printed notice");
    let hold = e
        .created(
            "/api/v1/staff/holds",
            json!({"bill_ids": [b], "reason": "业主投诉漏水，维修后再议", "until": "2026-12-31"}),
        )
        .await;
    let hold_id = hold[0]["id"].as_i64().unwrap();
    // Open follow-up on held bills is suspended: out of the queue, no notice to print, no contact.
    assert!(e.tasks().await.is_empty());
    let suspended: Value = e
        .app
        .get_json(
            &format!("/api/v1/staff/tasks?community_id={}&status=suspended", e.community),
            Some(&e.admin),
        )
        .await;
    let suspended = suspended["items"].as_array().unwrap().clone();
    assert_eq!(suspended.len(), 2);
    assert!(suspended.iter().all(|t| t["suspended"] == true));
    let printed = suspended.iter().find(|t| t["kind"] == "printed_notice").unwrap();
    let r = e
        .app
        .get(
            &format!("/api/v1/staff/tasks/{}/notice.html", printed["id"]),
            Some(&e.admin),
        )
        .await;
    assert_error(r, 409, "HELD").await;
    let call = suspended.iter().find(|t| t["kind"] == "call").unwrap();
    let r = e
        .app
        .post(
            "/api/v1/staff/contacts",
            Some(&e.admin),
            &json!({"unit_id": unit, "kind": "call", "outcome": "电话", "task_id": call["id"]}),
        )
        .await;
    assert_error(r, 409, "TASK_SUSPENDED").await;
    // Ending the hold early needs a reason, is audited and kept as evidence; then all resumes.
    let url = format!("/api/v1/staff/holds/{hold_id}");
    let r = e.app.delete(&url, Some(&e.admin), &json!({"reason": ""})).await;
    assert_error(r, 422, "VALIDATION_FAILED").await;
    let r = e
        .app
        .delete(&url, Some(&e.admin), &json!({"reason": "已维修完毕"}))
        .await;
    assert_eq!(r.status(), 200);
    let ended: Value = r.json().await.unwrap();
    assert_eq!(ended["end_reason"], "已维修完毕");
    let r = e.app.delete(&url, Some(&e.admin), &json!({"reason": "再来"})).await;
    assert_error(r, 409, "HOLD_ENDED").await;
    assert_eq!(e.tasks().await.len(), 2, "tasks resume");
    let holds: Value = e
        .app
        .get_json(
            &format!("/api/v1/staff/holds?community_id={}", e.community),
            Some(&e.admin),
        )
        .await;
    assert_eq!(holds["total"], 0, "{holds}");
    assert_eq!(e.app.count("audit_log WHERE action = 'hold.end'").await, 1);
    let kinds: Vec<String> = e
        .evidence(unit)
        .await
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["hold", "hold_end"]);
    assert_eq!(e.verify(unit).await["ok"], true);
}

#[tokio::test]
async fn a_paper_notice_opens_in_the_mini_program_for_its_owner_only() {
    let e = estate().await;
    e.app.wechat_token("tok").await;
    // WeChat makes the code once (an image), and it is kept.
    Mock::given(method("POST"))
        .and(path("/wxa/getwxacodeunlimit"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "image/png")
                .set_body_bytes(b"\x89PNG-fake".to_vec()),
        )
        .mount(&e.app.wechat)
        .await;
    let (unit, _) = e.household("17-1", "13800001701").await;
    e.bill_due(unit, 40).await;
    e.run().await;
    let page = notice_page(&e, unit).await;
    assert!(
        page.contains("data:image/png;base64,"),
        "the mini-program code is printed"
    );
    notice_page(&e, unit).await;
    assert_eq!(
        e.app.wechat_calls("/wxa/getwxacodeunlimit").await,
        1,
        "made once, then stored"
    );
    let scene = {
        use sea_orm::EntityTrait;
        entity::notice::Entity::find()
            .one(&e.app.db)
            .await
            .unwrap()
            .unwrap()
            .scene
    };
    assert!(scene.len() <= 32 && scene.chars().all(|c| c.is_ascii_alphanumeric()));
    // The owner opens it: the bills, what was due then and today, how to pay.
    let (owner, _) = e.app.owner_login("openid-1701").await;
    e.app.bind_phone(&owner, "13800001701").await;
    let n: Value = e.app.get_json(&format!("/api/v1/notices/{scene}"), Some(&owner)).await;
    assert_eq!(n["rows"].as_array().unwrap().len(), 1, "{n}");
    assert_eq!(n["due_then"], n["due_today"]);
    assert_eq!(n["payable_bill_ids"].as_array().unwrap().len(), 1);
    // Anyone else, or a made-up scene, finds nothing.
    let (u2, _) = e.household("17-2", "13800001702").await;
    let _ = u2;
    let (other, _) = e.app.owner_login("openid-1702").await;
    e.app.bind_phone(&other, "13800001702").await;
    assert_error(
        e.app.get(&format!("/api/v1/notices/{scene}"), Some(&other)).await,
        404,
        "NOT_FOUND",
    )
    .await;
    assert_error(e.app.get("/api/v1/notices/nope", Some(&owner)).await, 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn without_a_code_or_a_company_page_a_notice_prints_no_code() {
    let app = spawn_app_with(TestOptions {
        overrides: vec![("reminders.pay_url", String::new())],
        ..Default::default()
    })
    .await;
    let e = estate_on(app).await;
    let (unit, _) = e.household("18-1", "13800001801").await;
    e.bill_due(unit, 40).await;
    e.run().await;
    let page = notice_page(&e, unit).await;
    assert!(
        !page.contains("<svg") && !page.contains("data:image"),
        "no code that leads nowhere"
    );
    assert!(page.contains("请在微信小程序“物业缴费”内缴费，或到物业服务中心缴费"));
}

#[tokio::test]
async fn suppression_clauses_agree_in_rust_and_in_sql() {
    use entity::collection_hold;
    use sea_orm::EntityTrait;
    use wuye::domain::suppression::{self, Effect, Facts, Subject};
    let e = estate_without_channels().await;
    let mut units = Vec::new();
    let mut bills = Vec::new();
    for (i, code) in ["S-1", "S-2", "S-3", "S-4", "S-5", "S-6"].iter().enumerate() {
        let (unit, _) = e.household(code, &format!("1390000000{i}")).await;
        units.push(unit);
        for days in [5, 40] {
            bills.push((unit, e.bill_due(unit, days).await));
        }
    }
    // One settled bill, one cancelled.
    e.exec(&format!("UPDATE bills SET status = 'paid' WHERE id = {}", bills[6].1))
        .await;
    e.exec(&format!(
        "UPDATE bills SET status = 'cancelled' WHERE id = {}",
        bills[7].1
    ))
    .await;
    // Holds of every shape: unit-wide, on one bill, ending today, expired, ended early.
    let day = |d: i64| today() + Duration::days(d);
    let holds = [
        (units[0], None, day(10), false),
        (units[1], Some(bills[2].1), day(0), false),
        (units[2], None, day(-1), false),
        (units[2], Some(bills[5].1), day(30), true),
        (units[3], Some(bills[6].1), day(30), false),
    ];
    for (unit, bill, until, ended) in holds {
        collection_hold::ActiveModel {
            community_id: Set(e.community as i32),
            unit_id: Set(Some(unit as i32)),
            bill_id: Set(bill),
            reason: Set("测试".into()),
            until: Set(until),
            created_by: Set("test".into()),
            created_at: Set(Utc::now()),
            ended_at: Set(ended.then(Utc::now)),
            ..Default::default()
        }
        .insert(&e.app.db)
        .await
        .unwrap();
    }
    // Disputes of every shape: open on one bill, waiting for the owner on another, resolved, and a
    // complaint (not a dispute) that names a bill.
    for (unit, bill, category, status) in [
        (units[1], bills[3].1, "dispute", "open"),
        (units[2], bills[4].1, "dispute", "waiting_owner"),
        (units[3], bills[7].1, "dispute", "open"),
        (units[0], bills[1].1, "dispute", "resolved"),
        (units[1], bills[3].1, "complaint", "open"),
        (units[2], bills[5].1, "complaint", "open"),
    ] {
        e.exec(&format!(
            "INSERT INTO tickets (community_id, unit_id, account_id, category, emergency, title, body, status, \
             created_at, updated_at, pauses, reopen_count) VALUES ({}, {unit}, 1, '{category}', false, 't', 'b', \
             '{status}', '2026-10-20 02:00:00+00:00', '2026-10-20 02:00:00+00:00', '[]', 0)",
            e.community
        ))
        .await;
        e.exec(&format!(
            "INSERT INTO ticket_bills (ticket_id, bill_id) VALUES ((SELECT MAX(id) FROM tickets), {bill})"
        ))
        .await;
    }
    // Auto-debits of every status: only those announced and still running stop the chasing, each
    // the only reason on its bill.
    for (mandate, bill, status) in [
        (1, bills[8].1, "noticed"),
        (1, bills[10].1, "failed"),
        (1, bills[11].1, "debiting"),
        (1, bills[9].1, "given_up"),
        (1, bills[5].1, "skipped"),
        (2, bills[5].1, "scheduled"),
        (3, bills[5].1, "paid"),
    ] {
        e.exec(&format!(
            "INSERT INTO autodebit_debits (mandate_id, bill_id, unit_id, community_id, amount_fen, debit_on, status, \
             attempts, created_at, updated_at) SELECT {mandate}, id, unit_id, community_id, 100, due_date, '{status}', 1, \
             created_at, created_at FROM bills WHERE id = {bill}"
        ))
        .await;
    }
    // Installment plans: asked for (bill 9), approved awaiting acceptance (bill 2, held anyway),
    // and refused (bill 5: its bill is free again).
    for (unit, bill, status, live) in [
        (units[4], bills[9].1, "requested", true),
        (units[1], bills[2].1, "approved", true),
        (units[2], bills[5].1, "rejected", false),
    ] {
        e.exec(&format!(
            "INSERT INTO installment_plans (community_id, unit_id, account_id, months, principal_fen, late_fee_fen,              status, created_at, updated_at) VALUES ({}, {unit}, 1, 3, 30000, 0, '{status}',              '2026-10-20 02:00:00+00:00', '2026-10-20 02:00:00+00:00')",
            e.community
        ))
        .await;
        let live = if live { bill.to_string() } else { "NULL".into() };
        e.exec(&format!(
            "INSERT INTO installment_plan_bills (plan_id, bill_id, live_bill_id, principal_fen, late_fee_fen)              VALUES ((SELECT MAX(id) FROM installment_plans), {bill}, {live}, 30000, 0)"
        ))
        .await;
    }
    // Hardship cases: one being decided (unit 5), one approved whose window includes today (unit
    // 2), one approved whose window is over (unit 0) and one refused (unit 4).
    for (unit, status, window) in [
        (units[5], "requested", None),
        (units[2], "approved", Some((day(-10), day(10)))),
        (units[0], "approved", Some((day(-40), day(-1)))),
        (units[4], "rejected", None),
    ] {
        let (starts, ends) = match window {
            Some((s, e)) => (format!("'{s}'"), format!("'{e}'")),
            None => ("NULL".into(), "NULL".into()),
        };
        e.exec(&format!(
            "INSERT INTO hardship_cases (community_id, unit_id, account_id, category, reason, status, starts_on, \
             ends_on, created_at, updated_at) VALUES ({}, {unit}, 1, 'dibao', '低保', '{status}', {starts}, {ends}, \
             '2026-10-20 02:00:00+00:00', '2026-10-20 02:00:00+00:00')",
            e.community
        ))
        .await;
    }
    // Unit 0's second bill stands for an instalment of a plan in force.
    e.exec(&format!(
        "UPDATE bills SET installment_plan_id = 99, installment_seq = 1 WHERE id = {}",
        bills[1].1
    ))
    .await;
    // In id order, as the SQL lists them (PostgreSQL returns updated rows in another order).
    let mut stored_bills = bill::Entity::find().all(&e.app.db).await.unwrap();
    stored_bills.sort_by_key(|b| b.id);
    let debiting =
        wuye::services::collection::suppressed::debiting_on(&e.app.db, units.iter().map(|u| *u as i32).collect())
            .await
            .unwrap();
    let disputed =
        wuye::services::collection::suppressed::disputed_on(&e.app.db, units.iter().map(|u| *u as i32).collect())
            .await
            .unwrap();
    let planned =
        wuye::services::collection::suppressed::planned_on(&e.app.db, units.iter().map(|u| *u as i32).collect())
            .await
            .unwrap();
    let relieved =
        wuye::services::collection::suppressed::relieved_on(&e.app.db, units.iter().map(|u| *u as i32).collect())
            .await
            .unwrap();
    let stored_holds: Vec<suppression::Hold> = collection_hold::Entity::find()
        .all(&e.app.db)
        .await
        .unwrap()
        .iter()
        .map(wuye::services::collection::suppressed::hold_of)
        .collect();
    let facts = Facts {
        today: today(),
        holds: &stored_holds,
        disputed: &disputed,
        debiting: &debiting,
        planned: &planned,
        relieved: &relieved,
    };
    let db = &e.app.db;
    let backend = db.get_database_backend();
    let mut stopped_somewhere = 0;
    for effect in Effect::ALL {
        let sql = format!(
            "SELECT b.id FROM bills b WHERE {} ORDER BY b.id",
            suppression::sql(effect, "$1")
        );
        let sql = if backend == sea_orm::DatabaseBackend::Sqlite {
            sql.replace('$', "?")
        } else {
            sql
        };
        let in_sql: Vec<i32> = db
            .query_all_raw(Statement::from_sql_and_values(backend, sql, [today().into()]))
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<i32>("", "id").unwrap())
            .collect();
        let in_rust: Vec<i32> = stored_bills
            .iter()
            .filter(|b| {
                let s = Subject::Bill(wuye::services::collection::suppressed::bill_of(b));
                suppression::stopping(effect, &s, &facts).is_some()
            })
            .map(|b| b.id)
            .collect();
        assert_eq!(in_sql, in_rust, "{effect:?}: the SQL and Rust forms disagree");
        stopped_somewhere += in_rust.len();
    }
    // The fixture exercises the clauses: reminders stop on unit 0 (both bills), the bill held
    // until today, the bills of the two disputes still worked on, the settled and cancelled
    // bills, the bill whose announced debit runs, the bill in an installment request, and the
    // bills of units with a hardship case being decided or in its window — which alone stops
    // unit 2's second bill (a complaint names it, its debit was skipped, its plan was refused).
    let reminded_stop: Vec<i32> = stored_bills
        .iter()
        .filter(|b| {
            let s = Subject::Bill(wuye::services::collection::suppressed::bill_of(b));
            suppression::stopping(Effect::Reminders, &s, &facts).is_some()
        })
        .map(|b| b.id)
        .collect();
    assert_eq!(reminded_stop, (0..12).map(|i| bills[i].1).collect::<Vec<_>>());
    // The public notice is stopped by a dispute alone (holds leave it): exactly the open disputes'
    // bills that are not settled anyway.
    assert!(disputed.contains(&bills[3].1) && disputed.contains(&bills[4].1));
    assert!(!disputed.contains(&bills[1].1) && !disputed.contains(&bills[5].1));
    assert_eq!(planned.len(), 2, "the refused plan's bill is free: {planned:?}");
    // The public notice: settled, disputed, in an installment request or an instalment of a plan
    // in force, or the unit relieved (holds, debits and an expired or refused case leave it).
    let public: Vec<i32> = stored_bills
        .iter()
        .filter(|b| {
            let s = Subject::Bill(wuye::services::collection::suppressed::bill_of(b));
            suppression::stopping(Effect::PublicNotice, &s, &facts).is_some()
        })
        .map(|b| b.id)
        .collect();
    assert_eq!(public, [1, 2, 3, 4, 5, 6, 7, 9, 10, 11].map(|i| bills[i].1).to_vec());
    assert!(stopped_somewhere > reminded_stop.len());
}

#[tokio::test]
async fn an_owner_who_always_paid_on_time_gets_the_friendly_reminder_a_week_later() {
    let mut e = estate().await;
    let (good, _) = e.household("16-1", "13800001601").await;
    let (other, _) = e.household("16-2", "13800001602").await;
    // 16-1 paid its last bill (due 23 October) three days early: credit grade A; 16-2 has no
    // record. On 30 October both have a bill five days overdue (due 25 October).
    let earlier = e.bill_due(good, -3).await;
    e.created(
        "/api/v1/staff/payments/counter",
        json!({"bill_ids": [earlier], "method": "cash", "reference": "R-1601"}),
    )
    .await;
    e.advance(Duration::days(10)).await;
    e.bill_due(good, -5).await;
    e.bill_due(other, -5).await;
    let first = e.run().await;
    assert_eq!(
        (first["sent"].as_i64(), stage_count(&first, "overdue_friendly")),
        (Some(1), 1),
        "{first}"
    );
    assert!(
        e.evidence(good).await.iter().all(|r| r["kind"] == "payment"),
        "16-1 not yet reminded"
    );
    // Nine days overdue: still too early for grade A; at ten days the friendly reminder goes.
    e.advance(Duration::days(4)).await;
    assert_eq!(stage_count(&e.run().await, "overdue_friendly"), 0);
    e.advance(Duration::days(1)).await;
    let later = e.run().await;
    assert_eq!(stage_count(&later, "overdue_friendly"), 1, "{later}");
    assert!(e.evidence(good).await.iter().any(|r| r["stage"] == "overdue_friendly"));
}
