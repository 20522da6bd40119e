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
struct Estate {
    app: TestApp,
    admin: String,
    community: i64,
    item: i64,
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
    }
}

async fn estate() -> Estate {
    estate_on(spawn_app().await).await
}

fn today() -> NaiveDate {
    // t0 is 10:00 in Asia/Shanghai.
    NaiveDate::from_ymd_opt(2026, 10, 20).unwrap()
}

impl Estate {
    /// A unit with its owner; returns (unit id, owner id).
    async fn household(&self, code: &str, phone: &str) -> (i64, i64) {
        let unit = self.app.unit(&self.admin, self.community, code).await;
        let owner = self
            .app
            .owner(&self.admin, &format!("业主{code}"), phone, &[unit])
            .await;
        (unit, owner)
    }

    /// An unpaid 300.00 bill due `days_ago` days before today.
    async fn bill_due(&self, unit: i64, days_ago: i64) -> i32 {
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
            status: Set("unpaid".into()),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&self.app.db)
        .await
        .unwrap()
        .id
    }

    async fn run(&self) -> Value {
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

    async fn evidence(&self, unit: i64) -> Vec<Value> {
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

    async fn tasks(&self) -> Vec<Value> {
        self.app
            .get_json(
                &format!("/api/v1/staff/tasks?community_id={}", self.community),
                Some(&self.admin),
            )
            .await
    }

    async fn exec(&self, sql: &str) {
        let db = &self.app.db;
        db.execute_raw(Statement::from_string(db.get_database_backend(), sql.to_string()))
            .await
            .unwrap();
    }

    /// Moves the clock, logging staff in again (their sessions last 12 hours).
    async fn advance(&mut self, d: Duration) {
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
    assert_eq!(stage_count(&report, "overdue_friendly"), 1);
    assert_eq!(stage_count(&report, "overdue_formal"), 1);
    assert_eq!(stage_count(&report, "final_notice"), 1);
    assert!(e.evidence(u_new).await.is_empty());

    // One message per owner covering all their bills, and it says so.
    let final_records = e.evidence(u_final).await;
    assert_eq!(final_records.len(), 1);
    let notice = final_records[0]["content"].as_str().unwrap();
    assert_eq!(final_records[0]["stage"], "final_notice");
    assert!(notice.contains("最终催告通知书") && notice.contains("4笔"), "{notice}");
    // 4 × 300.00 principal; late fee 0.05 % a day after 15 days' grace: 300 × 0.0005 × (385 + 355 +
    // 325 + 80) days = 171.75.
    assert!(
        notice.contains("合计人民币1371.75元") && notice.contains("本金1200.00元") && notice.contains("违约金171.75元"),
        "{notice}"
    );
    let formal = e.evidence(u_formal).await;
    assert!(formal[0]["content"].as_str().unwrap().contains("催告函"));
    assert!(formal[0]["content"].as_str().unwrap().contains("2笔"));
    // Nothing threatening in anything sent.
    for u in [u_friendly, u_formal, u_final] {
        for r in e.evidence(u).await {
            assert_eq!(banned_word(r["content"].as_str().unwrap()), None);
        }
    }
    // No WeChat or SMS configured: the owners get call tasks; formal and final notices are also
    // printed for delivery, and the final notice opens a visit.
    let tasks = e.tasks().await;
    let kinds = |unit: i64| {
        let mut k: Vec<String> = tasks
            .iter()
            .filter(|t| t["unit_id"] == unit)
            .map(|t| t["kind"].as_str().unwrap().to_string())
            .collect();
        k.sort();
        k
    };
    assert_eq!(kinds(u_friendly), ["call"]);
    assert_eq!(kinds(u_formal), ["call", "printed_notice"]);
    assert_eq!(kinds(u_final), ["call", "printed_notice", "visit"]);

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
    assert_eq!(finals["items"][0]["channel"], "staff_task");
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
    let replica = e.app.replica().await;
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
    let claimed = wuye::services::reminders::claim(&e.app.state, e.community as i32, 10)
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
    // The final notice goes out as a call task plus a printed notice; delivering it by
    // registered mail restarts the period of every bill it named.
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
        "合计应缴",
        "<svg",
        "扫码缴费",
        "送达回执",
        "9-901",
    ] {
        assert!(page.contains(must), "notice lacks {must}");
    }
    assert_eq!(banned_word(&page), None);
    let call = e.tasks().await.into_iter().find(|t| t["kind"] == "call").unwrap();
    let r = e
        .app
        .get(
            &format!("/api/v1/staff/tasks/{}/notice.html", call["id"]),
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
